"""Leader-only task timers: the advisory lock, the loop, and the SQL of the pass's unit of work; the pass itself
(expire tasks whose every clock has passed, keep priorities fresh) is service.service_layer.timers.run_task_timers.

One worker at a time runs a pass: the pass holds a session-level PostgreSQL advisory lock (its own key) on the
connection it works on; the other workers' passes see the lock taken and skip. Each batch locks its claims first
(LOCKING RULE) and re-checks the task in the domain, so a task the stream or a user just moved is left alone and a
second pass changes nothing (expiry is idempotent; its outbox event ids are deterministic).

- Priority refresh runs every pass, only on open tasks whose score is stale: scored for another day, or scored
  from other inputs (amount, recoverability, clocks) than the row holds now — so a task the stream just opened is
  scored within one pass, and every open task is rescored once a day (which raises those nearing a deadline).
- Expiry runs once per `task_expiry_interval_s` (an hour by default: deadlines are whole days, so a task past its
  last day expires within the hour); when it last ran is kept in `task_timer_runs`, so restarts and new workers
  neither skip it nor repeat it early.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

import asyncpg

from service.adapters.leadership import business_today, every, leader_connection
from service.adapters.task_store import PostgresTaskWriter
from service.config import Settings
from service.logs import get_logger
from service.service_layer.timers import TimerPass, task_timer_pass

TIMER_LOCK_KEY = 0x74696D657273  # "timers": one timer pass at a time across every worker

log = get_logger("denials.timers")


class PostgresTaskTimers(PostgresTaskWriter):
    """The task timer's unit of work: the task writer's transaction, on the leader's connection, with the timer's
    own reads."""

    async def overdue_task_ids(self, today: dt.date, after: str, limit: int) -> list[str]:
        return [r["task_id"] for r in await self.conn.fetch(
            """SELECT task_id FROM appeal_tasks
               WHERE state IN ('open', 'in_progress') AND GREATEST(deadline, filing_deadline) < $1 AND task_id > $2
               ORDER BY task_id LIMIT $3""", today, after, limit)]

    async def stale_priority_ids(self, today: dt.date, after: str, limit: int) -> list[str]:
        return [r["task_id"] for r in await self.conn.fetch(
            """SELECT task_id FROM appeal_tasks
               WHERE state IN ('open', 'in_progress', 'submitted') AND task_id > $2
                 AND ((priority_parts->>'as_of') IS DISTINCT FROM $1
                      OR (priority_parts->>'amount_at_risk')::numeric IS DISTINCT FROM amount_at_risk
                      OR (priority_parts->>'recoverability')::real IS DISTINCT FROM recoverability
                      OR (priority_parts->>'deadline')::date IS DISTINCT FROM deadline
                      OR (priority_parts->>'filing_deadline')::date IS DISTINCT FROM filing_deadline)
               ORDER BY task_id LIMIT $3""", today.isoformat(), after, limit)]

    async def last_run(self, job: str) -> dt.datetime | None:
        return await self.conn.fetchval("SELECT ran_at FROM task_timer_runs WHERE name = $1", job)

    async def record_run(self, job: str, at: dt.datetime, today: dt.date) -> None:
        await self.conn.execute(
            """INSERT INTO task_timer_runs (name, ran_at, business_date) VALUES ($1, $2, $3)
               ON CONFLICT (name) DO UPDATE SET ran_at = EXCLUDED.ran_at, business_date = EXCLUDED.business_date""",
            job, at, today)


async def run_timers_once(pool: asyncpg.Pool, settings: Settings, *, today: dt.date,
                          now: dt.datetime | None = None, force_expiry: bool = False) -> TimerPass:
    """One pass, when this process gets the timer lock (else `leader` is False and nothing ran)."""
    result = TimerPass()
    now = now or dt.datetime.now(dt.UTC)
    async with leader_connection(pool, TIMER_LOCK_KEY, timeout=settings.db_connect_timeout_s * 2) as conn:
        if conn is None:
            return result
        result.leader = True
        await task_timer_pass(PostgresTaskTimers(conn=conn), today, now=now, force_expiry=force_expiry,
                              expiry_every_s=settings.task_expiry_interval_s, result=result)
    return result


async def run_task_timers(pool: asyncpg.Pool, settings: Settings, stop: asyncio.Event, *,
                          today: Callable[[], dt.date] | None = None) -> None:
    """Run a pass every `task_timer_interval_s` until `stop` is set; failures are retried with capped backoff."""
    if not settings.task_timers_enabled:
        return
    today_of = today or (lambda: business_today(settings))

    async def one_pass() -> None:
        result = await run_timers_once(pool, settings, today=today_of())
        if result.expired or result.refreshed:
            log.info("timers.pass", expired=result.expired, refreshed=result.refreshed)

    await every(settings.task_timer_interval_s, stop, one_pass, settings=settings, name="timers")
