"""A year of claims for the KPI benchmark, written straight into the tables the worker writes (no broker, no worker):
claims with their submission, the submitted / 277CA timeline, remittances (first adjudications, denials by cause,
reversals and their re-adjudication, secondary payers, business-key duplicates, predeterminations), their service
lines and decisions, and the appeal tasks of the denials in every state with their audit.

Deterministic for a seed; streamed in chunks through COPY (`copy_records_to_table`) so a million claims never sit in
memory at once. JSON columns are passed as Python values (the service's connection encodes jsonb). The rows carry
no real person: patient keys are synthetic.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

import asyncpg

YEAR = 2025
PAYERS = (("MCR-TX", "medicare", 30), ("BCBS-TX", "commercial", 25), ("AETNA", "commercial", 12),
          ("UHC", "commercial", 12), ("MCD-TX", "medicaid", 10), ("CIGNA", "commercial", 6), ("HUMANA", "other", 5))
SECONDARY = (("AARP", "commercial"), ("MCD-TX", "medicaid"))
PROVIDERS = tuple(f"1{n:09d}" for n in range(1000000003, 1000000003 + 24 * 7919, 7919))
CODES = ("62321", "62323", "64483", "64484", "64479", "64490", "64493", "64494", "64635", "64636", "20610",
         "27096", "64633", "99213", "99214", "72148", "J1030")
CAUSES = (("authorization", "CO", "197", "authorization", 18), ("medical_necessity", "CO", "50", "appeals", 16),
          ("coding", "CO", "16", "coding", 14), ("bundling", "CO", "97", "coding", 9),
          ("eligibility", "CO", "27", "eligibility", 8), ("timely_filing", "CO", "29", "billing", 5),
          ("duplicate", "OA", "18", "billing", 5), ("missing_information", "CO", "16", "billing", 6),
          ("documentation", "CO", "252", "appeals", 5), ("frequency_limit", "CO", "119", "appeals", 4),
          ("non_covered", "PR", "204", "patient_accounts", 4), ("pricing", "CO", "45", "contracts", 3),
          ("provider_enrollment", "CO", "B7", "credentialing", 3))
# open / in progress / submitted / won / lost / written off / resolved / expired
TASK_STATES = (("open", 30), ("in_progress", 10), ("submitted", 15), ("won", 15), ("lost", 8), ("written_off", 10),
               ("resolved", 7), ("expired", 5))
UTC = dt.UTC
CENT = Decimal("0.01")
COLUMNS = {
    "claims": ("claim_id", "patient_key", "state", "state_at", "payer_id", "payer_type", "submission",
               "submitted_at", "total_charge", "service_date_from", "service_date_to", "last_event_at"),
    "claim_events": ("claim_id", "event_id", "kind", "occurred_at", "payer_id", "summary"),
    "remittances": ("event_id", "claim_id", "payer_id", "payer_type", "payer_claim_number", "status_code",
                    "production_date", "total_charge", "total_paid", "business_key", "duplicate_of", "occurred_at"),
    "service_lines": ("event_id", "claim_id", "line_id", "procedure_code", "charge", "paid", "service_date"),
    "decisions": ("event_id", "claim_id", "payer_id", "payer_type", "line_id", "adjustment_index", "group_code",
                  "reason", "amount", "category", "is_denial", "action", "queue", "appealable", "recoverability",
                  "explanation", "rule_id", "rules_version", "occurred_at", "task_id"),
    "appeal_tasks": ("task_id", "claim_id", "payer_id", "payer_type", "category", "action", "queue", "state",
                     "appealable", "amount_at_risk", "recovered_amount", "recouped_amount", "recoverability",
                     "explanation", "source_event_id", "opened_at", "last_event_at", "closed_at"),
    "task_events": ("task_id", "at", "actor", "change", "from_state", "to_state"),
}
QUEUES = tuple(sorted({c[3] for c in CAUSES}))


@dataclass
class Rows:
    tables: dict[str, list[tuple]] = field(default_factory=lambda: {t: [] for t in COLUMNS})

    def add(self, table: str, row: tuple) -> None:
        self.tables[table].append(row)

    def count(self) -> int:
        return sum(len(v) for v in self.tables.values())


def _weighted(rng: random.Random, items: tuple, weight_index: int = -1):
    return rng.choices(items, weights=[i[weight_index] for i in items])[0]


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _claim(rng: random.Random, i: int, out: Rows) -> None:
    cid = f"BK{i:08d}"
    payer_id, payer_type, _ = _weighted(rng, PAYERS)
    dos = dt.date(YEAR, 1, 1) + dt.timedelta(days=rng.randrange(365))
    sub_at = dt.datetime.combine(dos + dt.timedelta(days=rng.randint(1, 6)), dt.time(rng.randrange(14, 24),
                                                                                     rng.randrange(60)), UTC)
    codes = rng.sample(CODES, rng.choice((1, 1, 2, 2, 3)))
    line_cents = [rng.randrange(15000, 160000) for _ in codes]
    charge_cents = sum(line_cents)
    charge = _money(charge_cents)
    npi = rng.choice(PROVIDERS)
    lines = enumerate(zip(codes, line_cents, strict=True))
    submission = {"event_id": f"st-{cid}-1", "frequency_code": "1", "total_charge": str(charge),
                  "billing_npi": npi if rng.random() > 0.03 else "",
                  "rendering_npi": rng.choice(PROVIDERS) if rng.random() > 0.3 else None,
                  "lines": [{"line_id": str(n + 1), "code": c, "charge": str(_money(lc)),
                             "service_date": dos.isoformat()} for n, (c, lc) in lines]}
    out.add("claim_events", (cid, f"st-{cid}-1", "submitted", sub_at, payer_id, {"frequency_code": "1"}))
    last_at = sub_at
    r = rng.random()
    if r < 0.05:  # 277CA rejection, corrected and sent again two days later
        ack_at = sub_at + dt.timedelta(hours=rng.randrange(2, 30))
        category = rng.choice(("A7", "A6", "A3", "A8"))
        lines = [f"{category}:21"] if rng.random() < 0.3 else []
        out.add("claim_events", (cid, f"ack-{cid}-1", "acknowledgement", ack_at, payer_id,
                                 {"category": "A1" if lines else category, "line_statuses": lines}))
        sub_at = ack_at + dt.timedelta(days=2)
        out.add("claim_events", (cid, f"st-{cid}-2", "submitted", sub_at, payer_id,
                                 {"frequency_code": "7"}))
        last_at = sub_at
    elif r < 0.65:  # accepted
        out.add("claim_events", (cid, f"ack-{cid}-1", "acknowledgement", sub_at + dt.timedelta(hours=3), payer_id,
                                 {"category": "A2", "line_statuses": []}))
    state = "submitted"
    if rng.random() < 0.88:
        state = _remittances(rng, cid, payer_id, payer_type, codes, line_cents, dos, sub_at, out)
    if rng.random() < 0.01:  # voided afterwards
        void_at = last_at + dt.timedelta(days=rng.randrange(20, 80))
        out.add("claim_events", (cid, f"st-{cid}-8", "submitted", void_at, payer_id,
                                 {"frequency_code": "8"}))
    out.add("claims", (cid, f"PK-{i:08d}", state, last_at, payer_id, payer_type, submission, sub_at,
                       charge, dos, dos, last_at))


def _remit(out: Rows, cid: str, event_id: str, payer: tuple[str, str], status: str, day: dt.date, charge: Decimal,
           paid: Decimal, at: dt.datetime, *, pcn: str | None, key: str, duplicate_of: str | None = None) -> None:
    out.add("remittances", (event_id, cid, payer[0], payer[1], pcn, status, day, charge, paid, key, duplicate_of, at))


def _decision(out: Rows, event_id: str, cid: str, payer: tuple[str, str], index: int, group: str, reason: str,
              amount: Decimal, category: str, is_denial: bool, at: dt.datetime, *, queue: str | None = None,
              task_id: str | None = None) -> None:
    out.add("decisions", (event_id, cid, payer[0], payer[1], "1", index, group, reason, amount, category, is_denial,
                          "appeal" if is_denial else "none", queue, is_denial, 0.5 if is_denial else 0.0,
                          f"{group}-{reason}", f"carc.{reason}", "bench", at, task_id))


def _remittances(rng: random.Random, cid: str, payer_id: str, payer_type: str, codes: list[str], line_cents: list[int],
                 dos: dt.date, sub_at: dt.datetime, out: Rows) -> str:
    payer = (payer_id, payer_type)
    charge_cents = sum(line_cents)
    charge = _money(charge_cents)
    day = sub_at.date() + dt.timedelta(days=rng.randrange(12, 45))
    at = dt.datetime.combine(day, dt.time(rng.randrange(14, 23), rng.randrange(60)), UTC)
    ev = f"rm-{cid}-1"
    pcn = f"PCN{cid}"
    if rng.random() < 0.01:  # a predetermination before the claim itself
        _remit(out, cid, f"rm-{cid}-p", payer, "25", day - dt.timedelta(days=8), charge, Decimal("0.00"),
               at - dt.timedelta(days=8), pcn=pcn, key=f"bk-{cid}-p")
    denied = rng.random() < 0.22
    if denied:
        cause = _weighted(rng, CAUSES)
        full = rng.random() < 0.7
        denied_cents = charge_cents if full else line_cents[0]
        paid_cents = 0 if full else (charge_cents - denied_cents) * 60 // 100
        contractual_cents = 0 if full else (charge_cents - denied_cents) * 30 // 100
    else:
        cause = None
        denied_cents = 0
        paid_cents = charge_cents * rng.choice((55, 60, 65, 70)) // 100
        contractual_cents = charge_cents * 30 // 100
    share_cents = charge_cents - denied_cents - paid_cents - contractual_cents
    _remit(out, cid, ev, payer, "4" if denied and paid_cents == 0 else "1", day, charge, _money(paid_cents), at,
           pcn=pcn, key=f"bk-{cid}-1")
    for n, (code, lc) in enumerate(zip(codes, line_cents, strict=True)):
        out.add("service_lines", (ev, cid, str(n + 1), code, _money(lc), _money(lc * paid_cents // charge_cents),
                                  dos))
    idx = 0
    task_id = f"task-{cid}-{cause[0]}" if cause else None
    if contractual_cents:
        _decision(out, ev, cid, payer, idx, "CO", "45", _money(contractual_cents), "contractual", False, at)
        idx += 1
    if share_cents > 0:
        _decision(out, ev, cid, payer, idx, "PR", "2", _money(share_cents), "patient_responsibility", False, at)
        idx += 1
    if cause:
        _decision(out, ev, cid, payer, idx, cause[1], cause[2], _money(denied_cents), cause[0], True, at,
                  queue=cause[3], task_id=task_id)
        idx += 1
        if rng.random() < 0.1:  # a second cause on the same adjudication
            other = _weighted(rng, CAUSES)
            if other[0] != cause[0]:
                _decision(out, ev, cid, payer, idx, other[1], other[2], Decimal("25.00"), other[0], True, at,
                          queue=other[3])
        _task(rng, cid, payer, cause, _money(denied_cents), ev, at, out)
    state = "denied" if cause else "paid"
    if rng.random() < 0.003:  # the same adjudication re-sent under new control numbers
        _remit(out, cid, f"rm-{cid}-d", payer, "1", day + dt.timedelta(days=1), charge, _money(paid_cents),
               at + dt.timedelta(days=1), pcn=pcn, key=f"bk-{cid}-1", duplicate_of=ev)
    if rng.random() < 0.02:  # reversed and adjudicated again
        rat = at + dt.timedelta(days=rng.randrange(5, 20))
        _remit(out, cid, f"rm-{cid}-r", payer, "22", rat.date(), -charge, -_money(paid_cents), rat, pcn=pcn,
               key=f"bk-{cid}-r")
        again = rat + dt.timedelta(hours=1)
        ev2 = f"rm-{cid}-2"
        _remit(out, cid, ev2, payer, "1", again.date(), charge, _money(charge_cents * 70 // 100), again, pcn=pcn,
               key=f"bk-{cid}-2")
        _decision(out, ev2, cid, payer, 0, "CO", "45", _money(charge_cents * 30 // 100), "contractual", False, again)
        state = "paid"
    if not cause and share_cents > 0 and rng.random() < 0.25:  # a secondary payer pays the cost share
        sec = rng.choice(SECONDARY)
        sat = at + dt.timedelta(days=rng.randrange(10, 30))
        _remit(out, cid, f"rm-{cid}-s", sec, "2", sat.date(), charge, _money(share_cents), sat, pcn=f"S{cid}",
               key=f"bk-{cid}-s")
    return state


def _task(rng: random.Random, cid: str, payer: tuple[str, str], cause: tuple, amount: Decimal, ev: str,
          opened: dt.datetime, out: Rows) -> None:
    task_id = f"task-{cid}-{cause[0]}"
    state = _weighted(rng, TASK_STATES)[0]
    submitted_at = opened + dt.timedelta(days=rng.randrange(1, 20), hours=rng.randrange(8))
    closed_at = None
    recovered = recouped = None
    events = [(task_id, opened, "worker", "opened", None, "open")]
    if state != "open":
        events.append((task_id, opened + dt.timedelta(hours=5), "user:bench", "claimed", "open", "in_progress"))
    if state in ("submitted", "won", "lost"):
        events.append((task_id, submitted_at, "user:bench", "submitted", "in_progress", "submitted"))
    if state in ("won", "lost", "written_off", "resolved", "expired"):
        base = submitted_at if state in ("won", "lost") else opened
        closed_at = base + dt.timedelta(days=rng.randrange(3, 60))
        events.append((task_id, closed_at, "worker" if state == "expired" else "user:bench", state,
                       "submitted" if state in ("won", "lost") else "in_progress", state))
        if state == "won":
            recovered = (amount * Decimal(rng.choice(("1", "0.8", "0.5")))).quantize(CENT)
            recouped = Decimal("0.00") if rng.random() < 0.9 else Decimal("50.00")
    last = closed_at or events[-1][1]
    out.add("appeal_tasks", (task_id, cid, payer[0], payer[1], cause[0], "appeal", cause[3], state, True, amount,
                             recovered, recouped, 0.5, f"{cause[1]}-{cause[2]}", ev, opened, last, closed_at))
    for e in events:
        out.add("task_events", e)


def chunks(claims: int, seed: int, size: int = 20_000) -> Iterator[Rows]:
    rng = random.Random(seed)
    for start in range(0, claims, size):
        out = Rows()
        for i in range(start, min(claims, start + size)):
            _claim(rng, i, out)
        yield out


async def load(conn: asyncpg.Connection, claims: int, seed: int, progress=None) -> int:
    """Write `claims` claims and everything about them; returns the number of rows written."""
    total = 0
    for n, rows in enumerate(chunks(claims, seed)):
        for table, records in rows.tables.items():
            if records:
                await conn.copy_records_to_table(table, records=records, columns=COLUMNS[table])
        total += rows.count()
        if progress is not None:
            progress(min(claims, (n + 1) * 20_000), total)
    await conn.execute("ANALYZE")
    return total
