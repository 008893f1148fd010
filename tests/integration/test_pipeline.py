"""End to end through the real broker and PostgreSQL: remittance in, decision + task + follow-up out."""

from __future__ import annotations

import json

from tests.support import events
from tests.support.kafka import publish, publish_json, read_json
from tests.support.ports import eventually


async def _followups(stack, topic: str, claim_id: str) -> list[dict]:
    return [r for r in await read_json(stack.bootstrap, topic) if r["claim_id"] == claim_id]


async def test_co197_on_64483_opens_an_authorization_task_and_emits_an_authorization_followup(
        stack, worker, db, run_id):
    claim_id = f"PC-{run_id}"
    await publish_json(stack.bootstrap, "claims.remittance.v1", [events.remittance(f"rm-{run_id}", claim_id)])

    decision = await eventually(lambda: db.fetchrow(
        "SELECT category, is_denial, action, queue, rule_id, explanation FROM decisions WHERE claim_id = $1",
        claim_id), message="the decision row")
    assert decision["category"] == "authorization"
    assert decision["is_denial"] is True
    assert decision["rule_id"] and decision["explanation"]

    tasks = await db.fetch("SELECT queue, state, category FROM appeal_tasks WHERE claim_id = $1", claim_id)
    assert [(t["queue"], t["state"], t["category"]) for t in tasks] == [("authorization", "open", "authorization")]

    followups = await eventually(lambda: _followups(stack, "followups.authorization.v1", claim_id),
                                 message="the authorization follow-up on the broker")
    assert len(followups) == 1
    assert followups[0]["causation_id"] == f"rm-{run_id}"
    assert followups[0]["payer"]["id"] == "BCBS-TX"


async def test_the_same_event_published_twice_yields_one_task_and_one_set_of_followups(stack, worker, db, run_id):
    claim_id = f"PC-{run_id}"
    event = events.remittance(f"rm-{run_id}", claim_id)
    await publish_json(stack.bootstrap, "claims.remittance.v1", [event, event])
    # a marker after the duplicates on the same partition (same key): once it is applied, both copies were seen
    marker = events.remittance(f"rm-{run_id}-marker", claim_id, occurred_at="2026-03-03T10:00:00Z",
                               trace_number=f"EFT-{run_id}-marker")
    await publish_json(stack.bootstrap, "claims.remittance.v1", [marker])
    await eventually(lambda: db.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", f"rm-{run_id}-marker"),
                     message="the marker event")
    assert await db.fetchval("SELECT count(*) FROM appeal_tasks WHERE claim_id = $1", claim_id) == 1
    assert await db.fetchval("SELECT count(*) FROM decisions WHERE event_id = $1", f"rm-{run_id}") == 1
    await eventually(lambda: db.fetchval("SELECT count(*) = 0 FROM outbox_pending"),
                     message="the relay to drain the outbox")
    followups = await _followups(stack, "followups.authorization.v1", claim_id)
    assert len(followups) == 1
    classified = [r for r in await read_json(stack.bootstrap, "denials.classified.v1")
                  if r["causation_id"] == f"rm-{run_id}"]
    assert len(classified) == 1


async def test_bad_records_become_dead_letters_and_the_next_valid_record_is_processed(stack, worker, db, run_id):
    claim_id = f"PC-{run_id}"
    key = claim_id.encode()
    bad_schema = events.remittance(f"rm-{run_id}-bad", claim_id)
    del bad_schema["claim"]["total_paid"]
    bad_schema["claim"]["total_charge"] = "SECRET-CHARGE"
    good = events.remittance(f"rm-{run_id}-good", claim_id)
    await publish(stack.bootstrap, "claims.remittance.v1", [
        (key, b"this is not json {"), (key, json.dumps(bad_schema).encode()), (key, json.dumps(good).encode())])

    await eventually(lambda: db.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", f"rm-{run_id}-good"),
                     message="the valid record after the bad ones")
    letters = await db.fetch(
        "SELECT error_class, reason, value, key FROM dead_letters WHERE key = $1 ORDER BY source_offset", key)
    assert [x["error_class"] for x in letters] == ["not_json", "schema_violation"]
    assert letters[0]["value"] == b"this is not json {"
    assert "claim.total_paid" in letters[1]["reason"] and "claim.total_charge" in letters[1]["reason"]
    assert "SECRET-CHARGE" not in letters[1]["reason"]

    on_topic = await eventually(
        lambda: _dead_letters_for(stack, key), message="the dead letters on deadletter.v1")
    assert sorted(x["error_class"] for x in on_topic) == ["not_json", "schema_violation"]
    assert all(x["source_topic"] == "claims.remittance.v1" for x in on_topic)
    by_class = {x["error_class"]: x for x in on_topic}
    assert by_class["schema_violation"]["source_event_id"] == f"rm-{run_id}-bad"
    assert by_class["not_json"]["value_size"] == len(b"this is not json {")
    assert by_class["not_json"]["value_digest"].startswith("sha256:") and by_class["not_json"]["reason"]

    # one path to the broker: each letter went out through the outbox (the relay), under its letter id
    queued = await db.fetch(
        """SELECT o.event_id, o.topic, p.id IS NOT NULL AS pending FROM outbox o
           LEFT JOIN outbox_pending p ON p.id = o.id WHERE o.event_id = ANY($1::text[])""",
        [x["event_id"] for x in on_topic])
    assert sorted((r["topic"], r["pending"]) for r in queued) == [("deadletter.v1", False)] * 2


async def _dead_letters_for(stack, key: bytes) -> list[dict]:
    import base64

    return [r for r in await read_json(stack.bootstrap, "deadletter.v1")
            if r.get("key_b64") and base64.b64decode(r["key_b64"]) == key] or []
