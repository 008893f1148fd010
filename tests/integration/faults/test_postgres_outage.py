"""PostgreSQL unreachable in the middle of a stream (its TCP proxy cut), for longer than several retries."""

from __future__ import annotations

import asyncio

from tests.support.fleet import alive, applied, is_ready, not_ready, until_applied
from tests.support.invariants import check_invariants
from tests.support.ports import eventually
from tests.support.workload import chunks, publish_records, remittance_stream

OUTAGE_S = 8  # several times DENIALS_RETRY_MAX_S (1 s) and longer than the command timeout (5 s)


async def test_postgres_unreachable_mid_stream_pauses_reports_not_ready_and_resumes_without_loss(
        stack, db, fleet, run_id):
    stream = remittance_stream(run_id, claims=600, per_claim=5, tag="pg")
    ids = sorted(stream.event_ids)
    first, rest = chunks(stream.records, 0.5)
    worker = await fleet.start(f"pg-{run_id}")
    await publish_records(stack.bootstrap, first)
    await until_applied(db, ids, len(ids) // 5, "a fifth of the stream applied")

    stack.pg_proxy.cut()
    try:
        await publish_records(stack.bootstrap, rest)
        state = await eventually(lambda: not_ready(worker), timeout=60, message="/ready to report the outage")
        assert state["database"] is False or state["paused_by_failure"] is True or state["relay_healthy"] is False
        frozen = await applied(db, ids)
        await asyncio.sleep(OUTAGE_S)  # hold the outage open (a chosen duration, not a wait for a condition)
        assert await applied(db, ids) == frozen, "nothing can commit while PostgreSQL is unreachable"
        assert worker.proc.poll() is None and await alive(worker), "the worker stays up and answers /health"
        assert (await not_ready(worker)) is not None, "still not ready during the outage"
    finally:
        stack.pg_proxy.restore()

    await eventually(lambda: is_ready(worker), timeout=120, message="/ready after PostgreSQL returns")
    assert frozen < len(ids), "the outage must interrupt the stream"
    report = await check_invariants(db, stack.bootstrap, stream.records, claim_prefix=stream.claim_prefix)
    print(f"\npostgres outage: applied_before_outage={frozen} {report.line()}")
