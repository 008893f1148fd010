"""The authorization register's matcher, which the check and the classifier's CO-197 share: an authorization covers a
line only for its own service (code, family, group, or a service authorized on its own such as an SCS trial), from
the day it may first be used, on its side, and while it has sessions left after the patient's earlier claims."""

from __future__ import annotations

import dataclasses
import datetime as dt

from service.domain.authorizations import EarlierUse, covering, sessions_used, why_not
from service.domain.presubmission import PriorSubmission, load_checker
from tests.unit.presubmission.builders import DOS, auth, check, claim, ln, rules

SCOPES = load_checker().rules.auth_scopes


def _service(code: str, *same_date: str, day: dt.date = DOS, claim_id: str = "CL-1", sides=None):
    family = load_checker().tools.pain.catalog.family
    return SCOPES.service(payer_id="ACME", code=code, family=family(code), same_date=[family(c) for c in same_date],
                          service_date=day, sides=sides, levels=None, units=1, claim_id=claim_id)


def test_an_scs_trial_authorization_never_covers_the_permanent_implant():
    implant = _service("63650", "63650", "63685")
    generator = _service("63685", "63650", "63685")
    for trial in (auth("PA-T", "63650"), auth("PA-T", "scs_trial"), auth("PA-T", "scs_electrode")):
        assert covering([trial], implant) is None and covering([trial], generator) is None
        assert "authorized on its own" in why_not(trial, implant)
        assert covering([trial], _service("63650", "63650")) == trial
    for own in (auth("PA-I", "scs_implant"), auth("PA-I", "63685")):
        assert covering([own], implant) == own and covering([own], _service("63650", "63650")) is None


def test_the_scs_group_says_neither_trial_nor_implant_so_covers_neither():
    assert covering([auth("PA-S", "scs")], _service("63650", "63650")) is None
    assert covering([auth("PA-S", "scs")], _service("63650", "63650", "63685")) is None


def test_an_authorization_for_one_procedure_does_not_cover_another_of_its_group():
    ilesi = _service("62323", "62323")
    assert covering([auth("PA-1", "esi_transforaminal")], ilesi) is None
    assert covering([auth("PA-1", "64483")], ilesi) is None
    assert covering([auth("PA-1", "esi")], ilesi) is not None  # a group row the practice chose covers the group


def test_an_authorization_issued_after_the_service_does_not_cover_it_and_says_so():
    later = auth("PA-1", "64483", start="2026-02-20")
    assert "issued for use from 2026-02-20, after the service on 2026-02-16" in why_not(later, _service("64483"))


def test_an_authorizations_sessions_are_used_up_by_the_earlier_claims_that_billed_its_service():
    one = auth("PA-1", "64483", sessions=1)
    first = EarlierUse(_service("64483", day=dt.date(2026, 1, 19), claim_id="CL-0"), None)
    assert sessions_used([one], _service("64483"), [first])[one] == (dt.date(2026, 1, 19),)
    used = [first.service.service_date]
    assert "its 1 session was used by earlier claims (2026-01-19)" in why_not(one, _service("64483"), used)
    assert covering([one], _service("64483"), [first]) is None
    assert covering([dataclasses.replace(one, sessions=2)], _service("64483"), [first]) is not None
    # a later claim, another procedure, or the claim itself uses nothing
    later = EarlierUse(_service("64483", day=dt.date(2026, 3, 2), claim_id="CL-9"), None)
    other = EarlierUse(_service("62323", day=dt.date(2026, 1, 19), claim_id="CL-8"), None)
    itself = EarlierUse(_service("64483", day=dt.date(2026, 1, 19), claim_id="CL-1"), None)
    assert covering([one], _service("64483"), [later, other, itself]) == one


def test_an_earlier_claim_that_carried_another_number_does_not_use_this_authorization():
    one, two = auth("PA-1", "64483", sessions=1), auth("PA-2", "64483", sessions=1, end="2026-05-31")
    first = EarlierUse(_service("64483", day=dt.date(2026, 1, 19), claim_id="CL-0"), "PA-1")
    assert covering([one, two], _service("64483"), [first]) == two
    unknown = EarlierUse(_service("64483", day=dt.date(2026, 1, 19), claim_id="CL-0"), None)
    # without the number, the date goes to the authorization that expires first: the other one is left
    assert covering([one, two], _service("64483"), [unknown]) == one


def test_the_lines_of_one_date_are_one_session():
    two = auth("PA-1", "esi_transforaminal", sessions=2)
    day = dt.date(2026, 1, 19)
    earlier = [EarlierUse(_service("64483", "64484", day=day, claim_id="CL-0"), None),
               EarlierUse(_service("64484", "64483", day=day, claim_id="CL-0"), None)]
    assert sessions_used([two], _service("64483"), earlier)[two] == (day,)


def _commercial(*lines, **kw):
    return claim(*lines, payer_type="commercial", payer_id="ACME", **kw)


def test_the_check_does_not_attach_an_authorization_whose_session_an_earlier_claim_used():
    first = _commercial(ln("64483", "RT", day=dt.date(2026, 1, 19)), claim_id="A", event_id="ev-1", auth="PA-1")
    second = _commercial(ln("64483", "RT"), claim_id="B", event_id="ev-2")
    register = (auth("PA-1", "64483", sessions=1),)
    found = check(second, earlier=(PriorSubmission(first),), authorizations=register)
    assert rules(found) == {"authorization.missing"}
    assert "its 1 session was used by earlier claims (2026-01-19)" in found[0].message
    assert rules(check(second, authorizations=register)) == {"authorization.not_on_claim"}


def test_the_check_does_not_attach_the_trials_authorization_to_the_implant():
    implant = _commercial(ln("63650", units=2), ln("63685"), dx=("M96.1",))
    found = check(implant, authorizations=(auth("PA-T", "scs_trial"),))
    assert {f.rule_id for f in found if f.rule_id.startswith("authorization.")} == {"authorization.missing"}
    assert all("PA-T" not in f.fix for f in found)
    with_own = check(implant, authorizations=(auth("PA-T", "scs_trial"), auth("PA-I", "scs_implant")))
    assert {f.fix for f in with_own if f.rule_id == "authorization.not_on_claim"} == {
        "add REF*G1 PA-I to the claim (or to the line) before sending it"}


def test_a_claims_number_whose_sessions_are_used_is_questioned():
    first = _commercial(ln("64483", "RT", day=dt.date(2026, 1, 19)), claim_id="A", event_id="ev-1", auth="PA-1")
    second = _commercial(ln("64483", "RT"), claim_id="B", event_id="ev-2", auth="PA-1")
    found = check(second, earlier=(PriorSubmission(first),), authorizations=(auth("PA-1", "64483", sessions=1),))
    assert rules(found) == {"authorization.not_covering"} and "session" in found[0].message
