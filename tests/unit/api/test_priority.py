"""The priority score: dollars at risk x recoverability, scaled by how close the nearer clock is, with its parts."""

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
    assert p.value_points == pytest.approx(1 + 10 * 2.6821, abs=0.01)
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


def test_a_task_close_to_its_deadline_outranks_a_larger_one_far_from_it():
    close = score_priority(Decimal("500.00"), 0.6, days(3), None, today=TODAY)
    far = score_priority(Decimal("5000.00"), 0.6, days(80), None, today=TODAY)
    assert close.near_deadline and not far.near_deadline
    assert close.score > far.score


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


def test_no_clock_is_neutral_urgency_and_zero_dollars_still_gets_the_floor():
    p = score_priority(Decimal("0.00"), 0.9, None, None, today=TODAY)
    assert p.urgency_factor == 1 and p.value_points == 1 and p.score == 1
    due_today = score_priority(Decimal("0.00"), 0.9, TODAY, None, today=TODAY)
    assert "today" in due_today.explanation and due_today.score > p.score


def test_parts_serialise_to_plain_json_values():
    d = score_priority(Decimal("1234.5"), 0.333, days(7), days(100), today=TODAY).as_dict()
    assert d["amount_at_risk"] == "1234.50" and d["expected_recovery"] == "411.09"
    assert d["deadline"] == "2026-12-04" and d["filing_deadline"] == "2027-03-07" and d["as_of"] == "2026-11-27"
    assert set(d) >= {"value_points", "urgency_factor", "near_deadline", "overdue", "score", "explanation", "clock"}
