"""Claim-status semantics in the service, from real 277/277CA files on x12.inbound.v1: a rejection opens a
fix-and-resubmit task in billing and a corrected-claim follow-up; P3 opens a records task with its due date and a
records-request follow-up; F2 marks the claim denied; records above claim level are stored as batch statuses."""

from __future__ import annotations

from tests.support.kafka import publish, read_json
from tests.support.ports import eventually
from tests.support.samples import sample_path


def sample(name: str) -> bytes:
    return sample_path(name).read_bytes()


async def test_a_277ca_rejection_opens_a_billing_task_and_a_corrected_claim_followup(stack, worker, db):
    await publish(stack.bootstrap, "x12.inbound.v1", [(b"277ca-rejected", sample("x12_277CA_rejected.277"))])
    claim_id = "3920394930203"
    task = await eventually(lambda: db.fetchrow(
        "SELECT queue, state, category, action FROM appeal_tasks WHERE claim_id = $1", claim_id),
        timeout=60, message="the rejection task")
    assert (task["queue"], task["state"], task["action"]) == ("billing", "open", "new_claim")
    assert await db.fetchval("SELECT state FROM claims WHERE claim_id = $1", claim_id) == "rejected"
    assert await db.fetchval("SELECT count(*) FROM batch_statuses WHERE event_id LIKE 'x12-EMEDNYBAT-%'") >= 1
    followups = await eventually(lambda: _for(stack, "followups.corrected-claim.v1", claim_id), timeout=30,
                                 message="the corrected-claim follow-up")
    assert followups[0]["details"]["status_category"] == "A7"
    assert followups[0]["details"]["bucket"] == "rejected"


async def test_a_277_information_request_and_a_denial_drive_the_claims(stack, worker, db):
    await publish(stack.bootstrap, "x12.inbound.v1", [(b"277-claim-level", sample("tr3-claim-level-status.277"))])
    records = await eventually(lambda: db.fetchrow(
        "SELECT queue, action, deadline FROM appeal_tasks WHERE claim_id = 'SM123456'"), timeout=60,
        message="the records task")
    assert records["action"] == "submit_records" and records["deadline"] is not None
    assert await eventually(lambda: _for(stack, "followups.records-request.v1", "SM123456"), timeout=30,
                            message="the records-request follow-up")
    assert await db.fetchval("SELECT state FROM claims WHERE claim_id = 'MA345678'") == "denied"


async def _for(stack, topic: str, claim_id: str) -> list[dict]:
    return [r for r in await read_json(stack.bootstrap, topic) if r["claim_id"] == claim_id]
