"""X12 garbage on `x12.inbound.v1`: not X12 at all, a truncated interchange, random segments. Each is one dead letter
with a value-free reason; the agent keeps running and a good interchange published behind them on the same
partition is applied (its claims' remittances are in the inbox)."""

from __future__ import annotations

from service import x12
from service.x12.synthetic import pain_management_remittance, render
from tests.support.fleet import is_ready
from tests.support.ports import eventually
from tests.support.strategies import examples, x12_garbage
from tests.support.workload import Published, publish_records
from topics.catalogue import X12_INBOUND


async def test_x12_garbage_is_dead_lettered_and_a_good_interchange_behind_it_is_applied(stack, db, fleet, run_id):
    good = render(pain_management_remittance())
    good = good if isinstance(good, bytes) else good.encode()
    expected = [e.event_id for e in x12.parse_bytes(good).events]
    key = f"ISA-{run_id}".encode()  # one key: one partition, garbage first, then the good interchange
    garbage = [g for g in examples(x12_garbage, 12) if g] + [good[: len(good) // 2], b"ISA*" + b"*" * 200]
    records = [Published(X12_INBOUND, key, raw, None, False) for raw in garbage]
    records.append(Published(X12_INBOUND, key, good, None, True))

    worker = await fleet.start(f"x12-{run_id}")
    await publish_records(stack.bootstrap, records)
    await eventually(lambda: db.fetchval("SELECT count(*) = $2 FROM inbox WHERE event_id = ANY($1::text[])",
                                         expected, len(expected)), timeout=120,
                     message="the good interchange's events applied")
    letters = await db.fetch("SELECT source_offset, error_class, reason FROM dead_letters WHERE key = $1 "
                             "ORDER BY source_offset", key)
    assert [r["source_offset"] for r in letters] == [r.offset for r in records[:-1]], "one letter per bad record"
    assert {r["error_class"] for r in letters} <= {"x12_file_invalid", "x12_record_invalid"}
    assert all(r["reason"] and b"*" * 20 not in r["reason"].encode() for r in letters)
    assert worker.proc.poll() is None
    await eventually(lambda: is_ready(worker), timeout=60, message="the worker still ready")
