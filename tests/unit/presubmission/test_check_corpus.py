"""The check corpus (tests/check_corpus/): an 837P with a claim that breaks each rule and a clean control for each;
`denials check` must find exactly the expected rules on every claim and nothing on the controls."""

from __future__ import annotations

import json
import tomllib
from collections import defaultdict

import pytest
from typer.testing import CliRunner

from service.domain.presubmission import load_checker
from service.entrypoints.cli import app
from tests.check_corpus import write_claims

CORPUS = write_claims.HERE
FILES = ["--auths", str(CORPUS / "authorizations.csv"), "--ncci", str(CORPUS / "ptp.txt"),
         "--ncci", str(CORPUS / "mue.csv")]


@pytest.fixture(scope="module")
def expected() -> dict[str, dict]:
    return {c["id"]: c for c in tomllib.loads((CORPUS / "expected.toml").read_text())["claim"]}


@pytest.fixture(scope="module")
def checked() -> tuple[int, dict[str, list[dict]], str]:
    result = CliRunner().invoke(app, ["check", str(CORPUS / "claims.837"), "--history", "input", *FILES])
    found = defaultdict(list)
    for line in result.stdout.splitlines():
        finding = json.loads(line)
        found[finding["claim_id"]].append(finding)
    return result.exit_code, found, result.stderr


def test_the_committed_corpus_is_what_its_writer_writes():
    assert (CORPUS / "claims.837").read_text() == write_claims.render()
    assert (CORPUS / "expected.toml").read_text() == write_claims.expected()


def test_every_check_rule_has_a_flagged_claim_in_the_corpus_and_every_flagged_claim_a_control(expected):
    flagged = {rule for c in expected.values() for rule in c["rules"]}
    assert flagged == set(load_checker().rules.rules)
    assert sum(1 for c in expected.values() if not c["rules"]) >= len(flagged)


def test_the_check_finds_each_rule_on_its_claim_and_nothing_on_the_controls(checked, expected):
    exit_code, found, stderr = checked
    assert exit_code == 1, stderr
    assert set(found) <= set(expected)
    for claim_id, case in expected.items():
        rules = sorted({f["rule_id"] for f in found.get(claim_id, [])})
        warnings = sorted({f["rule_id"] for f in found.get(claim_id, []) if f["severity"] == "warn"})
        assert (rules, warnings) == (sorted(case["rules"]), sorted(case["warn"])), (claim_id, case["why"],
                                                                                    found.get(claim_id))


def test_every_finding_carries_the_fields_of_the_contract(checked):
    _, found, stderr = checked
    categories = {f["category"] for fs in found.values() for f in fs}
    for finding in (f for fs in found.values() for f in fs):
        assert set(finding) == {"claim_id", "line_id", "rule_id", "category", "severity", "message", "fix"}
        assert finding["severity"] in ("deny", "warn") and finding["message"] and finding["fix"]
    assert {"authorization", "medical_necessity", "coding", "bundling", "timely_filing", "duplicate",
            "frequency_limit", "missing_information"} <= categories
    assert "history from the input only (--history input)" in stderr
