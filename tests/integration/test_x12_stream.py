"""X12 through the stream: `denials ingest` publishes an 835's events; raw interchanges on x12.inbound.v1 are parsed
by the agent (in an executor); a re-sent file under new control numbers is recorded as a duplicate; garbage is a dead
letter and the partition keeps moving."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess

from service.x12 import synthetic
from tests.support.kafka import publish
from tests.support.ports import eventually
from tests.support.worker import denials_command


def remittance_for(run_id: str, trace: str) -> synthetic.Remittance:
    base = synthetic.pain_management_remittance()
    claims = tuple(dataclasses.replace(c, claim_id=f"{c.claim_id}-{run_id}") for c in base.claims)
    plb = tuple(dataclasses.replace(p, reference=f"{p.reference}") for p in base.provider_adjustments)
    return dataclasses.replace(base, claims=claims, provider_adjustments=plb, trace_number=trace,
                               payer_id=f"SYN-{run_id}")


async def test_denials_ingest_publishes_the_835_and_the_worker_classifies_it(stack, worker, db, run_id, tmp_path):
    path = tmp_path / "pain.835"
    path.write_bytes(synthetic.render(remittance_for(run_id, f"EFT-{run_id}"), control_number=101))
    result = await asyncio.to_thread(
        subprocess.run, [denials_command(), "ingest", str(path)], capture_output=True, text=True, timeout=120,
        env={**worker.env, "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap})
    assert result.returncode == 0, result.stderr
    claim_ids = [f"PM-100{i}-{run_id}" for i in range(1, 6)]
    await eventually(lambda: db.fetchval("SELECT count(DISTINCT claim_id) FROM remittances WHERE claim_id = ANY($1)",
                                         claim_ids), timeout=60, message="the 835's claims in the store")
    categories = {r["category"] for r in await db.fetch(
        "SELECT category FROM decisions WHERE claim_id = ANY($1) AND is_denial", claim_ids)}
    # 64493-LT without KX on a diagnostic facet block: CO-50 is explained as a modifier (coding) error
    assert {"authorization", "bundling", "coding", "duplicate"} <= categories
    reversal = await db.fetchval(
        "SELECT count(*) FROM remittances WHERE claim_id = $1 AND status_code = '22'", f"PM-1004-{run_id}")
    assert reversal == 1


async def test_raw_interchanges_on_x12_inbound_are_parsed_and_a_resent_file_is_a_duplicate(stack, worker, db, run_id):
    remit = remittance_for(run_id, f"EFT-{run_id}")
    first = synthetic.render(remit, control_number=201)
    resent = synthetic.render(remit, control_number=202)  # same business content, new control numbers
    await publish(stack.bootstrap, "x12.inbound.v1", [(b"ich-201", first), (b"ich-202", resent)])
    claim_ids = [f"PM-100{i}-{run_id}" for i in range(1, 6)]
    # 6 CLP loops (one reversal + re-adjudication of PM-1004) per file; the second file's are all duplicates
    await eventually(lambda: _count(db, claim_ids, 12), timeout=60, message="12 remittance rows")
    originals = await db.fetchval(
        "SELECT count(*) FROM remittances WHERE claim_id = ANY($1) AND duplicate_of IS NULL", claim_ids)
    duplicates = await db.fetchval(
        "SELECT count(*) FROM remittances WHERE claim_id = ANY($1) AND duplicate_of IS NOT NULL", claim_ids)
    assert (originals, duplicates) == (6, 6)
    tasks = await db.fetchval("SELECT count(*) FROM appeal_tasks WHERE claim_id = ANY($1)", claim_ids)
    decisions = await db.fetchval("SELECT count(*) FROM decisions WHERE claim_id = ANY($1)", claim_ids)
    assert tasks > 0 and decisions == sum(len(line.adjustments) for c in remit.claims for line in c.lines)


async def _count(db, claim_ids, n) -> bool:
    return await db.fetchval("SELECT count(*) FROM remittances WHERE claim_id = ANY($1)", claim_ids) == n


async def test_x12_garbage_is_a_dead_letter_and_the_next_interchange_is_applied(stack, worker, db, run_id):
    key = f"ich-garbage-{run_id}".encode()
    good = synthetic.render(remittance_for(run_id, f"EFT-G-{run_id}"), control_number=301)
    truncated = good[: len(good) // 2]
    await publish(stack.bootstrap, "x12.inbound.v1", [
        (key, b"ISA*this is not an interchange"), (key, truncated), (key, good)])
    claim_ids = [f"PM-100{i}-{run_id}" for i in range(1, 6)]
    await eventually(lambda: db.fetchval("SELECT count(*) FROM remittances WHERE claim_id = ANY($1)", claim_ids),
                     timeout=60, message="the valid interchange after the garbage")
    letters = await db.fetch("SELECT error_class, reason, value FROM dead_letters WHERE key = $1 "
                             "ORDER BY source_offset", key)
    assert len(letters) == 2
    assert all(x["error_class"].startswith("x12") for x in letters)
    assert letters[1]["value"] == truncated  # the original bytes are kept for replay
