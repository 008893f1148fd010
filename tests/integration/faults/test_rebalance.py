"""Two workers in one consumer group, with rebalances mid-stream: a second worker joins, the first stops, a third
joins. Partitions move between processes while batches are in flight; nothing is lost or applied twice."""

from __future__ import annotations

import asyncio
import signal

from tests.support.fleet import until_applied
from tests.support.invariants import check_invariants
from tests.support.ports import eventually
from tests.support.workload import chunks, publish_records, remittance_stream


async def both_assigned(*workers) -> bool:
    states = [await asyncio.to_thread(w.ready_state) for w in workers]
    return all(s is not None and s.get("assigned") for s in states)


def _assigned_count(worker) -> int:
    return worker.log_path.read_text(errors="replace").count('"partitions.assigned"')


async def test_workers_joining_and_leaving_the_group_mid_stream_lose_and_repeat_nothing(stack, db, fleet, run_id):
    stream = remittance_stream(run_id, claims=600, per_claim=5, tag="rb")
    ids = sorted(stream.event_ids)
    one, two, three = chunks(stream.records, 0.35, 0.7)
    first = await fleet.start(f"rb-a-{run_id}")
    await publish_records(stack.bootstrap, one)
    await until_applied(db, ids, len(ids) // 10, "the first worker under way")

    second = await fleet.start(f"rb-b-{run_id}")  # joins: the group rebalances, both own partitions
    await publish_records(stack.bootstrap, two)
    await until_applied(db, ids, len(ids) * 45 // 100, "both workers under way")
    await eventually(lambda: both_assigned(first, second), timeout=60, message="both workers to own partitions")

    assert await fleet.stop(first, signal.SIGTERM) == 0  # leaves: its partitions move to the second
    third = await fleet.start(f"rb-c-{run_id}")  # joins: another rebalance
    await publish_records(stack.bootstrap, three)

    report = await check_invariants(db, stack.bootstrap, stream.records, claim_prefix=stream.claim_prefix)
    assignments = {w.log_path.name: _assigned_count(w) for w in (first, second, third)}
    assert assignments[second.log_path.name] >= 2, "the second worker must have been through a rebalance"
    print(f"\nrebalance: assignments={assignments} {report.line()}")
