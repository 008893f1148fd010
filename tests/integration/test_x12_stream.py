"""X12 through the stream: `denials ingest` publishes an 835's events; raw interchanges on x12.inbound.v1 are parsed
by the agent (in an executor); a re-sent file under new control numbers is recorded as a duplicate; garbage is a dead
letter and the partition keeps moving."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
from pathlib import Path

from service.x12 import synthetic
from tests.integration.test_api_support import running_api
from tests.support.kafka import publish
from tests.support.ports import eventually
from tests.support.worker import denials_command

DEFECTS = Path(__file__).resolve().parents[1] / "x12_defects"


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


async def test_two_patients_under_one_clp01_stay_two_claims_in_the_store_and_the_api(stack, worker, db):
    """tests/x12_defects/07: one CLP01 for three patients is three claims all the way through, each flagged."""
    data = (DEFECTS / "07-shared-clp01-three-patients.835").read_bytes()
    await publish(stack.bootstrap, "x12.inbound.v1", [(b"ich-shared-clp01", data)])
    ids = ["7722", "7722~p624f1224", "7722~p6aaebc74"]
    async def all_five() -> bool:
        return await db.fetchval("SELECT count(*) FROM remittances WHERE claim_id = ANY($1)", ids) == 5

    await eventually(all_five, timeout=60, message="the five remittances of the shared CLP01")
    per_claim = {r["claim_id"]: r["n"] for r in await db.fetch(
        "SELECT claim_id, count(*) AS n FROM remittances WHERE claim_id = ANY($1) GROUP BY claim_id", ids)}
    assert per_claim == {"7722": 3, "7722~p624f1224": 1, "7722~p6aaebc74": 1}
    patients = await db.fetchval("SELECT count(DISTINCT patient_key) FROM claims WHERE claim_id = ANY($1)", ids)
    assert patients == 3
    async with running_api(stack.direct_database_url) as api:
        token = await api.token("x12-review", ["billing"], supervisor=True, user="lead")
        async with api.session.get(f"{api.base}/api/claims/7722~p624f1224",
                                   headers={"Authorization": f"Bearer {token}"}) as resp:
            assert resp.status == 200, await resp.text()
            claim = await resp.json()
    (entry,) = [e for e in claim["timeline"] if e["kind"] == "remittance"]
    assert any("shared by 3 patients" in flag for flag in entry["summary"]["data_quality"])


async def test_a_277_rfai_opens_records_work_that_carries_what_the_payer_asked_for(stack, worker, db):
    """tests/x12_defects/22: the request's LOINC codes, due date and control number reach the task and the
    records-request follow-up."""
    data = (DEFECTS / "22-277-rfai-records-request.277").read_bytes()
    await publish(stack.bootstrap, "x12.inbound.v1", [(b"ich-rfai", data)])
    async def records_work() -> bool:
        return bool(await db.fetchval("SELECT count(*) FROM outbox WHERE topic = 'followups.records-request.v1' "
                                      "AND key = $1", b"HCP-6201"))

    await eventually(records_work, timeout=60, message="the records-request follow-up of the RFAI")
    task = await db.fetchrow("SELECT action, deadline FROM appeal_tasks WHERE claim_id = 'HCP-6201'")
    assert task["action"] == "submit_records" and task["deadline"].isoformat() == "2026-04-09"
    payload = await db.fetchval("SELECT payload FROM outbox WHERE topic = 'followups.records-request.v1' "
                                "AND key = $1", b"HCP-6201")
    followup = json.loads(payload)
    assert followup["due_date"] == "2026-04-09"
    details = followup["details"]
    assert details["payer_control_number"] == "RQ-8812004"
    assert [item["code"] for item in details["requested"]] == ["18748-4", "11506-3", "18842-5"]
