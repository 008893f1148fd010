"""Helpers shared by the web page and letter tests (this module holds no tests): headless Chromium with a page that
records script errors and requests to other origins, the accessibility probes, a pain-management scenario
published through the session worker (one patient's history, a Medicare medical-necessity denial of a
transforaminal epidural, a paid-then-reversed trigger-point claim that comes back denied for a modifier), and a
copy of the scenario's rows into a private database, so a test that leases tasks touches nobody else's rows."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

import asyncpg
import pytest

from service.adapters.migrate import migrate
from service.domain.tasks import task_id_for
from tests.support import events
from tests.support.kafka import publish_json
from tests.support.ports import eventually

CHROMIUM = os.environ.get("DENIALS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

# Every visible control's accessible name, computed the way assistive technology starts: aria-labelledby,
# aria-label, <label for>, wrapping <label>, then a button's own text.
ACCESSIBLE_NAMES = """() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter((el) => el.offsetParent !== null && el.type !== 'hidden')
  .map((el) => {
    const by = (el.getAttribute('aria-labelledby') || '').split(' ').filter(Boolean)
      .map((id) => document.getElementById(id)?.textContent || '').join(' ');
    const labels = [...(el.labels || [])].map((l) => l.textContent).join(' ');
    const own = el.tagName === 'BUTTON' ? el.textContent : '';
    return {id: el.id || el.name || el.outerHTML.slice(0, 60),
            name: (by || el.getAttribute('aria-label') || labels || own || '').trim()};
  })"""

# WCAG relative luminance contrast of an element's text against the first opaque background behind it.
CONTRAST = """(selector) => {
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const el = document.querySelector(selector);
  if (!el) return null;
  const fg = parse(getComputedStyle(el).color);
  let node = el, bg = null;
  while (node && node.nodeType === 1) {
    const c = parse(getComputedStyle(node).backgroundColor);
    if (c.length >= 3 && (c.length === 3 || c[3] > 0.99)) { bg = c; break; }
    node = node.parentElement;
  }
  bg = bg || [255, 255, 255];
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


# axe-core (Deque's accessibility rules) as shipped in the PyPI package axe-playwright-python: no network at test time.
# It is evaluated into the page through the DevTools protocol, which the page's script policy ('self' only) does not
# govern, so the page under test keeps its real policy.
SERIOUS = ("serious", "critical")


@lru_cache(maxsize=1)
def axe_source() -> str:
    return files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")


async def accessibility_violations(page, impacts: tuple[str, ...] = SERIOUS) -> list[dict]:
    """axe-core's violations of these impacts on the page as it is now: rule, impact, help and the first targets."""
    await page.evaluate(axe_source())
    checked, found = await page.evaluate("""async (impacts) => {
      const result = await axe.run(document, {resultTypes: ['violations']});
      return [result.passes.length, result.violations.filter((v) => impacts.includes(v.impact)).map((v) => ({
        id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 5).map((n) => n.target.join(' '))}))];
    }""", list(impacts))
    assert checked > 10, f"axe-core checked only {checked} rules: it did not run on the page"
    return found


# Elements (by selector) whose text wraps onto more than one line: an inline element that wraps has several boxes.
WRAPPED = """(selector) => [...document.querySelectorAll(selector)]
  .filter((el) => el.getClientRects().length > 1).map((el) => el.textContent)"""

# Elements (by selector) that do not fit inside their scroll container's visible box, or whose own text overflows.
CLIPPED = """(selector) => [...document.querySelectorAll(selector)].filter((el) => {
  const box = el.getBoundingClientRect();
  let wrap = el.parentElement;
  while (wrap && getComputedStyle(wrap).overflowX === 'visible') wrap = wrap.parentElement;
  const frame = wrap ? wrap.getBoundingClientRect() : {left: 0, right: window.innerWidth};
  return box.left < frame.left - 0.5 || box.right > frame.right + 0.5
    || (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1);
}).map((el) => el.textContent)"""


def chromium() -> str:
    """The browser binary, or a failure that says how to install it (a missing browser never skips)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's package (`apt-get install -y chromium`) or set "
                    "DENIALS_CHROMIUM; this test never skips")
    return CHROMIUM


@asynccontextmanager
async def headless_chromium():
    """A headless Chromium (Playwright driving the Debian binary), closed afterwards."""
    executable = chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            await b.close()


async def watched_page(browser, base: str, **context_options):
    """A new context and page that collect script errors and every request to another origin than `base` (blob:
    URLs are the page's own): (context, page, errors, external)."""
    context = await browser.new_context(**context_options)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    external: list[str] = []
    page.on("request", lambda req: external.append(req.url) if not req.url.startswith((base, "blob:")) else None)
    return context, page, errors, external


TODAY = dt.date.today()
TABLES = ("claims", "claim_events", "remittances", "service_lines", "procedure_history", "decisions",
          "appeal_tasks", "task_events")


def day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


def at(offset: int, hour: int = 9) -> str:
    return f"{day(offset)}T{hour:02d}:00:00Z"


@dataclass(frozen=True)
class Scenario:
    run: str
    payer_id: str
    patient_ref: str
    member_id: str
    necessity_claim: str  # transforaminal ESI, two levels, CO-50 + N115 (Medicare): appeal
    reopening_claim: str  # trigger points paid, reversed, denied CO-4: Medicare clerical-error reopening
    history_claims: tuple[str, ...]
    necessity_task: str
    reopening_task: str

    @property
    def claim_ids(self) -> list[str]:
        return [self.necessity_claim, self.reopening_claim, *self.history_claims]


def scenario(run: str) -> Scenario:
    payer_id = f"MCR-{run}"
    d, r = f"PC-{run}-D", f"PC-{run}-R"
    return Scenario(run=run, payer_id=payer_id, patient_ref=f"MRN-{run}", member_id=f"1EG{run[:6].upper()}",
                    necessity_claim=d, reopening_claim=r,
                    history_claims=(f"PC-{run}-H1", f"PC-{run}-H2", f"PC-{run}-H3"),
                    necessity_task=task_id_for(d, payer_id, "medical_necessity"),
                    reopening_task=task_id_for(r, payer_id, "coding"))


def _payer(s: Scenario) -> dict:
    return {"id": s.payer_id, "name": "Medicare Part B (test MAC)", "type": "medicare"}


def _patient(s: Scenario, *, name: bool = False) -> dict:
    out = {"member_id": s.member_id, "patient_ref": s.patient_ref}
    if name:
        out.update(name="DOE, JANE", birth_date="1958-04-02")
    return out


def _submitted(s: Scenario, event_id: str, claim_id: str, lines: list[tuple[str, str, list[str], float, int]],
               occurred: str, *, frequency: str = "1", original: str | None = None) -> dict:
    built = [{"line_id": lid, "procedure": {"code": code, "modifiers": mods}, "units": 1, "charge": charge,
              "service_date": day(offset), "diagnosis_pointers": [1]} for lid, code, mods, charge, offset in lines]
    event = events.submitted(event_id, claim_id, payer=_payer(s), lines=built, occurred_at=occurred,
                             frequency_code=frequency, original_payer_claim_number=original)
    dates = sorted(x["service_date"] for x in built)
    event["claim"].update(service_date_from=dates[0], service_date_to=dates[-1], patient=_patient(s),
                          diagnoses=["M54.16", "M51.26"])
    return event


def _remittance(s: Scenario, event_id: str, claim_id: str, lines: list[dict], occurred: str, notice: str, *,
                status_code: str = "1") -> dict:
    event = events.remittance(event_id, claim_id, payer=_payer(s), lines=lines, occurred_at=occurred,
                              production_date=notice, status_code=status_code, patient=_patient(s, name=True),
                              trace_number=f"EFT-{event_id}", payer_claim_number=f"ICN-{claim_id}")
    dates = sorted(x["service_date"] for x in lines)
    event["claim"].update(filing_indicator="MB", service_date_from=dates[0], service_date_to=dates[-1])
    return event


async def publish_scenario(stack, db: asyncpg.Pool, run: str) -> Scenario:
    """Publish the scenario and wait until the worker has opened both tasks (and applied the whole history)."""
    s = scenario(run)
    h1, h2, h3 = s.history_claims
    statuses = [
        _submitted(s, f"st-{run}-h1", h1, [("1", "99204", [], 250.00, -200)], at(-199)),
        _submitted(s, f"st-{run}-h2", h2, [("1", "97110", ["GP"], 90.00, -150), ("2", "97110", ["GP"], 90.00, -143)],
                   at(-140)),
        _submitted(s, f"st-{run}-h3", h3, [("1", "64483", ["RT"], 1200.00, -100)], at(-99)),
        _submitted(s, f"st-{run}-d", s.necessity_claim,
                   [("1", "64483", ["RT"], 1200.00, -40), ("2", "64484", ["RT"], 600.00, -40)], at(-38)),
        {"event_id": f"ak-{run}-d", "schema_version": 1, "kind": "acknowledgement", "occurred_at": at(-37),
         "payer": _payer(s), "claim": {"claim_id": s.necessity_claim, "total_charge": 1800.00},
         "status": {"category": "A1", "code": "20", "entity": "PR", "effective_date": day(-37)}},
        _submitted(s, f"st-{run}-r", s.reopening_claim, [("1", "20552", [], 150.00, -35)], at(-34)),
    ]
    await publish_json(stack.bootstrap, "claims.status.v1", statuses)
    async def submissions_applied() -> bool:
        history = await db.fetchval("SELECT count(*) FROM procedure_history WHERE claim_id = ANY($1::text[])",
                                    [*s.history_claims, s.necessity_claim, s.reopening_claim])
        acknowledged = await db.fetchval("SELECT count(*) FROM claim_events WHERE event_id = $1", f"ak-{run}-d")
        return history == 7 and acknowledged == 1

    await eventually(submissions_applied, timeout=90, message="the worker to apply the submissions")

    denied = [events.line("1", "64483", ["RT"], charge=1200.00, paid=0.00, service_date=day(-40), remarks=["N115"],
                          adjustments=[{"group": "CO", "reason": "50", "amount": 1200.00}]),
              events.line("2", "64484", ["RT"], charge=600.00, paid=0.00, service_date=day(-40), remarks=["N115"],
                          adjustments=[{"group": "CO", "reason": "50", "amount": 600.00}])]
    paid_h3 = [events.line("1", "64483", ["RT"], charge=1200.00, paid=812.40, allowed=1015.50, service_date=day(-100),
                           adjustments=[{"group": "CO", "reason": "45", "amount": 184.50},
                                        {"group": "PR", "reason": "2", "amount": 203.10}])]
    tpi_paid = [events.line("1", "20552", [], charge=150.00, paid=80.00, allowed=80.00, service_date=day(-35),
                            adjustments=[{"group": "CO", "reason": "45", "amount": 70.00}])]
    tpi_reversal = [dict(x, charge=-x["charge"], paid=-x["paid"], allowed=-x["allowed"],
                         adjustments=[dict(a, amount=-a["amount"]) for a in x["adjustments"]]) for x in tpi_paid]
    tpi_denied = [events.line("1", "20552", [], charge=150.00, paid=0.00, service_date=day(-35),
                              adjustments=[{"group": "CO", "reason": "4", "amount": 150.00}])]
    await publish_json(stack.bootstrap, "claims.remittance.v1", [
        _remittance(s, f"rm-{run}-h3", h3, paid_h3, at(-80), day(-81)),
        _remittance(s, f"rm-{run}-d", s.necessity_claim, denied, at(-10), day(-11)),
        _remittance(s, f"rm-{run}-r1", s.reopening_claim, tpi_paid, at(-20), day(-21)),
        _remittance(s, f"rm-{run}-r2", s.reopening_claim, tpi_reversal, at(-15), day(-16), status_code="22"),
        _remittance(s, f"rm-{run}-r3", s.reopening_claim, tpi_denied, at(-15, 10), day(-16)),
    ])
    await eventually(lambda: db.fetchval(
        "SELECT count(*) = 2 FROM appeal_tasks WHERE task_id = ANY($1::text[])",
        [s.necessity_task, s.reopening_task]), timeout=90, message="the worker to open both tasks")
    return s


async def _columns(conn: asyncpg.Connection, table: str) -> list[str]:
    """The table's columns without its serial id (a fresh copy numbers its rows itself)."""
    rows = await conn.fetch(
        """SELECT column_name FROM information_schema.columns
           WHERE table_schema = 'public' AND table_name = $1 AND column_name <> 'id' ORDER BY ordinal_position""",
        table)
    return [r["column_name"] for r in rows]


async def copy_scenario(source_url: str, target_url: str, s: Scenario) -> None:
    """Copy the scenario's rows (claims, timeline, remittances, history, decisions, tasks, audit) into a migrated
    private database. Only rows of the scenario's claims: other tests' rows never leave the session database."""
    source = await asyncpg.connect(source_url)
    target = await asyncpg.connect(target_url)
    try:
        await migrate(target)
        task_ids = [r["task_id"] for r in await source.fetch(
            "SELECT task_id FROM appeal_tasks WHERE claim_id = ANY($1::text[])", s.claim_ids)]
        for table in TABLES:
            columns = await _columns(source, table)
            quoted = ", ".join(f'"{c}"' for c in columns)
            if table == "task_events":
                rows = await source.fetch(f"SELECT {quoted} FROM task_events WHERE task_id = ANY($1::text[]) "
                                          "ORDER BY id", task_ids)
            else:
                rows = await source.fetch(f"SELECT {quoted} FROM {table} WHERE claim_id = ANY($1::text[])",
                                          s.claim_ids)
            if rows:
                await target.copy_records_to_table(table, records=[tuple(r) for r in rows], columns=columns)
    finally:
        await source.close()
        await target.close()


@asynccontextmanager
async def scenario_database(stack, s: Scenario) -> AsyncIterator[str]:
    """A private database holding a copy of the scenario (dropped afterwards)."""
    from tests.integration.test_api_support import private_database

    async with private_database(stack.direct_database_url) as url:
        await copy_scenario(stack.direct_database_url, url, s)
        yield url
