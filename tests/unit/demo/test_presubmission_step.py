"""The demo's pre-submission step, without services: the claims it checks and what the practice knows."""

from __future__ import annotations

from service.demo.clinic import PAYER_BY_ID
from service.demo.presubmission import clinic_payers, first_submissions
from service.demo.stream import build_stream


def test_each_claim_is_checked_once_as_first_sent_in_the_order_sent():
    stream = build_stream(120, 21, "demo-test")
    subs = first_submissions(stream)
    assert len({s.claim_id for s in subs}) == len(subs) == stream.claims
    assert all(s.frequency_code == "1" for s in subs)
    assert [s.occurred_at for s in subs] == sorted(s.occurred_at for s in subs)


def test_the_practice_knows_each_payers_authorization_list_and_filing_window():
    payers = clinic_payers()
    assert payers["BCBS-TX"]["authorization"] == ["esi", "facet", "rfa", "scs"]
    assert payers["MCR-JH"]["authorization"] == []
    assert payers["SUMMIT-PPO"]["filing_days"] == PAYER_BY_ID["SUMMIT-PPO"].filing_limit_days


def test_the_register_holds_the_authorizations_whose_number_never_reached_the_claim():
    stream = build_stream(500, 21, "demo-test")
    assert stream.scenarios.get("auth_not_on_claim", 0) > 0
    assert len(stream.authorizations) > stream.scenarios["auth_not_on_claim"]
    assert all("member" not in repr(a).lower() for a in stream.authorizations)
