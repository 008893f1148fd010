"""The priority score: the expected recovery in dollars (dollars at risk x recoverability), scaled by how close the
nearer clock is, with its parts; an overdue task ranked by what can still be filed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from service.domain.priority import DEFAULT_WEIGHTS, score_priority

TODAY = dt.date(2026, 11, 27)


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


def test_the_parts_multiply_to_the_score_and_the_explanation_names_each_one():
    p = score_priority(Decimal("1200.00"), 0.4, days(10), None, today=TODAY)
    assert p.expected_recovery == Decimal("480.00")
    assert p.value_points == 480.0  # dollars, not a logarithm
    assert p.clock == "deadline" and p.days_left == 10 and p.near_deadline
    assert p.urgency_factor == pytest.approx(1 + 2 * (1 - 10 / 90) + 1, abs=0.01)
    assert p.score == pytest.approx(p.value_points * p.urgency_factor, abs=0.01)
    for fragment in ("$1,200.00 at risk", "recoverability 0.40", "$480.00 expected", "appeal deadline 2026-12-07",
                     "in 10 days", "within 14 days", f"= {p.score:g}"):
        assert fragment in p.explanation


def test_more_expected_recovery_ranks_higher_at_the_same_deadline():
    small = score_priority(Decimal("100.00"), 0.9, days(30), None, today=TODAY)
    large = score_priority(Decimal("10000.00"), 0.9, days(30), None, today=TODAY)
    unlikely = score_priority(Decimal("10000.00"), 0.05, days(30), None, today=TODAY)
    assert large.score > unlikely.score > small.score


def test_a_task_close_to_its_deadline_outranks_a_somewhat_larger_one_far_from_it():
    close = score_priority(Decimal("1500.00"), 0.6, days(3), None, today=TODAY)
    far = score_priority(Decimal("3000.00"), 0.6, days(80), None, today=TODAY)
    assert close.near_deadline and not far.near_deadline
    assert close.score > far.score


def test_expected_recovery_is_weighed_in_dollars_so_a_large_authorization_outranks_a_small_urgent_appeal():
    # a $5,712 spinal cord stimulator authorization against a $276 appeal due in three days
    scs = score_priority(Decimal("5712.00"), 0.4, days(60), days(120), today=TODAY, action="obtain_authorization")
    small = score_priority(Decimal("276.00"), 0.45, days(3), None, today=TODAY, action="appeal")
    assert scs.score > small.score
    assert scs.expected_recovery == Decimal("2284.80") and scs.value_points == 2284.8


def test_a_write_off_expects_nothing_so_it_ranks_below_any_recoverable_work():
    write_off = score_priority(Decimal("5000.00"), 0.02, days(5), None, today=TODAY, action="write_off")
    small = score_priority(Decimal("50.00"), 0.3, days(80), None, today=TODAY, action="appeal")
    assert write_off.expected_recovery == 0 and write_off.value_points == DEFAULT_WEIGHTS.floor_points
    assert small.score > write_off.score
    assert "a write-off expects nothing back" in write_off.explanation


def test_priority_rises_as_the_deadline_approaches_and_jumps_inside_the_near_window():
    scores = [score_priority(Decimal("800.00"), 0.5, days(40), None, today=days(-n)).score for n in range(0, 40, 5)]
    # as_of moves back in time: the deadline is further away, so the scores fall monotonically
    assert scores == sorted(scores, reverse=True)
    edge = DEFAULT_WEIGHTS.near_days
    outside = score_priority(Decimal("800.00"), 0.5, days(edge + 1), None, today=TODAY)
    inside = score_priority(Decimal("800.00"), 0.5, days(edge), None, today=TODAY)
    assert inside.urgency_factor - outside.urgency_factor > DEFAULT_WEIGHTS.near_bonus * 0.99


def test_the_nearer_clock_still_ahead_counts():
    p = score_priority(Decimal("100.00"), 1.0, days(60), days(5), today=TODAY)
    assert (p.clock, p.days_left) == ("filing_deadline", 5)
    passed_filing = score_priority(Decimal("100.00"), 1.0, days(60), days(-5), today=TODAY)
    assert (passed_filing.clock, passed_filing.days_left, passed_filing.overdue) == ("deadline", 60, False)


def test_every_clock_passed_means_overdue_with_no_urgency():
    p = score_priority(Decimal("9000.00"), 0.9, days(-1), days(-30), today=TODAY)
    assert p.overdue and p.clock is None and p.urgency_factor == 0 and p.score == 0
    assert "every deadline has passed" in p.explanation


def test_an_overdue_task_with_a_good_cause_late_remedy_still_ranks_by_what_it_can_bring_back():
    late = "a late redetermination with good cause (42 CFR 405.942(b))"
    appeal = score_priority(Decimal("2000.00"), 0.5, days(-10), None, today=TODAY, action="appeal", late_option=late)
    assert appeal.overdue and appeal.urgency_factor == DEFAULT_WEIGHTS.late_factor and appeal.score == 250.0
    assert appeal.late_option == late and "still possible: a late redetermination" in appeal.explanation
    # a corrected claim cannot outlive timely filing: nothing left, whatever the payer accepts late
    corrected = score_priority(Decimal("2000.00"), 0.5, None, days(-10), today=TODAY, action="corrected_claim",
                               late_option=late)
    assert corrected.score == 0 and corrected.late_option is None


def test_no_clock_is_neutral_urgency_and_zero_dollars_still_gets_the_floor():
    p = score_priority(Decimal("0.00"), 0.9, None, None, today=TODAY)
    assert p.urgency_factor == 1 and p.value_points == 1 and p.score == 1
    due_today = score_priority(Decimal("0.00"), 0.9, TODAY, None, today=TODAY)
    assert "today" in due_today.explanation and due_today.score > p.score


def test_parts_serialise_to_plain_json_values():
    d = score_priority(Decimal("1234.5"), 0.333, days(7), days(100), today=TODAY).as_dict()
    assert d["amount_at_risk"] == "1234.50" and d["expected_recovery"] == "411.09"
    assert d["deadline"] == "2026-12-04" and d["filing_deadline"] == "2027-03-07" and d["as_of"] == "2026-11-27"
    assert set(d) >= {"value_points", "urgency_factor", "near_deadline", "overdue", "score", "explanation", "clock",
                      "late_option"}
