// The dashboard view: the KPIs of GET /api/kpis as cards, four charts drawn with the vendored Chart.js (loaded from
// this origin the first time the view opens) and a payer x cause heat map table. Every chart has its numbers in a
// table beside it, every table a CSV download (the same filters), and every value goes in as text. A KPI without
// the data it needs says so in words, never as a bare dash over a zero.

import { api } from "./api.js";
import { $, el, fill, money, saveBlob, scrollableByKeyboard, words } from "./dom.js";

const CHART_JS = "/web/vendor/chart.umd.min.js";
const INK = "#1b1b1b";
const GRID = "#c4cbd4";
const BLUE = "#0b4f8a";
const ORANGE = "#b35900";
const GREEN = "#1f6f3a";
const RED = "#a3001b";

const CARDS = [
  ["initial_denial_rate", "Initial denial rate", "claims"],
  ["denial_rate_dollars", "Denial rate (dollars)", "usd"],
  ["first_pass_resolution_rate", "First-pass resolution", "claims"],
  ["clean_claim_rate", "Clean claim rate", "claims"],
  ["days_in_ar", "Days in A/R", "ar"],
  ["net_collection_rate", "Net collection rate", "usd"],
  ["appeal_overturn_rate", "Appeal overturn rate", "tasks"],
  ["recovered_dollars", "Recovered after appeal", "recovered"],
  ["denial_write_off_rate", "Denial write-offs / charges", "usd"],
  ["median_days_to_appeal", "Median days to appeal", "median"],
  ["median_days_to_resolution", "Median days to resolution", "median"],
];

let library = null;
const charts = {};
let choicesLoaded = false;
let shownQuery = {}; // the filters of the figures on screen: a CSV download is of what the user sees

function loadChartJs() {
  if (window.Chart) return Promise.resolve(window.Chart);
  if (!library) {
    library = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = CHART_JS;
      script.onload = () => resolve(window.Chart);
      script.onerror = () => {
        library = null;
        reject(new Error("The chart library could not be loaded from this server."));
      };
      document.head.append(script);
    });
  }
  return library;
}

export const pct = (v) => (v === null || v === undefined ? "—" : `${(Number(v) * 100).toFixed(1)}%`);
const percent = (v) => (v === null || v === undefined ? null : Number(v) * 100);  // a gap in a line chart
const days = (v) => (v === null || v === undefined ? "—" : `${Number(v).toFixed(1)} days`);
const bucketName = (b) => b.bucket.replace("over_", "over ");

const longDate = (iso) => new Date(`${iso}T12:00:00`).toLocaleDateString("en-US", { dateStyle: "medium" });

// Why a KPI has no value (its denominator is 0), in the words of its definition (docs/kpis.md).
function missing(k, kind, data) {
  if (kind === "claims") {
    return `no claim ${k === data.clean_claim_rate ? "first submitted" : "adjudicated"} in this period`;
  }
  if (kind === "usd") return "no charges adjudicated in this period";
  if (kind === "tasks") return "no appeal won or lost in this period";
  if (kind === "recovered") return "no appeal won in this period";
  if (kind === "ar") {
    return `${money(k.numerator)} outstanding; no date of service in the 90 days to ${longDate(data.days_in_ar.as_of)} `
      + "(choose a “To” date within your data)";
  }
  return k === data.median_days_to_appeal ? "no appeal submitted in this period"
    : "no task resolved in this period";
}

function detail(k, kind) {
  if (!k) return "";
  if (kind === "claims") return `${k.numerator} of ${k.denominator} claims`;
  if (kind === "tasks") return `${k.numerator} won of ${k.denominator} decided`;
  if (kind === "usd") return `${money(k.numerator)} of ${money(k.denominator)}`;
  if (kind === "ar") return `${money(k.numerator)} outstanding, ${money(k.denominator)} charged a day`;
  if (kind === "recovered") return `on ${k.denominator} won task${k.denominator === 1 ? "" : "s"}`;
  return `over ${k.denominator} task${k.denominator === 1 ? "" : "s"}`;
}

function shown(k) {
  if (!k) return "—";
  if (k.unit === "ratio") return pct(k.value);
  if (k.unit === "usd") return money(k.value);
  return days(k.value);
}

function cards(data) {
  return CARDS.map(([key, label, kind]) => {
    const k = data[key];
    const none = k && (k.value === null || k.value === undefined);
    const nothingYet = k && kind === "recovered" && !k.denominator; // $0.00 is true, "on 0 won tasks" is noise
    return el("div", { class: `card${none ? " no-data" : ""}`, dataset: { kpi: key } },
      el("dt", {}, label),
      el("dd", {}, el("span", { class: "kpi-value" }, none ? "Not enough data" : shown(k)),
         el("span", { class: "hint" }, none || nothingYet ? missing(k, kind, data) : detail(k, kind))));
  });
}

function table(id, head, rows) {
  fill($(id), el("thead", {}, el("tr", {}, head.map((h, i) => el("th", { scope: "col", class: i ? "num" : "" }, h)))),
       el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c, i) => (i ? el("td", { class: "num" }, c)
         : el("th", { scope: "row" }, c)))))));
}

function draw(Chart, id, config, summary) {
  if (charts[id]) charts[id].destroy();
  const canvas = $(id);
  canvas.setAttribute("aria-label", summary);
  charts[id] = new Chart(canvas, {
    ...config,
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      plugins: { legend: { labels: { color: INK } } },
      ...config.options,
    },
  });
}

const axis = (extra = {}) => ({ ticks: { color: INK }, grid: { color: GRID }, ...extra });

function drawCharts(Chart, data) {
  const trend = data.trend;
  draw(Chart, "chart-trend", {
    type: "line",
    data: {
      labels: trend.map((t) => t.month),
      datasets: [
        { label: "Claims denied (%)", data: trend.map((t) => percent(t.initial_denial_rate.value)),
          borderColor: BLUE, backgroundColor: BLUE, spanGaps: true },
        { label: "Dollars denied (%)", data: trend.map((t) => percent(t.denial_rate_dollars.value)),
          borderColor: ORANGE, backgroundColor: ORANGE, borderDash: [6, 3], spanGaps: true },
      ],
    },
    options: { scales: { x: axis(), y: axis({ min: 0, max: 100, title: { display: true, text: "%", color: INK } }) } },
  }, `Denial rate by month: ${trend.map((t) => `${t.month} ${pct(t.initial_denial_rate.value)}`).join(", ") || "no months"}`);
  table("data-trend", ["Month", "Claims adjudicated", "Claims denied", "Dollars denied", "Overturn rate"],
        trend.map((t) => [t.month, String(t.claims_adjudicated), pct(t.initial_denial_rate.value),
                          pct(t.denial_rate_dollars.value), pct(t.appeal_overturn_rate.value)]));

  const causes = data.breakdowns.cause.filter((c) => c.denied_claims > 0);
  draw(Chart, "chart-causes", {
    type: "bar",
    data: { labels: causes.map((c) => words(c.key)),
            datasets: [{ label: "Denied dollars", data: causes.map((c) => Number(c.denied_amount)), backgroundColor: BLUE }] },
    options: { indexAxis: "y", scales: { x: axis({ beginAtZero: true }), y: axis() } },
  }, `Top causes by denied dollars: ${causes.map((c) => `${words(c.key)} ${money(c.denied_amount)}`).join(", ") || "none"}`);
  table("data-causes", ["Cause", "Claims", "Denied"],
        causes.map((c) => [words(c.key), String(c.denied_claims), money(c.denied_amount)]));

  const buckets = data.days_in_ar.buckets;
  draw(Chart, "chart-aging", {
    type: "bar",
    data: { labels: buckets.map((b) => `${bucketName(b)} days`),
            datasets: [{ label: "Outstanding", data: buckets.map((b) => Number(b.amount)), backgroundColor: ORANGE }] },
    options: { scales: { x: axis(), y: axis({ beginAtZero: true }) } },
  }, `A/R aging: ${buckets.map((b) => `${b.bucket} ${money(b.amount)}`).join(", ")}`);
  table("data-aging", ["Days from service", "Claims", "Outstanding"],
        buckets.map((b) => [bucketName(b), String(b.claims), money(b.amount)]));

  const decided = data.breakdowns.cause.filter((c) => c.appeal_overturn_rate && c.appeal_overturn_rate.denominator > 0);
  const won = decided.map((c) => c.appeal_overturn_rate.numerator);
  const lost = decided.map((c) => c.appeal_overturn_rate.denominator - c.appeal_overturn_rate.numerator);
  const overturn = data.appeal_overturn_rate;
  $("cap-overturn").textContent = `Appeal outcomes by cause: ${overturn && overturn.denominator
    ? `overturn rate ${pct(overturn.value)}` : "no appeal won or lost in this period"}`;
  draw(Chart, "chart-overturn", {
    type: "bar",
    data: { labels: decided.map((c) => words(c.key)),
            datasets: [{ label: "Won", data: won, backgroundColor: GREEN },
                       { label: "Lost", data: lost, backgroundColor: RED }] },
    options: { scales: { x: axis({ stacked: true }), y: axis({ stacked: true, beginAtZero: true, ticks: { color: INK, precision: 0 } }) } },
  }, `Appeal outcomes: ${decided.map((c, i) => `${words(c.key)} ${won[i]} won, ${lost[i]} lost`).join("; ") || "none decided"}`);
  table("data-overturn", ["Cause", "Won", "Lost", "Overturn rate"],
        decided.map((c, i) => [words(c.key), String(won[i]), String(lost[i]), pct(c.appeal_overturn_rate.value)]));
}

function heatmap(data) {
  const causes = data.breakdowns.cause.filter((c) => c.denied_claims > 0).map((c) => c.key);
  const payers = [...new Set(data.payer_cause.map((x) => x.payer_id))].sort();
  const cell = new Map(data.payer_cause.map((x) => [`${x.payer_id}\u001f${x.category}`, x]));
  const top = Math.max(0, ...data.payer_cause.map((x) => Number(x.amount)));
  const level = (amount) => (top > 0 && amount > 0 ? Math.max(1, Math.ceil((amount / top) * 5)) : 0);
  if (!payers.length) {
    fill($("heatmap"), el("caption", { class: "hint" }, "No denial on a first adjudication in this period."));
    return;
  }
  fill($("heatmap"),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Payer"),
                       causes.map((c) => el("th", { scope: "col", class: "num" }, words(c))))),
    el("tbody", {}, payers.map((p) => el("tr", {}, el("th", { scope: "row", class: "id" }, p),
      causes.map((c) => {
        const x = cell.get(`${p}\u001f${c}`);
        const amount = x ? Number(x.amount) : 0;
        return el("td", { class: `num heat heat-${level(amount)}`, dataset: { payer: p, cause: c } },
                  x ? `${money(x.amount)} (${x.claims})` : "—");
      })))));
}

const OUTCOME_NAMES = { passed: "Passed the check", flagged: "Flagged as likely denied" };

function checkOutcomes(data) {
  const rows = [data.passed, data.flagged];
  if (!rows.some((r) => r.claims > 0)) {
    fill($("check-outcomes"), el("caption", { class: "hint" },
      "No claim has been checked against this database yet (run `denials check` on the day's claims)."));
    fill($("check-rules"));
    return;
  }
  fill($("check-outcomes"),
    el("thead", {}, el("tr", {}, ["Claims", "Checked", "Adjudicated", "Denied", "Denial rate", "Denied dollars"]
      .map((h, i) => el("th", { scope: "col", class: i ? "num" : "" }, h)))),
    el("tbody", {}, rows.map((r) => el("tr", { dataset: { outcome: r.outcome } },
      el("th", { scope: "row" }, OUTCOME_NAMES[r.outcome]),
      el("td", { class: "num" }, String(r.claims)), el("td", { class: "num" }, String(r.adjudicated)),
      el("td", { class: "num" }, String(r.denied)), el("td", { class: "num" }, pct(r.denial_rate)),
      el("td", { class: "num" }, money(r.denied_amount))))));
  const top = data.rules.slice(0, 5).map((r) => `${r.rule_id} (${r.claims})`).join(", ");
  fill($("check-rules"), top ? `Rules that flagged the most claims: ${top}.` : "");
}

function fillChoices(data) {
  if (choicesLoaded) return;
  const keep = (id, options) => $(id).append(...options.map(([value, label]) => el("option", { value }, label)));
  keep("k-payer", data.breakdowns.payer.map((g) => [g.key, g.label]));
  keep("k-family", data.breakdowns.cpt_family.filter((g) => g.key !== "other").map((g) => [g.key, g.label]));
  keep("k-provider", data.breakdowns.provider.filter((g) => g.key !== "unknown").map((g) => [g.key, g.key]));
  keep("k-category", data.breakdowns.cause.map((g) => [g.key, words(g.key)]));
  choicesLoaded = true;
}

function params() {
  const out = {};
  for (const [key, value] of new FormData($("kpi-filters")).entries()) if (value) out[key] = value;
  return out;
}

export async function loadDashboard() {
  const query = params();
  const [data, Chart, checked] = await Promise.all([api.kpis(query), loadChartJs(),
                                                    api.checkOutcomes().catch(() => null)]);
  shownQuery = query;
  fillChoices(data);
  const p = data.period;
  $("dash-period").textContent = `${p.from || p.to ? `${p.from || "The first data"} to ${p.to || "the latest data"}`
    : "All data"}; A/R as of ${p.as_of}. ${data.claims_adjudicated} claims adjudicated, ${data.claims_submitted} `
    + "first submitted in the period."
    + (data.queues ? ` Figures of the claims and tasks of your queues only (${data.queues.join(", ")}).` : "");
  const empty = $("dash-empty");
  empty.hidden = data.has_data;
  empty.textContent = data.has_data ? "" : "No claim was adjudicated or submitted, and no appeal decided, in this period.";
  fill($("kpi-cards"), cards(data));
  drawCharts(Chart, data);
  heatmap(data);
  if (checked) checkOutcomes(checked);
  scrollableByKeyboard($("dashboard"));
  return data;
}

async function downloadTable(table, onProblem, say) {
  try {
    // the check's table is all data (not the filters'), from its own route
    const file = table === "check" ? await api.checkCsv() : await api.kpisCsv(shownQuery, table);
    saveBlob(file.blob, file.filename);
    say(`Downloaded ${file.filename}.`);
  } catch (err) {
    onProblem(err);
  }
}

export function wireDashboard(onProblem, say) {
  const reload = (message) => loadDashboard().then(() => say(message)).catch(onProblem);
  for (const button of document.querySelectorAll("#dashboard button.csv")) {
    button.addEventListener("click", () => downloadTable(button.dataset.table, onProblem, say));
  }
  $("kpi-filters").addEventListener("submit", (e) => {
    e.preventDefault();
    reload("Dashboard updated.");
  });
  // the form clears its fields after the reset event: load once they are empty
  $("kpi-filters").addEventListener("reset", () => setTimeout(() => reload("Dashboard shows all data.")));
}
