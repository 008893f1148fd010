// The appeal team's page: sign in with a token, work the queue by priority (or find a claim by its id or payer claim
// number), open a task, tick the checklist, add a note, move the state, read the letter draft, download the list as
// CSV; or open the dashboard of KPIs. Keyboard: N next task, Ctrl/Cmd+Enter save, L letter, / filters, F find a
// claim, D dashboard, ? shortcuts.

import { api, ApiError, token } from "./api.js";
import { loadDashboard, wireDashboard } from "./dashboard.js";
import {
  $, el, fill, isTyping, money, readableTimes, saveBlob, scrollableByKeyboard, unbroken, when, words,
} from "./dom.js";

const FRIENDLY_STATES = {
  open: "Open", in_progress: "In progress", submitted: "Submitted (appeal sent)", won: "Won", lost: "Lost",
  written_off: "Written off", resolved: "Resolved", expired: "Expired",
};
const SHORT_STATES = { ...FRIENDLY_STATES, submitted: "Submitted" };
const PERSON_STATES = ["in_progress", "open", "submitted", "won", "lost", "written_off", "resolved"];
const TIMELINE_WORDS = {
  submitted: "Claim submitted", acknowledgement: "Acknowledgement (277CA)", status: "Claim status (277)",
  remittance: "Remittance", reversal: "Reversal", provider_adjustment: "Provider-level adjustment",
};
const PAGE = 50;
const CSV_ROWS = 1000; // the most a CSV download holds (the API's cap)
const FOUND_MAX = 20;

const state = {
  me: null,
  facets: null,
  queue: null,
  offset: 0,
  task: null, // the open task as the API returned it
  insight: null, // its decisions, urgency, letter kind, next states
  filters: {},
};

// -- messages --------------------------------------------------------------------------------------------------------

function say(text) {
  $("status").textContent = text;
}

function warn(text) {
  const box = $("alert");
  box.textContent = text;
  box.hidden = !text;
}

function problem(err) {
  if (err instanceof ApiError) {
    if (err.status === 401) {
      signOut(`${refusal(err)} Sign in again.`);
      return;
    }
    warn(err.message + (err.code ? ` (${err.code})` : ""));
  } else {
    warn(String(err));
  }
}

// -- sign in ---------------------------------------------------------------------------------------------------------

// Why a token was refused, in words: the API says whether it expired or was revoked (never echoing the token).
function refusal(err) {
  const reason = err.details && err.details.reason;
  if (reason === "expired") return "That token has expired: ask for a new one.";
  if (reason === "revoked") return "That token was revoked: ask for a new one.";
  return "That token was not accepted (unknown or mistyped).";
}

// A sign-in link (`denials demo`, `denials api --sign-in`) carries the token in the fragment, `#token=...`: the
// browser never sends a fragment to the server. Take it, then drop it from the address bar and the history entry so
// it is not bookmarked, shared or left on screen.
function tokenFromLink() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  const value = params.get("token");
  if (!value) return null;
  params.delete("token");
  const rest = params.toString();
  history.replaceState(null, "", window.location.pathname + window.location.search + (rest ? `#${rest}` : ""));
  return value;
}

async function signIn(value) {
  token.set(value.trim());
  try {
    state.me = await api.me();
  } catch (err) {
    token.clear();
    warn(err instanceof ApiError && err.status === 401
      ? `${refusal(err)} Check it and try again.` : `Sign-in failed: ${err.message}`);
    $("token").focus();
    return;
  }
  warn("");
  $("signin").hidden = true;
  $("session").hidden = false;
  showView("queue");
  $("who").textContent = `Signed in as ${state.me.actor}${state.me.supervisor ? " (supervisor)" : ""}`;
  fill($("queue-select"), state.me.queues.map((q) => el("option", { value: q }, words(q))));
  state.queue = state.me.queues.includes("appeals") ? "appeals" : state.me.queues[0] || null;
  if (state.queue) $("queue-select").value = state.queue;
  $("next-task").disabled = !state.queue;
  await loadFacets();
  await loadTasks();
  say(`Signed in. ${state.queue ? `Queue: ${words(state.queue)}.` : "This token covers no queue."}`);
  // Focus lands on "Next task" unless the user already moved it while the queue loaded (a tab, a filter): taking it
  // back would send their next key press somewhere they did not choose.
  const here = document.activeElement;
  if (!here || here === document.body || $("signin").contains(here)) $("next-task").focus();
}

function signOut(message) {
  token.clear();
  state.me = state.task = state.insight = null;
  $("dashboard").hidden = true;
  $("app").hidden = true;
  $("session").hidden = true;
  $("signin").hidden = false;
  $("token").value = "";
  fill($("task-rows"));
  fill($("found"));
  $("claim-search").value = "";
  $("worklist-csv").disabled = true;
  closeTask();
  warn(message || "");
  say(message ? "" : "Signed out.");
  $("token").focus();
}

// -- the queue -------------------------------------------------------------------------------------------------------

async function loadFacets() {
  state.facets = await api.facets();
  const keep = (id) => $(id).value;
  const payer = keep("f-payer"); const category = keep("f-category"); const family = keep("f-family");
  const stateSel = $("f-state");
  if (stateSel.options.length <= 2) {
    stateSel.append(...state.facets.states.map((s) => el("option", { value: s }, FRIENDLY_STATES[s] || words(s))));
  }
  fill($("f-payer"), el("option", { value: "" }, "Any payer"), state.facets.payers.map((p) => el("option", { value: p }, p)));
  fill($("f-category"), el("option", { value: "" }, "Any cause"),
       state.facets.categories.map((c) => el("option", { value: c }, words(c))));
  fill($("f-family"), el("option", { value: "" }, "Any procedure"),
       state.facets.families.map((f) => el("option", { value: f.id }, `${f.label} (${f.codes.join(", ")})`)));
  $("f-payer").value = payer; $("f-category").value = category; $("f-family").value = family;
}

function readFilters() {
  const form = new FormData($("filters"));
  const out = {};
  for (const [key, value] of form.entries()) if (value) out[key] = value;
  return out;
}

// Short enough to fit the list at 1024 px; the full sentence is the badge's title and the task's banner.
function urgencyBadge(u) {
  const label = u.level === "none" ? "no deadline"
    : u.days_left < 0 ? `${-u.days_left}d late` : u.days_left === 0 ? "due today" : `${u.days_left}d left`;
  return el("span", { class: `badge u-${u.level}`, title: u.text }, label);
}

// What the task can still bring back (the demo summary's "at risk"): nothing for a write-off, a task with no
// recoverability or a closed task, whose denied amount is shown apart.
function atRiskText(t) {
  if (Number(t.at_risk) === Number(t.amount_at_risk)) return money(t.at_risk);
  const why = !["open", "in_progress", "submitted"].includes(t.state) ? "the task is closed"
    : t.action === "write_off" ? "a write-off, nothing to recover" : "nothing expected back";
  return `${money(t.at_risk)} (${money(t.amount_at_risk)} denied: ${why})`;
}
// An id (claim, payer) never breaks across lines.
const idText = (value) => el("span", { class: "id" }, value);

function taskRow(t) {
  const current = state.task && state.task.id === t.id;
  const open = el("button", { type: "button", class: "link id", onclick: () => openTask(t.id),
                              "aria-label": `Open task: claim ${t.claim_id}, ${words(t.category)}, ${t.payer_id}` },
                  t.claim_id);
  return el("tr", { class: `u-${t.urgency.level}${current ? " is-current" : ""}`, dataset: { taskId: t.id } },
    el("td", { class: "num" }, t.priority.toFixed(1)),
    el("td", {}, open),
    el("td", {}, idText(t.payer_id)),
    el("td", {}, words(t.category)),
    el("td", { class: "num", title: atRiskText(t) }, money(t.at_risk)),
    el("td", {}, urgencyBadge(t.urgency)),
    el("td", {}, SHORT_STATES[t.state] || words(t.state),
       t.leased ? el("span", { class: "hint" }, ` · ${t.assignee}`) : ""));
}

async function loadTasks({ append = false } = {}) {
  if (!state.queue) return;
  if (!append) state.offset = 0;
  const params = { ...state.filters, queue: state.queue, limit: PAGE, offset: state.offset };
  const page = await api.worklist(params);
  const rows = page.tasks.map(taskRow);
  if (append) $("task-rows").append(...rows); else fill($("task-rows"), rows);
  const shown = $("task-rows").children.length;
  $("task-caption").textContent = `${shown} task${shown === 1 ? "" : "s"} in ${words(state.queue)}, `
    + `highest priority first (today is ${page.today})`;
  $("worklist-csv").disabled = shown === 0;
  scrollableByKeyboard($("queue"));
  $("task-empty").hidden = shown > 0;
  state.offset = page.next_offset ?? state.offset;
  $("more-tasks").hidden = page.next_offset === null;
}

async function nextTask() {
  if (!state.queue) return;
  try {
    const task = await api.next(state.queue);
    if (!task) {
      say(`No free task in ${words(state.queue)} right now.`);
      return;
    }
    await openTask(task.id);
    say(`Took the next task: claim ${task.claim_id} (${words(task.category)}). It is leased to you.`);
    await loadTasks();
  } catch (err) {
    problem(err);
  }
}

// -- one task --------------------------------------------------------------------------------------------------------

function closeTask() {
  state.task = state.insight = null;
  $("task").hidden = true;
  $("task-placeholder").hidden = false;
  $("task-title").textContent = "No task open";
}

function factsList(t) {
  const c = t.claim || {};
  const pairs = [
    ["Claim", t.claim_id], ["Payer", `${t.payer_id} (${words(t.payer_type)})`], ["Cause", words(t.category)],
    ["Next step", words(t.action)], ["Queue", words(t.queue)], ["State", FRIENDLY_STATES[t.state] || t.state],
    ["At risk", atRiskText(t)], ["Appeal deadline", t.deadline ? `${t.deadline} — ${t.deadline_basis}` : "none"],
    ["Filing deadline", t.filing_deadline ? `${t.filing_deadline} — ${t.filing_deadline_basis}` : "none"],
    ["Claim state", words(c.state)], ["Billed", money(c.total_charge)],
    ["Dates of service", c.service_date_from ? `${c.service_date_from}${c.service_date_to && c.service_date_to !== c.service_date_from ? ` to ${c.service_date_to}` : ""}` : "—"],
    ["Payer claim numbers", (c.payer_claim_numbers || []).join(", ") || "—"],
    ["Priority", `${t.priority.toFixed(1)}${t.priority_parts && t.priority_parts.explanation ? ` — ${t.priority_parts.explanation}` : ""}`],
  ];
  return pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, unbroken(v))]);  // ids and dates kept whole
}

// The task's explanation is its lead decision's: that decision's item leaves the sentence out rather than repeat it.
function decisionItem(d, taskExplanation) {
  const repeated = d.explanation.trim() === (taskExplanation || "").trim();
  return el("li", {},
    el("strong", {}, `${d.group}-${d.reason}${d.remarks.length ? ` + ${d.remarks.join(", ")}` : ""}`),
    ` on line ${d.line_id || "claim"}${d.procedure_code ? ` (${[d.procedure_code, ...d.modifiers].join("-")})` : ""}`,
    repeated ? " " : [": ", unbroken(d.explanation), " "],
    el("span", { class: "rule" }, `rule ${d.rule_id}`),
    el("div", { class: "codes" }, unbroken(d.codes.map((c) => `${c.code}: ${c.meaning}`).join(" · "))));
}

function timelineItem(e) {
  const s = e.summary || {};
  let detail = "";
  if (e.kind === "submitted") {
    detail = `frequency ${s.frequency_code}${s.corrects ? " (corrected claim)" : ""}, ${s.lines} line(s), ${money(s.total_charge)}`;
  } else if (e.kind === "remittance" || e.kind === "reversal") {
    detail = `paid ${money(s.total_paid)} of ${money(s.total_charge)}; ${s.denials ?? 0} denial(s) `
      + `(${money(s.denied_amount)}); codes ${(s.codes || []).join(", ") || "none"}; status ${s.status_code}`;
  } else if (e.kind === "acknowledgement" || e.kind === "status") {
    detail = `category ${s.category}${s.code ? ` code ${s.code}` : ""}${(s.buckets || []).length ? ` (${s.buckets.join(", ")})` : ""}`
      + (s.requested ? `; the payer asks for ${s.requested}` : "");
  } else if (e.kind === "provider_adjustment") {
    detail = `${s.reason} ${money(s.amount)}`;
  }
  const flags = s.data_quality || [];
  return el("li", {}, el("span", { class: "when" }, when(e.occurred_at)), " ",
            el("strong", {}, TIMELINE_WORDS[e.kind] || words(e.kind)),
            e.payer_id ? [" (", idText(e.payer_id), ")"] : "", detail ? [": ", unbroken(detail)] : "",
            flags.length ? el("details", { class: "quality" },
              el("summary", {}, `${flags.length} data-quality flag${flags.length === 1 ? "" : "s"} in the payer's file`),
              el("ul", {}, flags.map((f) => el("li", {}, f)))) : "");
}

function stateChoices(t, nextStates) {
  const choices = [el("label", {}, el("input", { type: "radio", name: "to_state", value: "", checked: true }),
                      `Keep: ${FRIENDLY_STATES[t.state] || t.state}`)];
  for (const s of PERSON_STATES.filter((x) => nextStates.includes(x))) {
    choices.push(el("label", {}, el("input", { type: "radio", name: "to_state", value: s }), FRIENDLY_STATES[s]));
  }
  return choices;
}

function renderTask(t, insight, audit) {
  state.task = t;
  state.insight = insight;
  $("task-placeholder").hidden = true;
  $("task").hidden = false;
  fill($("task-title"), "Claim ", idText(t.claim_id), `: ${words(t.category)} with `, idText(t.payer_id));
  const u = insight.urgency;
  const banner = $("deadline-banner");
  banner.className = `banner u-${u.level}`;
  fill(banner, u.level === "none" ? "No deadline on this task."
    : unbroken(`${["passed", "urgent", "close"].includes(u.level) ? "Deadline close: " : "Deadline: "}${u.text}`));
  $("lease-info").textContent = t.leased ? `Leased to ${t.assignee} until ${when(t.lease_expires_at)}.` : "Not leased.";
  fill($("facts"), factsList(t));
  fill($("explanation"), unbroken(t.explanation));
  fill($("decisions"), insight.decisions.length ? insight.decisions.map((d) => decisionItem(d, t.explanation))
    : el("li", {}, "No classified adjustment is linked to this task (it came from a claim status)."));
  fill($("line-rows"), t.lines.map((x) => el("tr", {},
    el("td", {}, x.line_id || "claim"), el("td", {}, x.service_date || "—"),
    el("td", {}, x.procedure_code ? [x.procedure_code, ...x.modifiers].join("-") : "—"),
    el("td", {}, x.reasons.join(", ")), el("td", { class: "num" }, money(x.amount)))));
  fill($("checklist"), t.checklist.map((item) => {
    const id = `chk-${item.id}`;
    return el("li", {}, el("input", { type: "checkbox", id, name: "checklist", value: item.id, checked: item.done,
                                       dataset: { was: item.done ? "1" : "0" } }),
              el("label", { for: id }, item.text));
  }));
  if (!t.checklist.length) fill($("checklist"), el("li", { class: "hint" }, "No documents listed for this task."));
  fill($("state-choices"), stateChoices(t, insight.next_states));
  $("recovered-field").hidden = true;
  $("recovered").value = "";
  $("note").value = "";
  $("dirty").textContent = "";
  fill($("notes"), t.notes.length ? t.notes.map((n) => el("li", {}, el("span", { class: "when" }, when(n.at)), " ",
                                                               el("strong", {}, n.author), ": ",
                                                               unbroken(readableTimes(n.text))))
    : el("li", { class: "hint" }, "No notes yet."));
  fill($("timeline"), t.timeline.map(timelineItem));
  fill($("audit-rows"), audit.entries.map((a) => el("tr", {},
    el("td", { class: "when" }, when(a.at)), el("td", {}, a.actor), el("td", {}, a.change),
    el("td", { class: "state" }, `${a.from_state ? `${a.from_state} → ` : ""}${a.to_state}`),
    el("td", {}, unbroken(readableTimes(a.note))))));
  const kind = insight.letter.kind;
  $("letter-info").textContent = kind === "appeal" ? "One appeal letter covers this claim's appealable tasks with this payer."
    : kind === "reopening" ? "This task takes a reopening request (Medicare clerical-error route), not an appeal."
      : kind === "reconsideration" ? "This authorization denial takes a reconsideration request to the plan."
        : insight.letter.reason ? `No letter for this task: ${insight.letter.reason}`
          : `No letter for this task: its next step is to ${words(t.action)}.`;
  $("letter-show").disabled = !kind;
  $("letter-pdf").disabled = !kind;
  $("letter").hidden = true;
  for (const row of $("task-rows").children) row.classList.toggle("is-current", row.dataset.taskId === t.id);
  scrollableByKeyboard();
}

async function openTask(id, { focus = true } = {}) {
  warn("");
  try {
    const [t, insight, audit] = await Promise.all([api.task(id), api.decisions(id), api.audit(id)]);
    renderTask(t, insight, audit);
    if (focus) $("main").focus();
  } catch (err) {
    problem(err);
  }
}

function pendingChanges() {
  const t = state.task;
  const body = { version: t.version };
  const marks = [...document.querySelectorAll("#checklist input[type=checkbox]")]
    .filter((box) => box.checked !== (box.dataset.was === "1"))
    .map((box) => ({ id: box.value, done: box.checked }));
  if (marks.length) body.checklist = marks;
  const note = $("note").value.trim();
  if (note) body.note = note;
  const chosen = document.querySelector("#state-choices input[name=to_state]:checked");
  if (chosen && chosen.value) body.state = chosen.value;
  const recovered = $("recovered").value.trim();
  if (body.state === "won" && recovered) body.recovered_amount = Number(recovered);
  return body;
}

async function save() {
  if (!state.task) return;
  const body = pendingChanges();
  if (Object.keys(body).length === 1) {
    say("Nothing to save: tick a checklist item, write a note or choose a state first.");
    return;
  }
  if (body.state === "written_off" && !body.note) {
    warn("A write-off needs a reason: write it in the note.");
    $("note").focus();
    return;
  }
  try {
    const saved = await api.update(state.task.id, body);
    const parts = [];
    if (body.checklist) parts.push(`${body.checklist.length} checklist item(s)`);
    if (body.note) parts.push("a note");
    if (body.state) parts.push(`state ${FRIENDLY_STATES[saved.state] || saved.state}`);
    await openTask(saved.id, { focus: false });
    say(`Saved ${parts.join(", ")}. The task is now ${FRIENDLY_STATES[saved.state] || saved.state}.`);
    await loadTasks();
  } catch (err) {
    if (err instanceof ApiError && err.code === "version_conflict") {
      warn("Someone changed this task since you opened it. It has been reloaded: check it and save again.");
      await openTask(state.task.id, { focus: false });
    } else {
      problem(err);
    }
  }
}

async function showLetter() {
  if (!state.task || $("letter-show").disabled) return;
  try {
    const text = await api.letterText(state.task.id);
    const box = $("letter");
    box.textContent = text;
    box.hidden = false;
    box.focus();
    say("Letter draft shown below. Fill the [to complete] blanks before sending.");
  } catch (err) {
    problem(err);
  }
}

async function downloadPdf() {
  if (!state.task) return;
  try {
    const blob = await api.letterPdf(state.task.id);
    saveBlob(blob, `letter-${state.task.id}.pdf`);
    say("Letter PDF downloaded.");
  } catch (err) {
    problem(err);
  }
}

// -- the list as CSV, and finding a claim -----------------------------------------------------------------------------

async function downloadWorklist() {
  if (!state.queue) return;
  try {
    const file = await api.worklistCsv({ ...state.filters, queue: state.queue, limit: CSV_ROWS });
    saveBlob(file.blob, file.filename);
    say(file.headers.get("X-Next-Offset")
      ? `Downloaded the first ${CSV_ROWS} tasks as CSV: narrow the filters for the rest.`
      : "Downloaded the list as CSV (every task these filters show).");
  } catch (err) {
    problem(err);
  }
}

function foundItem(t) {
  return el("li", {}, el("button", { type: "button", class: "link", onclick: () => openTask(t.id) },
                         "Claim ", idText(t.claim_id), `: ${words(t.category)} with `, idText(t.payer_id)),
            ` (${words(t.queue)}, ${FRIENDLY_STATES[t.state] || t.state})`);
}

// A claim id or payer claim number: the claim's tasks in the token's queues, any state; the first opens.
async function findClaim(text) {
  const wanted = text.trim();
  const out = $("found");
  if (!wanted) {
    fill(out);
    $("claim-search").focus();
    return;
  }
  warn("");
  try {
    const page = await api.worklist({ claim: wanted, limit: FOUND_MAX });
    if (!page.tasks.length) {
      fill(out, el("p", { class: "hint" }, `No claim in your queues has the id or payer claim number “${wanted}”.`));
      say("No claim found.");
      return;
    }
    const [first, ...others] = page.tasks;
    fill(out, others.length ? [el("p", { class: "hint" }, `${page.tasks.length} tasks on this claim:`),
                               el("ul", { class: "found" }, page.tasks.map(foundItem))] : []);
    if (!$("dashboard").hidden) await showView("queue");
    await openTask(first.id);
    say(`Found claim ${first.claim_id}: ${page.tasks.length === 1 ? "its task is open"
      : `opened its highest-priority task of ${page.tasks.length}`}.`);
  } catch (err) {
    problem(err);
  }
}

// -- views: the work queue and the dashboard (ARIA tabs: one tab stop, arrow keys move between them) ----------------

async function showView(name, { focus = false } = {}) {
  const dashboard = name === "dashboard";
  for (const [id, on] of [["tab-queue", !dashboard], ["tab-dashboard", dashboard]]) {
    const tab = $(id);
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
  }
  $("app").hidden = dashboard;
  $("dashboard").hidden = !dashboard;
  if (focus) $(dashboard ? "tab-dashboard" : "tab-queue").focus();
  if (!dashboard) return;
  try {
    say("Loading the dashboard…");
    await loadDashboard();
    say("Dashboard loaded.");
  } catch (err) {
    problem(err);
  }
}

function onTabKey(event) {
  const order = ["tab-queue", "tab-dashboard"];
  const at = order.indexOf(event.target.id);
  let next = null;
  if (event.key === "ArrowRight" || event.key === "ArrowLeft") next = order[(at + 1) % 2];
  else if (event.key === "Home") next = order[0];
  else if (event.key === "End") next = order[1];
  if (next === null) return;
  event.preventDefault();
  showView(next === "tab-dashboard" ? "dashboard" : "queue", { focus: true });
}

// -- wiring ----------------------------------------------------------------------------------------------------------

function onKey(event) {
  const help = $("help");
  if (help.open) return;
  if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
    if (state.task) {
      event.preventDefault();
      save();
    }
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target) || !state.me) return;
  if (event.key === "n" || event.key === "N") {
    event.preventDefault();
    if (!$("dashboard").hidden) showView("queue");
    nextTask();
  } else if (event.key === "d" || event.key === "D") {
    event.preventDefault();
    showView("dashboard", { focus: true });
  } else if (event.key === "l" || event.key === "L") {
    event.preventDefault();
    showLetter();
  } else if (event.key === "/") {
    event.preventDefault();
    $("f-state").focus();
  } else if (event.key === "f" || event.key === "F") {
    event.preventDefault();
    if (!$("dashboard").hidden) showView("queue");
    $("claim-search").focus();
  } else if (event.key === "?") {
    event.preventDefault();
    help.showModal();
  }
}

function wire() {
  $("signin-form").addEventListener("submit", (e) => { e.preventDefault(); signIn($("token").value); });
  $("sign-out").addEventListener("click", () => signOut());
  $("next-task").addEventListener("click", nextTask);
  $("show-help").addEventListener("click", () => $("help").showModal());
  $("tab-queue").addEventListener("click", () => showView("queue"));
  $("tab-dashboard").addEventListener("click", () => showView("dashboard"));
  for (const id of ["tab-queue", "tab-dashboard"]) $(id).addEventListener("keydown", onTabKey);
  wireDashboard(problem, say);
  $("queue-select").addEventListener("change", async (e) => {
    state.queue = e.target.value;
    await loadTasks().catch(problem);
  });
  $("filters").addEventListener("submit", async (e) => {
    e.preventDefault();
    state.filters = readFilters();
    await loadTasks().catch(problem);
    say("Filters applied.");
  });
  $("filters").addEventListener("reset", () => setTimeout(async () => {
    state.filters = readFilters();
    await loadTasks().catch(problem);
    say("Filters cleared.");
  }));
  $("more-tasks").addEventListener("click", () => loadTasks({ append: true }).catch(problem));
  $("worklist-csv").addEventListener("click", downloadWorklist);
  $("find").addEventListener("submit", (e) => { e.preventDefault(); findClaim($("claim-search").value); });
  $("work").addEventListener("submit", (e) => { e.preventDefault(); save(); });
  $("work").addEventListener("change", (e) => {
    if (e.target.name === "to_state") $("recovered-field").hidden = e.target.value !== "won";
    $("dirty").textContent = "Unsaved changes.";
  });
  $("note").addEventListener("input", () => { $("dirty").textContent = "Unsaved changes."; });
  $("letter-show").addEventListener("click", showLetter);
  $("letter-pdf").addEventListener("click", downloadPdf);
  document.addEventListener("keydown", onKey);
  window.addEventListener("resize", () => scrollableByKeyboard());
  document.addEventListener("toggle", () => scrollableByKeyboard(), true); // a "Numbers" table opened
}

wire();
state.filters = readFilters();
const saved = tokenFromLink() || token.get();
if (saved) signIn(saved); else $("token").focus();
