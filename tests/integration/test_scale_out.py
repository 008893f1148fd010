"""Scale-out: two `denials worker` processes in one consumer group split the 12 partitions of the input topic and
process the stream between them, each event exactly once."""

from __future__ import annotations

import asyncio
import re
import urllib.request

import asyncpg
import pytest

from tests.support.invariants import check_invariants
from tests.support.ports import eventually
from tests.support.stack import private_stack
from tests.support.workload import REMITTANCE_TOPIC, publish_records, remittance_stream


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with private_stack(tmp_path_factory.mktemp("scale"), "scale") as s:
        yield s


def consumed(worker) -> float:
    """The worker's own count of remittance records handled, from its /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{worker.port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    pattern = rf'denials_events_consumed_total{{topic="{re.escape(REMITTANCE_TOPIC)}"}} ([0-9.e+]+)'
    match = re.search(pattern, text)
    return float(match.group(1)) if match else 0.0


async def test_two_workers_split_the_partitions_and_process_each_event_once(stack, fleet, run_id):
    pool = await asyncpg.create_pool(stack.direct_database_url, min_size=1, max_size=2)
    try:
        one = await fleet.start(f"scale-a-{run_id}")
        two = await fleet.start(f"scale-b-{run_id}")

        async def both_assigned() -> bool:
            states = [await asyncio.to_thread(w.ready_state) for w in (one, two)]
            return all(s and s.get("assigned") for s in states)

        await eventually(both_assigned, timeout=90, message="both workers to own partitions")

        async def split_between_them() -> bool:
            # each worker's /ready names what it holds: together every input partition, none twice
            held = [[p for p in (await asyncio.to_thread(w.ready_state) or {}).get("partitions", [])
                     if p.startswith(REMITTANCE_TOPIC + ":")] for w in (one, two)]
            return all(held) and sorted(held[0] + held[1]) == sorted(f"{REMITTANCE_TOPIC}:{p}" for p in range(12))

        await eventually(split_between_them, timeout=60, message="the 12 input partitions split between the two")
        stream = remittance_stream(run_id, claims=600, per_claim=5, tag="so")
        await publish_records(stack.bootstrap, stream.records)
        report = await check_invariants(pool, stack.bootstrap, stream.records, claim_prefix=stream.claim_prefix)
        counts = [await asyncio.to_thread(consumed, w) for w in (one, two)]
        assert all(c > 0 for c in counts), f"each worker must have processed part of the stream: {counts}"
        assert sum(counts) >= len(stream.records), counts
        partitions = {p.partition for p in stream.records}
        assert len(partitions) == 12, "the stream covers all 12 partitions"
        print(f"\nscale-out: consumed per worker={counts} {report.line()}")
    finally:
        await pool.close()
