"""Leader-only silent-claim timer: the advisory lock, the loop, and the SQL of its unit of work.

One worker at a time runs a pass (service.service_layer.timers.flag_silent_claims): the pass holds a session-level
advisory lock (its own key) on its connection; the other workers see it taken and skip. A claim is silent when its
state is still `submitted` / `acknowledged` / `accepted` (a 277CA acceptance says nothing about adjudication) and no
277 status, remittance or reversal arrived at or after its latest submission. Each inquiry is recorded in
`status_inquiries` under (claim, submission event, interval number): a second pass, a restart or a second worker in
the same interval sends nothing again.

"Today" is the billing office's date (DENIALS_TASK_TIMEZONE) unless the caller passes one (tests do).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo

import asyncpg

from service.adapters.leadership import business_today, every, leader_connection
from service.adapters.sql import PooledTransaction
from service.adapters.store import add_to_outbox, submission_from_json
from service.adapters.task_rows import STREAM_COLUMNS, insert_sql, task_params
from service.config import Settings
from service.domain.silent_claims import AwaitingClaim, Silence, load_silence_rules
from service.domain.tasks import Task
from service.logs import get_logger
from service.service_layer.timers import ClaimTimerPass, SilenceRulebook, flag_silent_claims
from service.service_layer.unit_of_work import AuditEntry, OutboxRecord

CLAIM_TIMER_LOCK_KEY = 0x636C61696D74  # "claimt": one silent-claim pass at a time across every worker
AWAITING_STATES = ("submitted", "acknowledged", "accepted")
ANSWERS = ("status", "remittance", "reversal")  # timeline kinds that end a claim's silence

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


def _awaiting(r: asyncpg.Record) -> AwaitingClaim:
    raw = r["submission"]
    sub = submission_from_json(raw if isinstance(raw, dict) else json.loads(raw))
    return AwaitingClaim(claim_id=r["claim_id"], submission=sub, submitted_on=r["submitted_on"],
                         total_charge=r["total_charge"])


class PostgresSilentClaims(PooledTransaction):
    """The silent-claim timer's unit of work: one transaction per `async with`, on the leader's connection."""

    def __init__(self, *, conn: asyncpg.Connection, timezone: str) -> None:
        super().__init__(conn=conn)
        self._timezone = timezone

    async def awaiting_claims(self, today: dt.date, min_days: int, after: str, limit: int) -> list[AwaitingClaim]:
        # $1, the start of the office day `today - min_days + 1`, lets the partial index on submitted_at serve the scan
        cutoff = dt.datetime.combine(today - dt.timedelta(days=min_days - 1), dt.time(), ZoneInfo(self._timezone))
        rows = await self.conn.fetch(_CANDIDATES, cutoff, today, min_days, after, self._timezone, list(ANSWERS),
                                     limit)
        return [_awaiting(r) for r in rows]

    async def record_inquiries(self, due: Sequence[Silence], event_ids: Sequence[str]) -> set[tuple[str, str, int]]:
        rows = await self.conn.fetch(
            """INSERT INTO status_inquiries (claim_id, submission_event_id, interval_no, interval_days, payer_id,
                   submitted_at, business_date, outbox_event_id)
               SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::text[], $6::timestamptz[],
                                    $7::date[], $8::text[])
               ON CONFLICT (claim_id, submission_event_id, interval_no) DO NOTHING
               RETURNING claim_id, submission_event_id, interval_no""",
            [s.claim.claim_id for s in due], [s.claim.submission.event_id for s in due], [s.interval_no for s in due],
            [s.interval_days for s in due], [s.claim.payer.id for s in due],
            [s.claim.submission.occurred_at for s in due], [s.today for s in due], list(event_ids))
        return {(r["claim_id"], r["submission_event_id"], r["interval_no"]) for r in rows}

    async def lock_still_silent(self, claim_ids: Sequence[str]) -> set[str]:
        # LOCKING RULE: the claim rows first, in claim-id order; then re-check that each is still silent.
        ids = sorted(claim_ids)
        await self.conn.execute("SELECT 1 FROM claims WHERE claim_id = ANY($1::text[]) ORDER BY claim_id FOR UPDATE",
                                ids)
        return {r["claim_id"] for r in await self.conn.fetch(
            """SELECT c.claim_id FROM claims c WHERE c.claim_id = ANY($1::text[]) AND c.state = ANY($2::text[])
                   AND NOT EXISTS (SELECT 1 FROM claim_events e WHERE e.claim_id = c.claim_id
                                   AND e.kind = ANY($3::text[]) AND e.occurred_at >= c.submitted_at)""",
            ids, list(AWAITING_STATES), list(ANSWERS))}

    async def existing_tasks(self, task_ids: Sequence[str]) -> set[str]:
        return {r["task_id"] for r in await self.conn.fetch(
            "SELECT task_id FROM appeal_tasks WHERE task_id = ANY($1::text[])", list(task_ids))}

    async def add_tasks(self, tasks: Sequence[Task], audit: Sequence[AuditEntry]) -> None:
        if tasks:
            await self.conn.executemany(insert_sql(STREAM_COLUMNS, "ON CONFLICT (task_id) DO NOTHING"),
                                        task_params(tasks, STREAM_COLUMNS))
        if audit:
            await self.conn.executemany(
                """INSERT INTO task_events (task_id, at, actor, change, from_state, to_state, note, causation_id)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
                [(a.task_id, a.at, a.actor, a.change, a.from_state, a.to_state, a.note, a.causation_id)
                 for a in audit])

    async def add_to_outbox(self, records: Sequence[OutboxRecord]) -> None:
        await add_to_outbox(self.conn, records)


def rulebook(settings: Settings) -> SilenceRulebook:
    rules, clocks, checklists = load_silence_rules(default_days=settings.silent_claim_days,
                                                   warning_days=settings.filing_warning_days)
    return SilenceRulebook(rules=rules, clocks=clocks, checklists=checklists)


async def run_claim_timers_once(pool: asyncpg.Pool, settings: Settings, *, today: dt.date,
                                now: dt.datetime | None = None) -> ClaimTimerPass:
    """One pass, when this process gets the timer's lock (else `leader` is False and nothing ran)."""
    result = ClaimTimerPass()
    now = now or dt.datetime.now(dt.UTC)
    async with leader_connection(pool, CLAIM_TIMER_LOCK_KEY, timeout=settings.db_connect_timeout_s * 2) as conn:
        if conn is None:
            return result
        result.leader = True
        await flag_silent_claims(PostgresSilentClaims(conn=conn, timezone=settings.task_timezone), today, now=now,
                                 rulebook=rulebook(settings), result=result)
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
