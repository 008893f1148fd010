"""No PHI in logs or dead-letter reasons: names, member ids, account numbers and invalid values never appear; the
patient identifiers the store keeps are encrypted and reach no log, metric, output event or timeline flag."""

from __future__ import annotations

import asyncio
import json
import urllib.request

from tests.support import events
from tests.support.kafka import publish
from tests.support.ports import eventually


def _read(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.read().decode()


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


async def test_patient_identifiers_are_stored_encrypted_and_never_reach_logs_metrics_events_or_errors(
        stack, worker, db, run_id):
    claim_id = f"ACCT-{run_id}-ENC"
    name, member, birth = f"ZANZIBAR, {run_id.upper()}", f"MBI{run_id[:8].upper()}", "1944-02-29"
    patient = {"member_id": member, "patient_ref": f"MRN-{run_id}-ENC", "name": name, "birth_date": birth}
    sub = events.submitted(f"st-{run_id}-enc", claim_id)
    sub["claim"]["patient"] = dict(patient)
    denied = events.remittance(f"rm-{run_id}-enc", claim_id, patient=dict(patient), lines=[events.line(
        "1", "64483", ["RT"], charge=1200.00, paid=0.00, remarks=["N115"],
        adjustments=[{"group": "CO", "reason": "50", "amount": 1200.00}])])
    broken = events.remittance(f"rm-{run_id}-enc-bad", claim_id, patient=dict(patient))
    broken["claim"]["lines"][0]["charge"] = "not-money"
    key = claim_id.encode()
    await publish(stack.bootstrap, "claims.status.v1", [(key, json.dumps(sub).encode())])
    await eventually(lambda: db.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", f"st-{run_id}-enc"),
                     message="the submission")
    await publish(stack.bootstrap, "claims.remittance.v1", [(key, json.dumps(broken).encode()),
                                                            (key, json.dumps(denied).encode())])
    await eventually(lambda: db.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", f"rm-{run_id}-enc"),
                     message="the remittance")

    row = await db.fetchrow("SELECT * FROM claim_identifiers WHERE claim_id = $1", claim_id)
    assert row is not None and row["member_id_enc"] is not None  # stored, for the letters
    secrets = (name, member, birth)
    stored = b"".join(bytes(row[c]) for c in ("name_enc", "member_id_enc", "birth_date_enc"))
    flags = " ".join(str(r["summary"]) for r in await db.fetch(
        "SELECT summary FROM claim_events WHERE claim_id = $1", claim_id))
    outbox = b"".join(bytes(r["payload"]) for r in await db.fetch(
        "SELECT payload FROM outbox WHERE key = $1", key))
    reasons = " ".join(r["reason"] for r in await db.fetch("SELECT reason FROM dead_letters WHERE key = $1", key))
    metrics = await asyncio.to_thread(_read, f"http://127.0.0.1:{worker.port}/metrics")
    logs = worker.log_path.read_text()
    assert reasons  # the broken record was dead-lettered (its reason is checked below)
    for secret in secrets:
        assert secret.encode() not in stored, "a clear identifier in claim_identifiers"
        for where, text in (("logs", logs), ("metrics", metrics), ("timeline flags", flags),
                            ("dead-letter reasons", reasons)):
            assert secret not in text, f"{secret!r} leaked into the {where}"
        assert secret.encode() not in outbox, f"{secret!r} leaked into an output event"
