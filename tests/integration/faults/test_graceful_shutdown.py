"""SIGTERM and SIGINT stop intake, drain the batches in flight within DENIALS_SHUTDOWN_DRAIN_S, commit and exit 0.
Across clean restarts no event is lost or processed twice: what the group committed is exactly what was applied."""

from __future__ import annotations

import signal
import time

import pytest

from service.config import Settings
from tests.support.fleet import applied, committed_offsets, not_ready_for, until_applied
from tests.support.invariants import check_invariants, dead_letters_at
from tests.support.ports import eventually
from tests.support.workload import REMITTANCE_TOPIC, Published, publish_records, remittance_stream

DRAIN_S = 20
BATCH_MAX = Settings.model_fields["batch_max"].default  # the most one batch given up can hold (the workers here
# run with the default DENIALS_BATCH_MAX)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_stop_signal_mid_stream_drains_commits_exits_0_and_a_restart_repeats_nothing(
        sig, stack, db, fleet, run_id):
    stream = remittance_stream(run_id, claims=500, per_claim=5, tag="sd")
    ids = sorted(stream.event_ids)
    worker = await fleet.start(f"sd-a-{run_id}", DENIALS_SHUTDOWN_DRAIN_S=str(DRAIN_S))
    await publish_records(stack.bootstrap, stream.records)
    await until_applied(db, ids, len(ids) // 4, "a quarter of the stream applied")

    started = time.monotonic()
    code = await fleet.stop(worker, sig, timeout=DRAIN_S + 40)
    took = time.monotonic() - started
    assert code == 0, worker.tail()
    assert took < DRAIN_S + 30, f"shutdown took {took:.1f}s"
    assert '"drained": true' in worker.log_path.read_text(), "the batches in flight must finish before the stop"
    stopped_at = await applied(db, ids)
    assert stopped_at < len(ids), "the signal must arrive mid-stream"
    _, below = await _check_exact(db, stack, stream.records)

    again = await fleet.start(f"sd-b-{run_id}", DENIALS_SHUTDOWN_DRAIN_S=str(DRAIN_S))
    report = await check_invariants(db, stack.bootstrap, stream.records, claim_prefix=stream.claim_prefix)
    assert await fleet.stop(again, sig, timeout=DRAIN_S + 40) == 0, again.tail()
    final, _ = await _check_exact(db, stack, stream.records)
    ends = {}
    for p in stream.records:
        ends[p.partition] = max(ends.get(p.partition, -1), p.offset + 1)
    assert all(final[p] == end for p, end in ends.items()), "a clean stop must commit everything it applied"
    assert report.redelivered_on_broker == 0, "a clean stop must finish the relay's batch, not leave it to be resent"
    print(f"\n{sig.name}: shutdown_s={took:.1f} applied_at_stop={stopped_at} committed_below={below} {report.line()}")


async def _check_exact(db, stack, records: list[Published], *, given_up_batch: bool = False
                       ) -> tuple[dict[int, int], int]:
    """What the group committed against what was applied or dead-lettered. After a clean stop they are equal.

    `given_up_batch`: the stop came while a batch was retrying against a PostgreSQL outage and was given up unacked.
    Its effects may still be on file without its offsets committed: its dead letters (stored, idempotently, before
    its events are applied) and, when the cut fell between COMMIT reaching PostgreSQL and the reply, its events.
    The restart redelivers that batch and the inbox / dead-letter ids make it a no-op (check_invariants proves it).
    What must still hold exactly is the other side: every record below the committed offsets was applied or
    dead-lettered (nothing committed is lost), and nothing beyond one batch was done uncommitted."""
    committed = await committed_offsets(stack.bootstrap, stack.app_id, REMITTANCE_TOPIC)
    below = [p for p in records if p.offset < committed.get(p.partition, -1)]
    ids = sorted({p.event_id for p in records if p.valid})
    inbox = {(r["topic"], r["partition"], r["offset"]) for r in await db.fetch(
        'SELECT topic, "partition", "offset" FROM inbox WHERE event_id = ANY($1::text[])', ids)}
    bad = [p for p in records if not p.valid]
    lettered = {(r["source_topic"], r["source_partition"], r["source_offset"]) for r in await dead_letters_at(db, bad)}
    committed_valid = {p.position for p in below if p.valid}
    committed_bad = {p.position for p in below if not p.valid}
    if not given_up_batch:
        assert inbox == committed_valid, \
            "applied events and committed offsets disagree: a restart would lose or reprocess events"
        assert lettered == committed_bad, "dead letters and committed offsets disagree"
        return committed, len(below)
    assert committed_valid <= inbox, "offsets committed for events never applied: they are lost"
    assert committed_bad <= lettered, "offsets committed for malformed records never dead-lettered: they are lost"
    uncommitted = (inbox - committed_valid) | (lettered - committed_bad)
    assert len(uncommitted) <= BATCH_MAX, \
        f"{len(uncommitted)} records done beyond the committed offsets: more than the one batch given up"
    return committed, len(below)


async def test_a_stop_signal_during_a_postgres_outage_gives_up_the_stuck_batch_in_time_and_loses_nothing(
        stack, db, fleet, run_id):
    drain_s = 5
    stream = remittance_stream(run_id, claims=500, per_claim=5, tag="sdpg")
    ids = sorted(stream.event_ids)
    worker = await fleet.start(f"sdpg-a-{run_id}", DENIALS_SHUTDOWN_DRAIN_S=str(drain_s))
    await publish_records(stack.bootstrap, stream.records)
    await until_applied(db, ids, len(ids) // 5, "a fifth of the stream applied")
    stack.pg_proxy.cut()
    try:
        await eventually(lambda: not_ready_for(worker, "paused_by_failure", True), timeout=60,
                         message="a batch retrying against the outage")
        started = time.monotonic()
        code = await fleet.stop(worker, signal.SIGTERM, timeout=drain_s + 60)
        took = time.monotonic() - started
    finally:
        stack.pg_proxy.restore()
    assert code == 0, worker.tail()
    assert took < drain_s + 20, f"shutdown took {took:.1f}s with a {drain_s}s drain deadline"
    _, below = await _check_exact(db, stack, stream.records, given_up_batch=True)

    await fleet.start(f"sdpg-b-{run_id}")
    report = await check_invariants(db, stack.bootstrap, stream.records, claim_prefix=stream.claim_prefix)
    print(f"\nSIGTERM during outage: shutdown_s={took:.1f} committed_below={below} {report.line()}")
