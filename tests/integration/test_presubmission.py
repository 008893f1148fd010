"""The pre-submission check against a real worker, broker, API and PostgreSQL.

The check corpus (tests/check_corpus/, namespaced per test run) is imported the way a practice would: the CMS tables
with `denials ncci import`, its authorizations with `denials auths import`, its claims with `denials ingest` through
the worker. `denials check` on the 837P and `POST /api/check` on each of its claims then give the same findings, each
the rule the corpus expects; the register answers a CO-197 with the authorization number; prevention feedback
enabled through the API becomes a check rule; the dashboard's outcomes count the claims checked.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import subprocess
import tomllib
from pathlib import Path

from tests.check_corpus import write_claims
from tests.integration.test_api_support import running_api
from tests.support import events
from tests.support.kafka import publish_json
from tests.support.ports import eventually
from tests.support.worker import denials_command

CORPUS = write_claims.HERE


def _namespaced(run_id: str, tmp_path: Path) -> tuple[Path, dict[str, Path], dict[str, dict]]:
    """The corpus with this run's claim ids, member ids and interchange control number."""
    control = f"{random.randint(100_000_000, 999_999_999)}"

    def rename(text: str) -> str:
        return (text.replace("CHKM", f"CHKM{run_id}").replace("CHK-", f"CHK{run_id}-")
                .replace("000008001", control).replace("*8001*", f"*{control[-4:]}*").replace("GE*1*8001",
                                                                                               f"GE*1*{control[-4:]}"))

    claims = tmp_path / "claims.837"
    claims.write_text(rename((CORPUS / "claims.837").read_text()))
    files = {}
    for name in ("authorizations.csv", "ptp.txt", "mue.csv"):
        files[name] = tmp_path / name
        files[name].write_text(rename((CORPUS / name).read_text()))
    expected = {rename(c["id"]): c for c in tomllib.loads((CORPUS / "expected.toml").read_text())["claim"]}
    return claims, files, expected


async def _denials(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return await asyncio.to_thread(subprocess.run, [denials_command(), *args], capture_output=True, text=True,
                                   timeout=180, env=env, input=stdin)


def _key(finding: dict) -> tuple:
    return (finding["claim_id"], finding["line_id"], finding["rule_id"], finding["category"], finding["severity"],
            finding["message"], finding["fix"])


async def test_denials_check_and_post_api_check_give_the_corpus_findings(stack, worker, db, run_id, tmp_path):
    claims, files, expected = _namespaced(run_id, tmp_path)
    env = {**worker.env, "DATABASE_URL": stack.direct_database_url, "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap}
    imported = await _denials(env, "ncci", "import", str(files["ptp.txt"]), str(files["mue.csv"]))
    assert imported.returncode == 0, imported.stderr
    assert "procedure-to-procedure edits imported" in imported.stdout and "MUE values imported" in imported.stdout
    auths = await _denials(env, "auths", "import", str(files["authorizations.csv"]))
    assert auths.returncode == 0, auths.stderr
    member = f"CHKM{run_id}28"
    assert member not in auths.stdout + auths.stderr
    assert await db.fetchval("SELECT count(*) FROM authorizations WHERE member_digest = $1", member) == 0
    ingested = await _denials(env, "ingest", str(claims))
    assert ingested.returncode == 0, ingested.stderr
    await eventually(lambda: db.fetchval(
        "SELECT count(*) = $2 FROM claims WHERE claim_id LIKE $1 AND submission IS NOT NULL",
        f"CHK{run_id}-%", len(expected)), timeout=90, message="the corpus claims stored by the worker")

    cli = await _denials(env, "check", str(claims), "--history", "database")
    assert cli.returncode == 1, cli.stderr
    assert "from PostgreSQL (DATABASE_URL)" in cli.stderr
    by_cli = [json.loads(line) for line in cli.stdout.splitlines()]

    dry_run = await _denials(env, "ingest", "--dry-run", str(claims))
    submitted = [json.loads(line)["value"] for line in dry_run.stdout.splitlines()]
    by_api = []
    async with running_api(stack.direct_database_url) as api:
        token = await api.token(f"billing-{run_id}", ["billing"])
        for event in submitted:
            status, body = await api.call("POST", "/api/check", token=token, body=event)
            assert status == 200, body
            assert body["claim_id"] == event["claim"]["claim_id"] and body["history"] == "database"
            by_api += body["findings"]
        status, outcomes = await api.call("GET", "/api/check/outcomes", token=token)
    assert sorted(map(_key, by_api)) == sorted(map(_key, by_cli))

    found: dict[str, set[str]] = {}
    for finding in by_cli:
        found.setdefault(finding["claim_id"], set()).add(finding["rule_id"])
    for claim_id, case in expected.items():
        assert found.get(claim_id, set()) == set(case["rules"]), (claim_id, case["why"])
    # with the practice's whole history read, an ablation without blocks on file is a denial, not a question
    prerequisite = next(f for f in by_cli if f["rule_id"] == "history.prerequisite")
    assert prerequisite["severity"] == "deny"

    assert status == 200
    rows = await db.fetch("SELECT outcome, origin FROM check_outcomes WHERE claim_id LIKE $1", f"CHK{run_id}-%")
    assert len(rows) == len(expected) and {r["origin"] for r in rows} == {"api"}
    # the prerequisite finding is a warning only when the history is the input's
    flagged = sum(1 for c in expected.values() if set(c["rules"]) - (set(c["warn"]) - {"history.prerequisite"}))
    assert sum(1 for r in rows if r["outcome"] == "flagged") == flagged
    assert outcomes["flagged"]["claims"] >= flagged and outcomes["passed"]["claims"] >= len(expected) - flagged


async def test_a_co_197_on_a_line_an_authorization_on_file_covers_asks_for_a_corrected_claim(
        stack, worker, db, run_id):
    payer = {"id": f"PAY-{run_id}", "name": "Test plan", "type": "commercial"}
    member = f"W{run_id}"
    async with running_api(stack.direct_database_url) as api:
        token = await api.token(f"auth-{run_id}", ["authorization"])
        body = {"payer": payer["id"], "member": member, "auth_number": f"PA-{run_id}", "cpt_or_family": "esi",
                "side": "right", "valid_from": "2026-01-01", "valid_to": "2026-06-30"}
        status, created = await api.call("POST", "/api/authorizations", token=token, body=body)
        assert status == 201, created
        assert member not in json.dumps(created) and created["scope"] == "esi"
        again, _ = await api.call("POST", "/api/authorizations", token=token, body=body)
        assert again == 200
        billing = await api.token(f"billing-{run_id}", ["billing"])
        refused, _ = await api.call("POST", "/api/authorizations", token=billing, body=body)
        assert refused == 403
    stored = await db.fetch("SELECT * FROM authorizations WHERE payer_id = $1", payer["id"])
    assert len(stored) == 1 and member not in json.dumps([dict(r) for r in stored], default=str)

    claim_id = f"PC-{run_id}"
    await publish_json(stack.bootstrap, "claims.remittance.v1", [events.remittance(
        f"rm-{run_id}", claim_id, payer=payer, patient={"member_id": member, "patient_ref": f"MRN-{run_id}"})])
    rule = await eventually(lambda: db.fetchval("SELECT rule_id FROM decisions WHERE claim_id = $1", claim_id),
                            timeout=60, message="the CO-197 classified")
    assert rule == "auth.on_file"
    task = await db.fetchrow("SELECT action, explanation FROM appeal_tasks WHERE claim_id = $1", claim_id)
    assert task["action"] == "corrected_claim"
    assert f"authorization on file: corrected claim with REF*G1 PA-{run_id}" in task["explanation"]


async def test_prevention_feedback_enabled_through_the_api_becomes_a_check_rule(stack, worker, db, run_id):
    payer = {"id": f"MCR-{run_id}", "name": "Test Medicare", "type": "medicare"}
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    denied = [events.line("1", "64483", ["RT"], charge=1200.00, paid=0.00,
                          adjustments=[{"group": "CO", "reason": "197", "amount": 1200.00}])]
    await publish_json(stack.bootstrap, "claims.remittance.v1", [
        events.remittance(f"rm-{run_id}-{n}", f"PV-{run_id}-{n}", payer=payer, lines=denied,
                          occurred_at=(now - dt.timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                          trace_number=f"EFT-{run_id}-{n}") for n in (1, 2, 3)])
    await eventually(lambda: db.fetchval("SELECT count(DISTINCT event_id) = 3 FROM decisions WHERE payer_id = $1",
                                         payer["id"]), timeout=60, message="three CO-197 denials")
    key = f"{payer['id']}:64483:no_prior_authorization"
    claim = events.submitted(f"st-{run_id}", f"NEW-{run_id}", payer=payer,
                             occurred_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    async with running_api(stack.direct_database_url) as api:
        billing = await api.token(f"billing-{run_id}", ["billing"])
        status, before = await api.call("POST", "/api/check", token=billing, body=claim)
        assert status == 200 and not [f for f in before["findings"] if f["rule_id"].startswith("prevention.")]
        coding = await api.token(f"coding-{run_id}", ["coding"])
        refused, _ = await api.call("POST", "/api/check/rules", token=coding, body={"key": key})
        assert refused == 403
        missing, _ = await api.call("POST", "/api/check/rules", token=billing, body={"key": f"{key}x"})
        assert missing == 404
        status, enabled = await api.call("POST", "/api/check/rules", token=billing, body={"key": key})
        assert status == 201, enabled
        assert enabled["rule_id"] == "prevention.no_prior_authorization"
        status, rules = await api.call("GET", "/api/check/rules", token=billing)
        assert key in {r["key"] for r in rules["prevention"]}
        status, after = await api.call("POST", "/api/check", token=billing, body=claim)
        (finding,) = [f for f in after["findings"] if f["rule_id"] == "prevention.no_prior_authorization"]
        assert finding["severity"] == "deny" and "3 denials" in finding["message"]
        gone, _ = await api.call("DELETE", f"/api/check/rules/{key}", token=billing)
        assert gone == 204
