"""The same events published twice (in the same batch and long after), and claims whose events arrive in reverse
event-time order (the contract allows a late, older remittance after a newer one on the claim's partition)."""

from __future__ import annotations

import copy
import json
import random
from collections import defaultdict

from tests.support.invariants import check_invariants
from tests.support.workload import Published, Stream, publish_records, remittance_stream


def reversed_per_claim(stream: Stream) -> list[Published]:
    """Each claim's events in reverse event time, in the slots the claim had in the interleaved stream."""
    slots: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(stream.records):
        slots[record.claim_id].append(i)
    out = list(stream.records)
    for indexes in slots.values():
        for slot, source in zip(indexes, reversed(indexes), strict=True):
            out[slot] = stream.records[source]
    return out


def twice(records: list[Published], rng: random.Random) -> list[Published]:
    """Every valid event a second time: a fifth right behind the first copy (the same batch), the rest later."""
    out, later = [], []
    for record in records:
        out.append(record)
        if record.valid:
            copy_ = copy.copy(record)
            (out if rng.random() < 0.2 else later).append(copy_)
    return out + later


async def test_events_published_twice_and_claims_arriving_in_reverse_order_apply_once_and_newest_wins(
        stack, db, fleet, run_id):
    rng = random.Random(11)
    in_order = remittance_stream(f"{run_id}o", claims=400, per_claim=4, tag="dpo", seed=5)
    reordered = remittance_stream(f"{run_id}r", claims=400, per_claim=4, tag="dpr", seed=5)
    records = twice(in_order.records, rng) + twice(reversed_per_claim(reordered), rng)
    await fleet.start(f"dup-{run_id}")
    await publish_records(stack.bootstrap, records)

    report = await check_invariants(db, stack.bootstrap, records, claim_prefix=f"FC-{run_id}",
                                    tasks_complete_for=in_order.claim_prefix)

    # Newest wins: every reordered claim ends in the state its newest event set, as its in-order twin does.
    rows = await db.fetch("SELECT claim_id, state, state_at, last_event_at FROM claims WHERE claim_id LIKE $1",
                          f"FC-{run_id}%")
    by_id = {r["claim_id"]: r for r in rows}
    newest = defaultdict(str)
    for record in reordered.valid:
        at = json.loads(record.value)["occurred_at"]
        newest[record.claim_id] = max(newest[record.claim_id], at)
    mismatched = []
    for c in range(400):
        ordered, late = by_id[f"{in_order.claim_prefix}{c}"], by_id[f"{reordered.claim_prefix}{c}"]
        assert late["state_at"].strftime("%Y-%m-%dT%H:%M:%SZ") == newest[f"{reordered.claim_prefix}{c}"]
        if (ordered["state"], ordered["state_at"], ordered["last_event_at"]) != \
                (late["state"], late["state_at"], late["last_event_at"]):
            mismatched.append((c, ordered["state"], late["state"]))
    assert not mismatched, f"reordered claims ended elsewhere than their in-order twins: {mismatched[:5]}"
    # The work queue is the same whatever the arrival order: the same open tasks (a late, older denial of a line a
    # newer remittance paid opens none; in order, that task opened and was closed as won).
    open_work = defaultdict(lambda: (set(), set()))
    open_tasks = await db.fetch("SELECT claim_id, category, amount_at_risk FROM appeal_tasks WHERE claim_id LIKE $1 "
                                "AND state IN ('open', 'in_progress', 'submitted')", f"FC-{run_id}%")
    for t in open_tasks:
        number = t["claim_id"].rsplit("-", 1)[1]
        open_work[number][t["claim_id"].startswith(reordered.claim_prefix)].add((t["category"], t["amount_at_risk"]))
    differ = [n for n, (ordered_open, late_open) in open_work.items() if ordered_open != late_open]
    assert not differ, f"{len(differ)} reordered claims have other open tasks than their twins: {differ[:5]}"
    opened = sum(len(v[1]) for v in open_work.values())
    copies = len(records) - len(in_order.records) - len(reordered.records)
    print(f"\nduplicates+reordering: duplicate_copies={copies} reordered_claims=400 open_tasks_per_side={opened} "
          f"{report.line()}")
