"""DESIGN invariant 7: the same set of events gives the same final state whatever the interleaving across topics and
partitions. Generated claim histories (hypothesis) are published to a real worker in several interleavings of the
claim-status and remittance topics, each phase applied before the next, and the final tasks, claim states, decisions
and follow-ups are compared by business key (the run's ids stripped), never by generated ids."""

from __future__ import annotations

import json

from bench.interleavings import differences, final_state
from tests.support.interleaving import phases, publish_in_phases, records_for, stories, without_prefix
from tests.support.strategies import examples

ORDERS = ("status_first", "remittances_first", "shuffled")


async def test_generated_histories_end_in_the_same_state_whatever_the_interleaving(stack, db, fleet, run_id):
    await fleet.start(f"order-{run_id}")
    cases = examples(stories, 3)
    compared = 0
    for n, story in enumerate(cases):
        states = {}
        for how in ORDERS:
            prefix = f"IL{run_id}{n}{how[:2]}"
            records = records_for(story, prefix)
            await publish_in_phases(stack.bootstrap, db, phases(records, how, seed=n))
            states[how] = without_prefix(await final_state(db, prefix), prefix)
        reference = states[ORDERS[0]]
        assert reference["tasks"], f"example {n} opened no task: it would prove nothing"
        for how in ORDERS[1:]:
            assert states[how] == reference, (
                f"example {n} ({json.dumps([p.__dict__ for p in story])}) ends elsewhere when {how}: "
                f"{json.dumps(differences(reference, states[how]), default=str)[:3000]}")
        compared += len(story)
    print(f"\ninterleavings: {len(cases)} examples, {compared} claims, orders {', '.join(ORDERS)}: same final state")
