"""Leader-only silent-claim timer: status inquiries for claims the payer is silent about, and a `billing` task for a
silent claim near its timely-filing limit.

One worker at a time runs a pass: the pass holds a session-level advisory lock (its own key) on its connection; the
other workers see it taken and skip. A claim is silent when its state is still `submitted` / `acknowledged` /
`accepted` (a 277CA acceptance says nothing about adjudication) and no 277 status, remittance or reversal arrived at
or after its latest submission. Each inquiry is recorded in `status_inquiries` under (claim, submission event,
interval number): a second pass, a restart or a second worker in the same interval sends nothing again. Tasks
follow the LOCKING RULE (claim rows locked first, in claim-id order; the claim re-checked under the lock) and are
written with their `task_events` audit row and `appeals.tasks.v1` outbox row in the same transaction.

"Today" is the billing office's date (DENIALS_TASK_TIMEZONE) unless the caller passes one (tests do).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import asyncpg

from service.adapters.leadership import business_today, every, leader_connection
from service.adapters.store import add_to_outbox, checklist_to_json, submission_from_json, task_lines_to_json
from service.config import Settings
from service.domain.silent_claims import (
    AwaitingClaim,
    Silence,
    assess,
    filing_risk_task,
    load_silence_rules,
    status_inquiry,
)
from service.domain.tasks import task_id_for
from service.logs import get_logger
from service.service_layer.outbox import build_records

CLAIM_TIMER_LOCK_KEY = 0x636C61696D74  # "claimt": one silent-claim pass at a time across every worker
ACTOR = "system:claim-timer"
AWAITING_STATES = ("submitted", "acknowledged", "accepted")
ANSWERS = ("status", "remittance", "reversal")  # timeline kinds that end a claim's silence
PAGE = 200

log = get_logger("denials.claim_timers")

# Claims waiting on the payer, silent since their latest submission for at least $3 days (office date $2; $1 is the
# start of the office day $2 - $3 + 1, so the partial index on submitted_at serves the scan).
_CANDIDATES = """
SELECT c.claim_id, c.submission, c.total_charge, (c.submitted_at AT TIME ZONE $5)::date AS submitted_on
FROM claims c
WHERE c.state IN ('submitted', 'acknowledged', 'accepted') AND c.submitted_at < $1
  AND c.submission IS NOT NULL
  AND (c.submitted_at AT TIME ZONE $5)::date <= $2::date - $3::int
  AND c.claim_id > $4
  AND NOT EXISTS (SELECT 1 FROM claim_events e
                  WHERE e.claim_id = c.claim_id AND e.kind = ANY($6::text[]) AND e.occurred_at >= c.submitted_at)
ORDER BY c.claim_id
LIMIT $7"""


@dataclass(slots=True)
class ClaimTimerPass:
    leader: bool = False
    scanned: int = 0
    inquiries: int = 0
    tasks: int = 0


def _awaiting(r: asyncpg.Record) -> AwaitingClaim:
    raw = r["submission"]
    sub = submission_from_json(raw if isinstance(raw, dict) else json.loads(raw))
    return AwaitingClaim(claim_id=r["claim_id"], submission=sub, submitted_on=r["submitted_on"],
                         total_charge=r["total_charge"])


async def _send_inquiries(conn: asyncpg.Connection, due: Sequence[Silence], now: dt.datetime) -> int:
    """Record each (claim, submission, interval) once; only a first record gets its outbox row."""
    if not due:
        return 0
    requests = {s.inquiry_key: status_inquiry(s, at=now) for s in due}
    records = {key: build_records([req])[0] for key, req in requests.items()}
    rows = await conn.fetch(
        """INSERT INTO status_inquiries (claim_id, submission_event_id, interval_no, interval_days, payer_id,
               submitted_at, business_date, outbox_event_id)
           SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::text[], $6::timestamptz[],
                                $7::date[], $8::text[])
           ON CONFLICT (claim_id, submission_event_id, interval_no) DO NOTHING
           RETURNING claim_id, submission_event_id, interval_no""",
        [s.claim.claim_id for s in due], [s.claim.submission.event_id for s in due], [s.interval_no for s in due],
        [s.interval_days for s in due], [s.claim.payer.id for s in due],
        [s.claim.submission.occurred_at for s in due], [s.today for s in due],
        [records[s.inquiry_key].event_id for s in due])
    fresh = [records[(r["claim_id"], r["submission_event_id"], r["interval_no"])] for r in rows]
    await add_to_outbox(conn, fresh)
    return len(fresh)


async def _open_filing_tasks(conn: asyncpg.Connection, risky: Sequence[Silence], now: dt.datetime,
                             settings: Settings) -> int:
    """A billing task per silent claim near its filing limit, unless the claim already has a task of that cause."""
    if not risky:
        return 0
    ids = sorted({s.claim.claim_id for s in risky})
    # LOCKING RULE: the claim rows first, in claim-id order; then re-check that each is still silent.
    await conn.execute("SELECT 1 FROM claims WHERE claim_id = ANY($1::text[]) ORDER BY claim_id FOR UPDATE", ids)
    still = {r["claim_id"] for r in await conn.fetch(
        """SELECT c.claim_id FROM claims c WHERE c.claim_id = ANY($1::text[]) AND c.state = ANY($2::text[])
               AND NOT EXISTS (SELECT 1 FROM claim_events e WHERE e.claim_id = c.claim_id
                               AND e.kind = ANY($3::text[]) AND e.occurred_at >= c.submitted_at)""",
        ids, list(AWAITING_STATES), list(ANSWERS))}
    wanted = {task_id_for(s.claim.claim_id, s.claim.payer.id, "timely_filing"): s for s in risky
              if s.claim.claim_id in still}
    existing = {r["task_id"] for r in await conn.fetch(
        "SELECT task_id FROM appeal_tasks WHERE task_id = ANY($1::text[])", list(wanted))}
    _, _, checklists = load_silence_rules(default_days=settings.silent_claim_days,
                                          warning_days=settings.filing_warning_days)
    made = []
    for tid, s in wanted.items():
        if tid not in existing:
            task, event = filing_risk_task(s, at=now, checklists=checklists, actor=ACTOR)
            task.refresh_priority(s.today)  # scored as it opens, like the stream's tasks
            made.append((task, event))
    if not made:
        return 0
    await conn.executemany(
        """INSERT INTO appeal_tasks (task_id, claim_id, payer_id, payer_type, category, action, queue, state,
               appealable, amount_at_risk, recoverability, deadline, deadline_basis, filing_deadline, explanation,
               rule_ids, lines, checklist, source_event_id, opened_at, last_event_at, version, priority,
               priority_parts, appeal_level)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
                   $22, $23, $24, $25)""",
        [(t.task_id, t.claim_id, t.payer_id, t.payer_type, t.category, t.action, t.queue, t.state, t.appealable,
          t.amount_at_risk, t.recoverability, t.deadline, t.deadline_basis, t.filing_deadline, t.explanation,
          list(t.rule_ids), task_lines_to_json(t.lines), checklist_to_json(t.checklist), t.source_event_id,
          t.opened_at, t.last_event_at, t.version, t.priority, t.priority_parts, t.appeal_level) for t, _ in made])
    await conn.executemany(
        """INSERT INTO task_events (task_id, at, actor, change, from_state, to_state, note, causation_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        [(ev.task.task_id, ev.at, ev.actor, ev.change, ev.from_state, ev.to_state, ev.note, ev.causation_id)
         for _, ev in made])
    await add_to_outbox(conn, build_records([ev for _, ev in made]))
    return len(made)


async def _pass(conn: asyncpg.Connection, settings: Settings, today: dt.date, now: dt.datetime,
                result: ClaimTimerPass) -> None:
    rules, clocks, _ = load_silence_rules(default_days=settings.silent_claim_days,
                                          warning_days=settings.filing_warning_days)
    zone = ZoneInfo(settings.task_timezone)
    cutoff = dt.datetime.combine(today - dt.timedelta(days=rules.shortest - 1), dt.time(), zone)
    after = ""
    while True:
        rows = await conn.fetch(_CANDIDATES, cutoff, today, rules.shortest, after, settings.task_timezone,
                                list(ANSWERS), PAGE)
        if not rows:
            break
        after = rows[-1]["claim_id"]
        result.scanned += len(rows)
        found = [assess(_awaiting(r), today, rules, clocks) for r in rows]
        due = [s for s in found if s.inquiry_due]
        async with conn.transaction():
            result.inquiries += await _send_inquiries(conn, due, now)
            result.tasks += await _open_filing_tasks(conn, [s for s in due if s.filing_at_risk], now, settings)


async def run_claim_timers_once(pool: asyncpg.Pool, settings: Settings, *, today: dt.date,
                                now: dt.datetime | None = None) -> ClaimTimerPass:
    """One pass, when this process gets the timer's lock (else `leader` is False and nothing ran)."""
    result = ClaimTimerPass()
    now = now or dt.datetime.now(dt.UTC)
    async with leader_connection(pool, CLAIM_TIMER_LOCK_KEY, timeout=settings.db_connect_timeout_s * 2) as conn:
        if conn is None:
            return result
        result.leader = True
        await _pass(conn, settings, today, now, result)
    return result


async def run_claim_timers(pool: asyncpg.Pool, settings: Settings, stop: asyncio.Event, *,
                           today: Callable[[], dt.date] | None = None) -> None:
    """A pass every `claim_timer_interval_s` until `stop` is set; failures are retried with capped backoff."""
    if not settings.claim_timers_enabled:
        return
    today_of = today or (lambda: business_today(settings))

    async def one_pass() -> None:
        result = await run_claim_timers_once(pool, settings, today=today_of())
        if result.inquiries or result.tasks:
            log.info("claim_timers.pass", scanned=result.scanned, inquiries=result.inquiries, tasks=result.tasks)

    await every(settings.claim_timer_interval_s, stop, one_pass, settings=settings, name="claim_timers")
