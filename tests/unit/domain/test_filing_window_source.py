"""One source for the timely-filing window: payer_policies.toml (per payer type, with its per-payer-id rows). The
pre-submission check, the classifier, the status classifier, the letters and the silent-claim timer read it through
`clocks.filing_deadline`; no other table or setting states a window (a second copy drifts: the demo's practice
once said 180 days for a payer the worker counted 90 for)."""

from __future__ import annotations

import datetime as dt

import pytest

from service.demo.clinic import PAYERS, filing_limit
from service.demo.presubmission import clinic_payers
from service.domain.clocks import Clocks, filing_deadline
from service.domain.model import Payer
from service.domain.presubmission.check import load_checker
from service.domain.ruledata import RuleDataError, RuleFiles

DOS = dt.date(2026, 3, 2)


@pytest.mark.parametrize("profile", PAYERS, ids=lambda p: p.id)
def test_the_demo_practice_counts_each_payers_window_from_the_policy_table(profile):
    clocks = Clocks.load(RuleFiles())
    policy = clocks.policies.for_payer(Payer(id=profile.id, type=profile.type, name=profile.name))
    assert filing_limit(profile, DOS) == filing_deadline(policy, DOS, clocks.holidays).date


def test_the_practices_payer_knowledge_states_no_filing_window_of_its_own():
    assert all(not any(k.startswith("filing") for k in body) for body in clinic_payers().values())


def test_a_second_filing_window_beside_the_policy_table_is_refused():
    with pytest.raises(RuleDataError, match="payer_policies.toml"):
        load_checker().with_payers({"ACME": {"filing_days": 365, "filing_basis": "ACME manual: 365 days"}})
