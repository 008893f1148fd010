"""Leader-only task timers: expire tasks whose every clock has passed, keep priorities fresh.

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
from dataclasses import dataclass

import asyncpg

from service.adapters.leadership import business_today, every, leader_connection
from service.adapters.task_store import PostgresTaskWriter
from service.config import Settings
from service.logs import get_logger
from service.service_layer.tasks_api import expire_tasks, refresh_priorities

TIMER_LOCK_KEY = 0x74696D657273  # "timers": one timer pass at a time across every worker
EXPIRY_JOB = "task_expiry"
BATCH = 200

log = get_logger("denials.timers")


@dataclass(slots=True)
class TimerPass:
    leader: bool = False
    expiry_ran: bool = False
    expired: int = 0
    refreshed: int = 0


async def _expiry_due(conn: asyncpg.Connection, settings: Settings, now: dt.datetime) -> bool:
    ran_at = await conn.fetchval("SELECT ran_at FROM task_timer_runs WHERE name = $1", EXPIRY_JOB)
    return ran_at is None or (now - ran_at).total_seconds() >= settings.task_expiry_interval_s


async def _expire(conn: asyncpg.Connection, today: dt.date, now: dt.datetime) -> int:
    expired, after = 0, ""
    while True:
        ids = [r["task_id"] for r in await conn.fetch(
            """SELECT task_id FROM appeal_tasks
               WHERE state IN ('open', 'in_progress') AND GREATEST(deadline, filing_deadline) < $1 AND task_id > $2
               ORDER BY task_id LIMIT $3""", today, after, BATCH)]
        if not ids:
            break
        async with PostgresTaskWriter(conn=conn) as writer:
            expired += len(await expire_tasks(writer, ids, today=today, now=now))
        after = ids[-1]
    await conn.execute(
        """INSERT INTO task_timer_runs (name, ran_at, business_date) VALUES ($1, $2, $3)
           ON CONFLICT (name) DO UPDATE SET ran_at = EXCLUDED.ran_at, business_date = EXCLUDED.business_date""",
        EXPIRY_JOB, now, today)
    return expired


async def _refresh(conn: asyncpg.Connection, today: dt.date) -> int:
    refreshed, after = 0, ""
    while True:
        ids = [r["task_id"] for r in await conn.fetch(
            """SELECT task_id FROM appeal_tasks
               WHERE state IN ('open', 'in_progress', 'submitted') AND task_id > $2
                 AND ((priority_parts->>'as_of') IS DISTINCT FROM $1
                      OR (priority_parts->>'amount_at_risk')::numeric IS DISTINCT FROM amount_at_risk
                      OR (priority_parts->>'recoverability')::real IS DISTINCT FROM recoverability
                      OR (priority_parts->>'deadline')::date IS DISTINCT FROM deadline
                      OR (priority_parts->>'filing_deadline')::date IS DISTINCT FROM filing_deadline)
               ORDER BY task_id LIMIT $3""", today.isoformat(), after, BATCH)]
        if not ids:
            break
        async with PostgresTaskWriter(conn=conn) as writer:
            refreshed += len(await refresh_priorities(writer, ids, today=today))
        after = ids[-1]
    return refreshed


async def run_timers_once(pool: asyncpg.Pool, settings: Settings, *, today: dt.date,
                          now: dt.datetime | None = None, force_expiry: bool = False) -> TimerPass:
    """One pass, when this process gets the timer lock (else `leader` is False and nothing ran)."""
    result = TimerPass()
    now = now or dt.datetime.now(dt.UTC)
    async with leader_connection(pool, TIMER_LOCK_KEY, timeout=settings.db_connect_timeout_s * 2) as conn:
        if conn is None:
            return result
        result.leader = True
        if force_expiry or await _expiry_due(conn, settings, now):
            result.expiry_ran = True
            result.expired = await _expire(conn, today, now)
        result.refreshed = await _refresh(conn, today)
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
