"""The two clocks: appeal/reopening windows from the notice, timely filing from the date of service; payer-type
windows, per-payer overrides, the Medicare receipt presumption and business-day roll."""

import datetime as dt

import pytest

from service.domain import clocks
from service.domain.classification import load_classifier
from service.domain.model import Payer
from tests.unit.domain.builders import line, remit

CLOCKS = load_classifier().clocks
HOLIDAYS = CLOCKS.holidays


def policy(payer_type, payer_id="P", overrides=None):
    table = CLOCKS.with_overrides(overrides) if overrides else CLOCKS
    return table.policies.for_payer(Payer(payer_id, payer_type))


@pytest.mark.parametrize(("day", "name"), [
    (dt.date(2026, 7, 3), "independence_day"),   # July 4 2026 is a Saturday: observed Friday
    (dt.date(2021, 12, 31), "new_years_day"),    # Jan 1 2022 is a Saturday: observed the Friday before
    (dt.date(2026, 5, 25), "memorial_day"),
    (dt.date(2027, 1, 18), "mlk_day"),
    (dt.date(2026, 11, 26), "thanksgiving_day"),
    (dt.date(2035, 12, 25), "christmas_day"),
])
def test_observed_federal_holidays(day, name):
    assert HOLIDAYS.holiday(day) == name and not HOLIDAYS.is_business_day(day)


def test_the_calendar_covers_2020_to_2035_and_juneteenth_from_2021():
    assert (HOLIDAYS.first_year, HOLIDAYS.last_year) == (2020, 2035)
    assert HOLIDAYS.holiday(dt.date(2020, 6, 19)) is None
    assert HOLIDAYS.holiday(dt.date(2021, 6, 18)) == "juneteenth"  # Saturday June 19 observed Friday


def test_roll_forward_skips_weekends_and_holidays():
    assert HOLIDAYS.roll_forward(dt.date(2027, 1, 16)) == dt.date(2027, 1, 19)  # Sat -> Sun -> MLK Monday -> Tue
    assert HOLIDAYS.roll_forward(dt.date(2026, 3, 4)) == dt.date(2026, 3, 4)


@pytest.mark.parametrize(("day", "months", "expected"), [
    (dt.date(2024, 2, 29), 12, dt.date(2025, 2, 28)),
    (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),
    (dt.date(2026, 1, 15), 12, dt.date(2027, 1, 15)),
    (dt.date(2026, 3, 15), -12, dt.date(2025, 3, 15)),
])
def test_add_months_clamps_to_the_month_end(day, months, expected):
    assert clocks.add_months(day, months) == expected


def test_medicare_redetermination_counts_120_days_from_presumed_receipt():
    clock = clocks.appeal_deadline(policy("medicare"), dt.date(2026, 2, 27), HOLIDAYS)
    assert clock.date == dt.date(2026, 7, 2)
    assert "receipt 2026-03-04" in clock.basis and "default" not in clock.basis


def test_medicare_deadline_on_a_holiday_rolls_to_the_next_business_day():
    clock = clocks.appeal_deadline(policy("medicare"), dt.date(2026, 1, 20), HOLIDAYS)
    assert clock.date == dt.date(2026, 5, 26)
    assert "rolled from 2026-05-25 (memorial day)" in clock.basis


def test_only_medicare_rolls():
    # 2026-02-27 + 65 days is Sunday 2026-05-03
    clock = clocks.appeal_deadline(policy("medicare_advantage", overrides={"P": {"contracted": False}}),
                                   dt.date(2026, 2, 27), HOLIDAYS)
    assert clock.date == dt.date(2026, 5, 3)


def test_medicare_advantage_uses_the_contracted_window_when_the_contract_is_unknown():
    clock = clocks.appeal_deadline(policy("medicare_advantage"), dt.date(2026, 2, 27), HOLIDAYS)
    assert clock.date == dt.date(2026, 4, 28) and "contract status unknown" in clock.basis and "default" in clock.basis


@pytest.mark.parametrize(("payer_type", "expected", "is_default"), [
    ("medicaid", dt.date(2026, 4, 28), True),
    ("commercial", dt.date(2026, 5, 28), True),
    ("workers_comp", dt.date(2026, 4, 28), True),
])
def test_payer_type_windows_mark_their_defaults(payer_type, expected, is_default):
    clock = clocks.appeal_deadline(policy(payer_type), dt.date(2026, 2, 27), HOLIDAYS)
    assert clock.date == expected and ("default window" in clock.basis) is is_default


def test_a_payer_id_override_replaces_the_default_window():
    overridden = policy("commercial", "BCBS-TX", {"BCBS-TX": {"appeal_days": 180, "appeal_default": False,
                                                              "appeal_basis": "contract: 180 days"}})
    clock = clocks.appeal_deadline(overridden, dt.date(2026, 2, 27), HOLIDAYS)
    assert clock.date == dt.date(2026, 8, 26) and clock.basis.startswith("contract: 180 days")
    assert "default" not in clock.basis
    assert policy("commercial", "OTHER").appeal_days == 90


def test_timely_filing_medicare_12_months_and_commercial_default_90_days():
    assert clocks.filing_deadline(policy("medicare"), dt.date(2026, 1, 15), HOLIDAYS).date == dt.date(2027, 1, 15)
    assert clocks.filing_deadline(policy("medicare"), dt.date(2026, 1, 16), HOLIDAYS).date == dt.date(2027, 1, 19)
    commercial = clocks.filing_deadline(policy("commercial"), dt.date(2026, 1, 15), HOLIDAYS)
    assert commercial.date == dt.date(2026, 4, 15) and "default" in commercial.basis


def test_reopening_is_one_year_from_the_notice():
    assert clocks.reopening_deadline(policy("medicare"), dt.date(2026, 2, 27), HOLIDAYS).date == dt.date(2027, 3, 1)


def test_decisions_carry_the_clock_their_action_needs():
    clf = load_classifier()
    appeal, = clf.classify(remit(line("62323", "CO-50"), payer_type="medicare"), facts=None, history=[])
    corrected, = clf.classify(remit(line("62323", "CO-4")), facts=None, history=[])
    write_off, = clf.classify(remit(line("62323", "CO-29"), payer_type="medicare"), facts=None, history=[])
    assert appeal.deadline == dt.date(2026, 7, 2) and appeal.filing_deadline is None
    assert corrected.deadline is None and corrected.filing_deadline == dt.date(2026, 4, 15)
    assert write_off.deadline is None and write_off.filing_deadline is None


def test_as_of_past_the_window_says_so_and_zeroes_recoverability():
    clf = load_classifier()
    r = remit(line("62323", "CO-50"), payer_type="medicare")
    late, = clf.classify(r, facts=None, history=[], as_of=dt.date(2026, 8, 1))
    early, = clf.classify(r, facts=None, history=[], as_of=dt.date(2026, 3, 5))
    assert "window closed on 2026-07-02" in late.explanation and late.recoverability == 0.0
    assert "closed" not in early.explanation and early.recoverability > 0
    assert late.action == early.action == "appeal"
