"""A worker killed with SIGKILL in the middle of a stream, three times, and restarted each time.

Each kill comes while the worker is busy with a backlog, just after the group committed offsets (the second one after
another batch was applied too, so applied work is not yet committed: it comes back and must be skipped). At each
kill, whatever the group had committed must have been applied (or dead-lettered): no member will ever read it again.
In the end nothing is lost or applied twice."""

from __future__ import annotations

from tests.support.fleet import applied, applied_beyond, at_least, committed_not_done, committed_offsets
from tests.support.invariants import check_invariants
from tests.support.ports import eventually
from tests.support.workload import REMITTANCE_TOPIC, publish_records, remittance_stream


async def test_a_worker_killed_mid_stream_and_restarted_loses_nothing_and_applies_nothing_twice(
        stack, db, fleet, run_id):
    # big enough that the third kill still comes mid-stream on a fast worker (each kill waits for a commit): at 1,200
    # claims an idle machine applied the whole backlog before the second kill could see one more batch after a commit
    stream = remittance_stream(run_id, claims=2400, per_claim=5)
    ids = sorted(stream.event_ids)
    await publish_records(stack.bootstrap, stream.records)  # a backlog: every worker below starts busy
    kills = []
    for round_ in range(3):
        before = await committed_offsets(stack.bootstrap, stack.app_id, REMITTANCE_TOPIC)
        victim = await fleet.start(f"kill-{round_}-{run_id}")
        await eventually(lambda n=len(ids) * (round_ + 1) // 6: at_least(db, ids, n), timeout=180, interval=0.02,
                         message="progress")

        async def committed_more(before=before):
            now = await committed_offsets(stack.bootstrap, stack.app_id, REMITTANCE_TOPIC)
            return now if sum(now.values()) > sum(before.values()) else None

        await eventually(committed_more, timeout=120, interval=0.05, message="the group to commit")
        if round_ == 1:
            # This time one more batch applied after the commit, so the kill leaves applied work the group has not
            # committed: it comes back to the next worker, which must skip it (the other kills come right after a
            # commit, while the batch it may have covered is still in flight).
            n = await applied(db, ids)
            await eventually(lambda n=n: at_least(db, ids, n + 1), timeout=120, interval=0.01, message="more progress")
        victim.kill()
        at_kill = await applied(db, ids)
        committed = await committed_offsets(stack.bootstrap, stack.app_id, REMITTANCE_TOPIC)
        lost = await committed_not_done(db, stream.records, committed, REMITTANCE_TOPIC)
        assert not lost, f"kill {round_}: {len(lost)} records committed by the group but never applied: {lost[:5]}"
        kills.append((at_kill, await applied_beyond(db, ids, committed, REMITTANCE_TOPIC)))
    assert kills[-1][0] < len(ids), "the last kill must come mid-stream"
    assert kills[1][1] > 0, "the second kill must leave applied work uncommitted (redelivered later)"

    await fleet.start(f"kill-last-{run_id}")
    report = await check_invariants(db, stack.bootstrap, stream.records, claim_prefix=stream.claim_prefix)
    print(f"\nsigkill x3: (applied, applied_not_committed) at each kill={kills} {report.line()}")
