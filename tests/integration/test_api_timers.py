"""The leader-only task timers with an injected "today": expiry past every clock (once, idempotent, audited,
published), one leader at a time (advisory lock), priority refresh of new, changed and nearing tasks, the claim
lock respected. Each test has a private database: a timer pass touches every task of its database."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest

from service.adapters.task_timers import TIMER_LOCK_KEY, run_task_timers, run_timers_once
from tests.integration.test_api_support import TODAY, open_pool, private_database, seed_task, settings_for
from tests.support.ports import eventually


@pytest.fixture
async def db_pool(stack):
    async with private_database(stack.direct_database_url) as url:
        settings = settings_for(url, task_expiry_interval_s=3600, task_timer_interval_s=0.2)
        pool = await open_pool(url, settings)
        try:
            yield pool, settings
        finally:
            await pool.close()


def day(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


async def _state(pool, task_id: str) -> str:
    return await pool.fetchval("SELECT state FROM appeal_tasks WHERE task_id = $1", task_id)


async def test_tasks_past_every_clock_expire_once_with_an_audit_row_and_an_event(db_pool):
    pool, settings = db_pool
    later = day(100)
    past = await seed_task(pool, "PC-t-past", deadline=day(10))
    filing_left = await seed_task(pool, "PC-t-filing", deadline=day(10), filing_deadline=day(200))
    working = await seed_task(pool, "PC-t-working", state="in_progress", deadline=day(5), filing_deadline=day(9))
    submitted = await seed_task(pool, "PC-t-submitted", state="submitted", deadline=day(5))
    no_clock = await seed_task(pool, "PC-t-noclock")
    won = await seed_task(pool, "PC-t-won", state="won", deadline=day(5))
    await pool.execute("UPDATE appeal_tasks SET assignee = 'a/b', lease_expires_at = now() + interval '1 hour' "
                       "WHERE task_id = $1", working)

    first = await run_timers_once(pool, settings, today=later)
    assert (first.leader, first.expiry_ran, first.expired) == (True, True, 2)
    assert {tid: await _state(pool, tid) for tid in (past, filing_left, working, submitted, no_clock, won)} == {
        past: "expired", filing_left: "open", working: "expired", submitted: "submitted", no_clock: "open",
        won: "won"}
    assert await pool.fetchval("SELECT lease_expires_at FROM appeal_tasks WHERE task_id = $1", working) is None

    audit = await pool.fetch("SELECT * FROM task_events ORDER BY id")
    assert [(a["task_id"], a["actor"], a["change"], a["from_state"], a["to_state"]) for a in audit] == sorted(
        [(past, "system:deadline-timer", "closed", "open", "expired"),
         (working, "system:deadline-timer", "closed", "in_progress", "expired")])
    assert all(a["note"].startswith("every deadline has passed") and "PC-" not in a["note"] for a in audit)
    events = [json.loads(r["payload"]) for r in await pool.fetch("SELECT payload FROM outbox ORDER BY id")]
    assert sorted((e["task"]["task_id"], e["change"], e["task"]["state"]) for e in events) == sorted(
        [(past, "closed", "expired"), (working, "closed", "expired")])

    # again the same day: not due (ran within the interval); forced: finds nothing left to do
    again = await run_timers_once(pool, settings, today=later)
    assert (again.leader, again.expiry_ran, again.expired) == (True, False, 0)
    forced = await run_timers_once(pool, settings, today=later, force_expiry=True)
    assert (forced.expiry_ran, forced.expired) == (True, 0)
    assert await pool.fetchval("SELECT count(*) FROM task_events") == 2
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 2
    # due again once the interval has passed since the recorded run (whichever worker leads then)
    an_hour_on = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=settings.task_expiry_interval_s + 1)
    assert (await run_timers_once(pool, settings, today=day(101), now=an_hour_on)).expiry_ran


async def test_one_leader_at_a_time(db_pool):
    pool, settings = db_pool
    ids = [await seed_task(pool, f"PC-lead-{i}", deadline=day(1)) for i in range(12)]
    async with pool.acquire() as other:
        await other.execute("SELECT pg_advisory_lock($1)", TIMER_LOCK_KEY)
        blocked = await run_timers_once(pool, settings, today=day(30), force_expiry=True)
        assert (blocked.leader, blocked.expired) == (False, 0)
        await other.execute("SELECT pg_advisory_unlock($1)", TIMER_LOCK_KEY)
    passes = await asyncio.gather(*(run_timers_once(pool, settings, today=day(30), force_expiry=True)
                                    for _ in range(4)))
    assert sum(p.expired for p in passes) == len(ids)
    assert await pool.fetchval("SELECT count(*) FROM task_events WHERE to_state = 'expired'") == len(ids)
    assert await pool.fetchval("SELECT count(DISTINCT event_id) FROM outbox") == len(ids)


async def test_priorities_are_scored_when_new_or_changed_and_raised_near_the_deadline(db_pool):
    pool, settings = db_pool
    task_id = await seed_task(pool, "PC-prio", amount="1000.00", recoverability=0.5, deadline=day(30))
    closed = await seed_task(pool, "PC-prio-closed", state="won", deadline=day(30))

    async def prio():
        return await pool.fetchrow("SELECT priority, priority_parts FROM appeal_tasks WHERE task_id = $1", task_id)

    first = await run_timers_once(pool, settings, today=TODAY)
    assert first.refreshed == 1
    row = await prio()
    parts = row["priority_parts"] if isinstance(row["priority_parts"], dict) else json.loads(row["priority_parts"])
    assert row["priority"] > 0 and parts["as_of"] == TODAY.isoformat() and parts["days_left"] == 30
    assert not parts["near_deadline"] and parts["expected_recovery"] == "500.00"
    assert await pool.fetchval("SELECT priority_parts = '{}'::jsonb FROM appeal_tasks WHERE task_id = $1", closed)

    assert (await run_timers_once(pool, settings, today=TODAY)).refreshed == 0  # nothing stale
    await pool.execute("UPDATE appeal_tasks SET amount_at_risk = 3000 WHERE task_id = $1", task_id)  # the stream
    assert (await run_timers_once(pool, settings, today=TODAY)).refreshed == 1
    raised = await prio()
    assert raised["priority"] > row["priority"]

    near = await run_timers_once(pool, settings, today=day(20))
    assert near.refreshed == 1
    nearer = await prio()
    parts = nearer["priority_parts"]
    parts = parts if isinstance(parts, dict) else json.loads(parts)
    assert parts["near_deadline"] and parts["days_left"] == 10 and nearer["priority"] > raised["priority"] * 1.5
    # a derived sort key: no audit rows, no events
    assert await pool.fetchval("SELECT count(*) FROM task_events") == 0
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0


async def test_the_timer_waits_for_the_claim_lock(db_pool):
    pool, settings = db_pool
    task_id = await seed_task(pool, "PC-locked", deadline=day(1))
    async with pool.acquire() as holder:
        tx = holder.transaction()
        await tx.start()
        await holder.execute("SELECT 1 FROM claims WHERE claim_id = 'PC-locked' FOR UPDATE")
        timer = asyncio.create_task(run_timers_once(pool, settings, today=day(10)))
        done, _ = await asyncio.wait({timer}, timeout=1.0)
        assert not done and await _state(pool, task_id) == "open"
        await holder.execute("UPDATE appeal_tasks SET state = 'submitted' WHERE task_id = $1", task_id)
        await tx.commit()
    result = await asyncio.wait_for(timer, 10)
    # re-checked under the lock: the writer moved it to submitted, which does not expire
    assert result.expired == 0 and await _state(pool, task_id) == "submitted"


async def test_the_timer_loop_runs_passes_until_stopped(db_pool):
    pool, settings = db_pool
    task_id = await seed_task(pool, "PC-loop", deadline=day(1))
    stop = asyncio.Event()
    enabled = settings.model_copy(update={"task_timers_enabled": True})
    loop = asyncio.create_task(run_task_timers(pool, enabled, stop, today=lambda: day(5)))
    await eventually(lambda: _is(pool, task_id, "expired"), timeout=10, message="the timer loop to expire the task")
    stop.set()
    await asyncio.wait_for(loop, 5)

    disabled = settings.model_copy(update={"task_timers_enabled": False})
    await asyncio.wait_for(run_task_timers(pool, disabled, asyncio.Event()), 1)  # returns at once


async def _is(pool, task_id: str, state: str) -> bool:
    return await _state(pool, task_id) == state
