"""The relay dies between the broker's acknowledgement and marking the rows sent (failpoint
`relay.after_produce`): the rows are published again after the restart; consumers dedupe by event_id."""

from __future__ import annotations

import asyncio

from service.failpoints import FAILPOINT_EXIT_CODE
from tests.support.invariants import check_invariants
from tests.support.ports import eventually
from tests.support.workload import publish_records, remittance_stream


async def test_a_relay_killed_between_producing_and_marking_sent_republishes_and_loses_nothing(
        stack, db, fleet, run_id):
    stream = remittance_stream(run_id, claims=500, per_claim=5, tag="rl")
    # Die on the relay's 4th batch: mid-stream, with earlier batches already marked sent.
    victim = await fleet.start(f"relay-a-{run_id}", DENIALS_FAILPOINTS="relay.after_produce:exit@4",
                               DENIALS_RELAY_BATCH="200")
    await publish_records(stack.bootstrap, stream.records)
    code = await eventually(lambda: asyncio.to_thread(victim.proc.poll), timeout=180,
                            message="the worker to die at the failpoint")
    assert code == FAILPOINT_EXIT_CODE, victim.tail()
    produced_unmarked = await db.fetchval(
        "SELECT count(*) FROM outbox o JOIN outbox_pending p ON p.id = o.id WHERE o.causation_id = ANY($1::text[])",
        sorted(stream.event_ids))
    assert produced_unmarked > 0

    await fleet.start(f"relay-b-{run_id}")
    report = await check_invariants(db, stack.bootstrap, stream.records, claim_prefix=stream.claim_prefix)
    assert report.redelivered_on_broker > 0, "the batch produced before the crash must have been published again"
    print(f"\nrelay crash: unsent_at_crash={produced_unmarked} {report.line()}")
