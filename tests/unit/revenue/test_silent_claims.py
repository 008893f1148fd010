"""Silent claims: the inquiry interval and the timely-filing warning, on hand-checked dates.

A commercial claim for 2026-01-15, submitted 2026-01-16, 30-day interval:
  2026-02-14 = 29 days silent -> no inquiry yet;  2026-02-15 = 30 -> inquiry 1;  2026-03-17 = 60 -> inquiry 2.
Commercial timely filing (payer_policies.toml default): 90 days after the date of service = 2026-04-15, so the
30-day warning starts 2026-03-16 (30 days left) and ends 2026-04-15 (0 days left); on 2026-04-16 the limit is past.
Medicare: 12 months after the date of service = 2027-01-15 (a Friday, not a holiday).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from service.domain.model import Payer, Procedure, Submission, SubmittedLine
from service.domain.silent_claims import (
    AwaitingClaim,
    assess,
    filing_risk_task,
    load_silence_rules,
    rules_from_text,
    status_inquiry,
)
from service.domain.tasks import task_id_for

RULES, CLOCKS, CHECKLISTS = load_silence_rules()
AT = dt.datetime(2026, 3, 17, 8, 0, tzinfo=dt.UTC)


def claim(payer: Payer = Payer("BCBS-TX", "commercial"), *, event_id: str = "st-1") -> AwaitingClaim:
    sub = Submission(event_id=event_id, occurred_at=dt.datetime(2026, 1, 16, 9, tzinfo=dt.UTC), payer=payer,
                     claim_id="PC-1", total_charge=Decimal("1800.00"),
                     lines=(SubmittedLine("1", Procedure("64483", ("RT",)), Decimal("1200.00"),
                                          service_date=dt.date(2026, 1, 15)),
                            SubmittedLine("2", Procedure("64484", ("RT",)), Decimal("600.00"),
                                          service_date=dt.date(2026, 1, 15))))
    return AwaitingClaim(claim_id="PC-1", submission=sub, submitted_on=dt.date(2026, 1, 16))


@pytest.mark.parametrize(("today", "days", "interval"), [
    ("2026-02-14", 29, 0), ("2026-02-15", 30, 1), ("2026-03-16", 59, 1), ("2026-03-17", 60, 2)])
def test_an_inquiry_is_due_once_per_interval(today, days, interval):
    s = assess(claim(), dt.date.fromisoformat(today), RULES, CLOCKS)
    assert (s.days_silent, s.interval_no, s.inquiry_due) == (days, interval, interval >= 1)


@pytest.mark.parametrize(("today", "left", "at_risk"), [
    ("2026-03-15", 31, False), ("2026-03-16", 30, True), ("2026-04-15", 0, True), ("2026-04-16", -1, False)])
def test_a_silent_claim_is_at_risk_within_30_days_of_its_filing_limit(today, left, at_risk):
    s = assess(claim(), dt.date.fromisoformat(today), RULES, CLOCKS)
    assert s.filing.date == dt.date(2026, 4, 15)
    assert (s.filing_days_left, s.filing_at_risk) == (left, at_risk)


def test_medicare_files_within_twelve_months_and_a_claim_not_yet_silent_is_never_at_risk():
    s = assess(claim(Payer("MCR-JL", "medicare")), dt.date(2026, 12, 20), RULES, CLOCKS)
    assert s.filing.date == dt.date(2027, 1, 15) and s.filing_days_left == 26 and s.filing_at_risk
    fresh = AwaitingClaim("PC-2", claim().submission, submitted_on=dt.date(2026, 4, 1))
    assert not assess(fresh, dt.date(2026, 4, 10), RULES, CLOCKS).filing_at_risk  # 9 days: not silent yet


def test_a_payer_id_interval_wins_over_its_type_and_unlisted_payers_use_the_setting():
    rules = rules_from_text('VERSION = "t"\n[types]\ncommercial = 30\n[payers]\n"BCBS-TX" = 45\n', default_days=20)
    assert rules.interval_for(Payer("BCBS-TX", "commercial")) == (45, "silent_claims.toml payer BCBS-TX")
    assert rules.interval_for(Payer("AETNA", "commercial"))[0] == 30
    assert rules.interval_for(Payer("WC-1", "workers_comp")) == (20, "DENIALS_SILENT_CLAIM_DAYS")
    s = assess(claim(), dt.date(2026, 3, 17), rules, CLOCKS)
    assert (s.interval_days, s.interval_no) == (45, 1)  # 60 // 45


def test_the_inquiry_names_the_interval_and_its_key_changes_with_a_resubmission():
    s = assess(claim(), dt.date(2026, 3, 17), RULES, CLOCKS)
    f = status_inquiry(s, at=AT)
    assert (f.kind, f.claim_id, f.amount, f.due_date) == ("status-inquiry", "PC-1", Decimal("1800.00"),
                                                          dt.date(2026, 3, 17))
    assert f.details["interval_no"] == 2 and f.details["filing_deadline"] == "2026-04-15"
    assert f.details["filing_days_left"] == 29
    assert "60 days after the submission of 2026-01-16 (inquiry 2, every 30 days)" in f.reason
    again = assess(claim(), dt.date(2026, 3, 20), RULES, CLOCKS)
    assert again.inquiry_causation_id() == s.inquiry_causation_id()  # same interval: same idempotency key
    resubmitted = assess(claim(event_id="st-2"), dt.date(2026, 3, 17), RULES, CLOCKS)
    assert resubmitted.inquiry_causation_id() != s.inquiry_causation_id()
    assert "PC-1" not in s.inquiry_causation_id()  # the claim id is PHI: never in an id that may be logged


def test_the_filing_risk_task_goes_to_billing_with_the_filing_limit():
    s = assess(claim(), dt.date(2026, 3, 17), RULES, CLOCKS)
    task, event = filing_risk_task(s, at=AT, checklists=CHECKLISTS, actor="system:claim-timer")
    assert task.task_id == task_id_for("PC-1", "BCBS-TX", "timely_filing")
    assert (task.queue, task.category, task.action, task.state) == ("billing", "timely_filing", "review", "open")
    assert (task.filing_deadline, task.amount_at_risk) == (dt.date(2026, 4, 15), Decimal("1800.00"))
    assert [x.line_id for x in task.lines] == ["1", "2"]
    assert [i.id for i in task.checklist][:2] == ["confirm-receipt", "submission-proof"]
    assert "the timely-filing limit is 2026-04-15 (29 days left" in task.explanation
    assert (event.change, event.actor, event.to_state) == ("opened", "system:claim-timer", "open")


def test_the_filing_risk_task_says_the_silence_opened_it_and_where_its_limit_comes_from():
    s = assess(claim(), dt.date(2026, 3, 17), RULES, CLOCKS)
    task, _ = filing_risk_task(s, at=AT, checklists=CHECKLISTS, actor="system:claim-timer")
    assert task.origin == "silent_claim"  # no remittance opened it: a late status must not re-found it
    assert task.filing_deadline_basis == s.filing.basis
