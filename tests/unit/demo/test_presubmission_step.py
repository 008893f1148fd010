"""The demo's pre-submission step, without services: the claims it checks and what the practice knows."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

from service.demo.presubmission import clinic_payers, first_submissions
from service.demo.stream import build_stream


def test_each_claim_is_checked_once_as_first_sent_in_the_order_sent():
    stream = build_stream(120, 21, "demo-test")
    subs = first_submissions(stream)
    assert len({s.claim_id for s in subs}) == len(subs) == stream.claims
    assert all(s.frequency_code == "1" for s in subs)
    assert [s.occurred_at for s in subs] == sorted(s.occurred_at for s in subs)


def test_the_practice_knows_each_payers_authorization_list():
    payers = clinic_payers()
    assert payers["BCBS-TX"]["authorization"] == ["esi", "facet", "rfa", "scs"]
    assert payers["MCR-JH"]["authorization"] == []


def test_the_register_holds_the_authorizations_whose_number_never_reached_the_claim():
    stream = build_stream(500, 21, "demo-test")
    assert stream.scenarios.get("auth_not_on_claim", 0) > 0
    assert len(stream.authorizations) > stream.scenarios["auth_not_on_claim"]
    assert all("member" not in repr(a).lower() for a in stream.authorizations)


def test_each_register_row_names_its_visits_own_procedure_for_one_session_issued_shortly_before_it():
    from service.demo.presubmission import AUTH_ISSUED_BEFORE, register_rows

    stream = build_stream(300, 21, "demo-test")
    rows = register_rows(stream, lambda member: "digest")
    assert rows and all(r.sessions == 1 for r in rows)
    groups = {"esi", "facet", "rfa", "si", "scs"}
    assert not {r.scope for r in rows} & groups  # a group would cover another procedure of the group
    assert {"scs_trial", "scs_implant"} >= {r.scope for r in rows if r.scope.startswith("scs")}
    by_number = {a.auth_number: a for a in stream.authorizations}
    assert all(r.valid_from == by_number[r.auth_number].service_date - AUTH_ISSUED_BEFORE for r in rows)


def _outcome(claim_id, *findings):
    from service.domain.presubmission import Finding, outcome_of

    found = tuple(Finding(claim_id, line, rule, category, "deny", "m", "f") for line, rule, category in findings)
    return SimpleNamespace(submission=SimpleNamespace(claim_id=claim_id), findings=found,
                           outcome=outcome_of(claim_id, "ev", found))


def test_a_finding_prevents_only_the_denials_whose_cause_is_its_category():
    from service.demo.presubmission import summarize

    claims = [_outcome("C1", ("3", "modifier.drug_waste", "coding")),
              _outcome("C2", ("1", "history.repeat", "medical_necessity")),
              _outcome("C3", ("1", "diagnosis.axial_only", "medical_necessity"))]
    causes = {("C1", "3"): {"medical_necessity": Decimal("30.00")},
              ("C2", "1"): {"frequency_limit": Decimal("1380.00")},
              ("C3", "1"): {"medical_necessity": Decimal("1560.00")}}
    out = summarize(claims, causes)
    assert (out.prevented_lines, out.prevented_amount) == (1, Decimal("1560.00"))
    assert {r["rule_id"]: r["denials_prevented"] for r in out.by_rule} == {
        "diagnosis.axial_only": 1, "modifier.drug_waste": 0, "history.repeat": 0}
    assert out.denied_lines == 3 and out.flagged == 3 and out.flagged_paid == 0
