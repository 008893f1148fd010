"""No PHI in logs or dead-letter reasons: names, member ids, account numbers and invalid values never appear."""

from __future__ import annotations

import json

from tests.support import events
from tests.support.kafka import publish
from tests.support.ports import eventually

NAME = "QUIXOTE, ZEBEDIAH"
MEMBER = "MBRX7731904Q"
MRN = "MRN-55190-PHI"
BAD_VALUE = "9999-INVALID-DOLLARS-PHI"


async def test_names_member_ids_account_numbers_and_bad_values_never_reach_logs_or_dead_letters(
        stack, worker, db, run_id):
    claim_id = f"ACCT-{run_id}-PHI"
    patient = {"member_id": MEMBER, "patient_ref": MRN, "name": NAME, "birth_date": "1950-01-01"}
    good = events.remittance(f"rm-{run_id}-ok", claim_id, patient=dict(patient))
    bad = events.remittance(f"rm-{run_id}-bad", claim_id, patient=dict(patient))
    bad["claim"]["total_paid"] = BAD_VALUE
    bad["claim"]["patient"]["birth_date"] = f"{NAME}"
    worse = {"claim": {"claim_id": claim_id, "patient": dict(patient)}, "note": NAME}
    key = claim_id.encode()
    await publish(stack.bootstrap, "claims.remittance.v1", [
        (key, json.dumps(bad).encode()), (key, json.dumps(worse).encode()), (key, json.dumps(good).encode())])
    await eventually(lambda: db.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", f"rm-{run_id}-ok"),
                     message="the valid event")
    reasons = [r["reason"] for r in await db.fetch("SELECT reason FROM dead_letters WHERE key = $1", key)]
    assert len(reasons) == 2
    logs = worker.log_path.read_text()
    assert logs.count("event.dead_lettered") >= 2  # the log is written, and it covers these records
    for secret in (NAME, MEMBER, MRN, BAD_VALUE, claim_id, "1950-01-01"):
        assert secret not in logs, f"{secret!r} leaked into the worker log"
        for reason in reasons:
            assert secret not in reason, f"{secret!r} leaked into a dead-letter reason"
