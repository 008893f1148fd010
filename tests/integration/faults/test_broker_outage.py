"""The broker unreachable for a while (its TCP proxy cut; the broker advertises the proxy's address, so every
client connection goes through it) and back: the consumers, the producers and the relay all recover."""

from __future__ import annotations

import asyncio

from tests.support.fleet import alive, applied, is_ready, not_ready, until_applied
from tests.support.invariants import check_invariants
from tests.support.ports import eventually
from tests.support.workload import chunks, publish_records, remittance_stream

# Longer than the session timeout (6 s: the coordinator gives the member up) and than the producers' request timeout
# (15 s: produce requests in flight fail, and the relay must retry them rather than mark them sent).
OUTAGE_S = 25


async def test_the_broker_unreachable_mid_stream_then_back_consumers_producers_and_relay_recover(
        stack, db, fleet, run_id):
    stream = remittance_stream(run_id, claims=600, per_claim=5, tag="bk")
    ids = sorted(stream.event_ids)
    first, rest = chunks(stream.records, 0.6)
    worker = await fleet.start(f"broker-{run_id}")
    await publish_records(stack.bootstrap, first)
    await until_applied(db, ids, len(ids) // 5, "a fifth of the stream applied")

    stack.broker_proxy.cut()
    try:
        cut_at = await applied(db, ids)
        state = await eventually(lambda: not_ready(worker), timeout=60, message="/ready to report the outage")
        await asyncio.sleep(OUTAGE_S)  # hold the outage open (a chosen duration, not a wait for a condition)
        assert worker.proc.poll() is None and await alive(worker), "the worker stays up and answers /health"
        assert (await not_ready(worker)) is not None, "still not ready during the outage"
        unsent = await db.fetchval(
            "SELECT count(*) FROM outbox o JOIN outbox_pending p ON p.id = o.id WHERE o.causation_id = ANY($1::text[])",
            ids)
    finally:
        stack.broker_proxy.restore()

    await publish_records(stack.bootstrap, rest)  # producers elsewhere carry on once the broker is back
    await eventually(lambda: is_ready(worker), timeout=120, message="/ready after the broker returns")
    # Per-claim order of first deliveries is not asserted here: a produce request cut in flight was once (1 claim of
    # 600, 1 run in 5) followed on the broker by a later record of the same claim before its own retry landed.
    # On Apache Kafka the relay's idempotent producer (DENIALS_PRODUCER_IDEMPOTENCE, on in docker-compose.yml)
    # prevents that; the local broker cannot grant producer ids. At least once, exactly once after dedupe, is
    # asserted.
    report = await check_invariants(db, stack.bootstrap, stream.records, claim_prefix=stream.claim_prefix,
                                    check_order=False)
    print(f"\nbroker outage: applied_at_cut={cut_at} unsent_outbox_during_outage={unsent} "
          f"ready_during={state} {report.line()}")
