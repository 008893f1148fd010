"""The labelled corpus (corpus/ at the repository root) must pass 100 %, and the evaluation must catch a wrong
expectation (so this test can fail)."""

import copy
import tomllib
from pathlib import Path

import pytest

from service.domain.classification import load_classifier
from service.domain.classification.evaluation import (
    ScenarioError,
    evaluate,
    scenario_from_dict,
    scenarios_from_documents,
)

CORPUS = Path(__file__).resolve().parents[3] / "corpus"


def documents():
    return [(p.name, tomllib.loads(p.read_text(encoding="utf-8"))) for p in sorted(CORPUS.glob("*.toml"))]


def test_corpus_has_at_least_150_scenarios_covering_every_category_and_conflict():
    scenarios = scenarios_from_documents(documents())
    assert len(scenarios) >= 150
    categories = {s.expect.get("category") for s in scenarios}
    assert {"authorization", "medical_necessity", "coding", "bundling", "eligibility", "coordination_of_benefits",
            "timely_filing", "duplicate", "missing_information", "documentation", "frequency_limit", "non_covered",
            "provider_enrollment", "pricing", "unclassified", "patient_responsibility", "contractual",
            "informational"} <= categories
    assert all(s.ref and s.scenario and s.why for s in scenarios)


def test_corpus_passes_100_percent():
    report = evaluate(load_classifier(), scenarios_from_documents(documents()))
    assert report.passed == report.total, report.render()


def test_a_wrong_expectation_is_reported_with_its_confusion_pair():
    raw = copy.deepcopy(next(c for _, doc in documents() for c in doc["case"] if c["id"] == "auth-01"))
    raw["expect"]["category"] = "eligibility"
    report = evaluate(load_classifier(), [scenario_from_dict(raw)])
    assert report.passed == 0
    assert report.confusion("category") == {("eligibility", "authorization"): 1}
    assert "auth-01" in report.render()


def test_a_malformed_case_names_the_case_and_field():
    with pytest.raises(ScenarioError, match="case bad-1.expect.action"):
        scenario_from_dict({"id": "bad-1", "ref": "x", "scenario": "s", "why": "w",
                            "expect": {"category": "coding", "action": "fix_it"}})
    with pytest.raises(ScenarioError, match="used twice"):
        case = {"id": "c", "ref": "x", "scenario": "s", "why": "w", "lines": [{"code": "62323", "adj": ["CO-4"]}],
                "expect": {"category": "coding", "action": "corrected_claim"}}
        scenarios_from_documents([("a.toml", {"case": [case, case]})])
