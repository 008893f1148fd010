"""PostgreSQL unreachable mid-stream (TCP proxy cut) for longer than one retry: nothing lost, nothing skipped,
no dead letters, everything committed once it returns."""

from __future__ import annotations

import asyncio

from tests.support import events
from tests.support.kafka import publish_json
from tests.support.ports import eventually


async def test_a_postgres_outage_mid_stream_loses_nothing_and_dead_letters_nothing(stack, worker, db, run_id):
    n = 300
    stream = [events.remittance(f"rm-{run_id}-{i}", f"PC-{run_id}-{i % 40}", trace_number=f"EFT-{run_id}-{i}",
                                occurred_at=f"2026-03-02T{10 + i // 60:02d}:{i % 60:02d}:00Z")
              for i in range(n)]
    dead_before = await db.fetchval("SELECT count(*) FROM dead_letters")
    await publish_json(stack.bootstrap, "claims.remittance.v1", stream[:100])
    await eventually(lambda: _applied(db, run_id), message="the first events to be applied", timeout=60)

    stack.pg_proxy.cut()
    try:
        await publish_json(stack.bootstrap, "claims.remittance.v1", stream[100:])
        # the worker notices and reports not-ready while it retries
        state = await eventually(lambda: asyncio.to_thread(_not_ready, worker), timeout=30,
                                 message="/ready to report the outage")
        assert state["ready"] is False
        await asyncio.sleep(2.5)  # longer than several retries (DENIALS_RETRY_MAX_S=1): the outage must outlast them
    finally:
        stack.pg_proxy.restore()

    await eventually(lambda: _all_applied(db, run_id, n), timeout=120, message=f"all {n} events applied")
    assert await db.fetchval("SELECT count(*) FROM dead_letters") == dead_before
    assert await db.fetchval("SELECT count(*) FROM decisions WHERE event_id LIKE $1", f"rm-{run_id}-%") == n
    # one task per claim (same payer, same cause), never duplicated
    assert await db.fetchval(
        "SELECT count(*) FROM appeal_tasks WHERE claim_id LIKE $1", f"PC-{run_id}-%") == 40
    await eventually(lambda: asyncio.to_thread(lambda: (worker.ready() or {}).get("ready")), timeout=30,
                     message="/ready to recover")


async def _applied(db, run_id: str) -> int:
    return await db.fetchval("SELECT count(*) FROM inbox WHERE event_id LIKE $1", f"rm-{run_id}-%")


async def _all_applied(db, run_id: str, n: int) -> bool:
    return await _applied(db, run_id) == n


def _not_ready(worker) -> dict | None:
    state = worker.ready_state()
    return state if state and state.get("ready") is False else None
