"""Expected reimbursement and the underpayment check, on hand-checked fixtures (every amount worked out below).

The worked example (Medicare Part B, MCR-JL fee schedule from 2026-01-01: 64483 $200.00, 64484 $90.00,
27096 $100.00, 20552 $60.00), one session on 2026-01-15:

  line 1  64483-50  BILAT 1, MULT 2   200.00 x 150 % = 300.00, ranked 1 of 3 -> 100 % = 300.00
  line 2  64484-50  add-on, BILAT 1    90.00 x 150 % = 135.00, add-on: full rate  = 135.00
  line 3  27096-RT  MULT 2            100.00,           ranked 2 of 3 ->  50 % =  50.00
  line 4  20552     MULT 2             60.00,           ranked 3 of 3 ->  50 % =  30.00
                                                                       expected allowed 515.00

Medicare coinsurance is 20 % of the allowable and sequestration 2 % of what is left:
  line 1: 300.00 - 60.00 = 240.00, - 4.80 = 235.20     line 2: 135.00 - 27.00 = 108.00, - 2.16 = 105.84
  line 3:  50.00 - 10.00 =  40.00, - 0.80 =  39.20     line 4:  30.00 -  6.00 =  24.00, - 0.48 =  23.52

The payer below ignored the bilateral 150 % on line 1 (allowed 200.00: PR-2 40.00, CO-253 3.20, paid 156.80,
CO-45 1300.00 = 1500.00 charge); the other lines are paid exactly as expected. Line 1's shortfall:
235.20 - 156.80 = 78.40.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from service.domain.classification import load_classifier
from service.domain.model import Payer
from service.domain.pricing import Tolerance, expected_reimbursement, load_pricing_rules, review_payment
from tests.unit.revenue.builders import COMMERCIAL, EXAMPLE_RATES, D, line, rate, remittance, schedule

RULES = load_pricing_rules()


def example_lines(line1_paid: str = "156.80", line1_adjustments=None):
    return [
        line("1", "64483", ("50",), charge="1500.00", paid=line1_paid,
             adjustments=line1_adjustments or (("CO", "45", "1300.00"), ("PR", "2", "40.00"), ("CO", "253", "3.20"))),
        line("2", "64484", ("50",), charge="700.00", paid="105.84",
             adjustments=(("CO", "45", "565.00"), ("PR", "2", "27.00"), ("CO", "253", "2.16"))),
        line("3", "27096", ("RT",), charge="500.00", paid="39.20",
             adjustments=(("CO", "59", "50.00"), ("CO", "45", "400.00"), ("PR", "2", "10.00"),
                          ("CO", "253", "0.80"))),
        line("4", "20552", (), charge="250.00", paid="23.52",
             adjustments=(("CO", "59", "30.00"), ("CO", "45", "190.00"), ("PR", "2", "6.00"), ("CO", "253", "0.48"))),
    ]


def classify(remit):
    return load_classifier().classify(remit, facts=None, history=[])


def test_bilateral_add_on_and_multiple_procedure_ranking_give_the_hand_checked_expectation():
    remit = remittance(example_lines())
    expectations, not_priced = expected_reimbursement(remit, schedule(*EXAMPLE_RATES), RULES)
    assert not_priced == {}
    got = {k: (e.expected_allowed, e.expected_coinsurance, e.sequestration, e.expected_payment, e.rank)
           for k, e in expectations.items()}
    assert got == {
        "1": (D("300.00"), D("60.00"), D("4.80"), D("235.20"), 1),
        "2": (D("135.00"), D("27.00"), D("2.16"), D("105.84"), None),
        "3": (D("50.00"), D("10.00"), D("0.80"), D("39.20"), 2),
        "4": (D("30.00"), D("6.00"), D("0.48"), D("23.52"), 3),
    }
    assert sum(e.expected_allowed for e in expectations.values()) == D("515.00")
    assert expectations["1"].shortfall == D("78.40")
    # how it was computed, step by step, in words
    assert expectations["1"].steps[:3] == (
        "MCR-JL fee schedule 64483 $200.00 (from 2026-01-01)",
        "bilateral (modifier 50, indicator 1) at 150 % = $300.00",
        "ranked 1 of 3 same-session procedures by fee: 100 % of $300.00 = $300.00",
    )
    assert "add-on code: full rate times 1 unit(s) = $135.00" in expectations["2"].steps


def test_the_underpaid_line_gets_a_pricing_decision_and_routine_co59_co45_lines_stay_contractual():
    remit = remittance(example_lines())
    decisions = classify(remit)
    review = review_payment(remit, decisions, schedule(*EXAMPLE_RATES), RULES, Tolerance(D("1.00")))
    assert set(review.underpaid) == {"1"}
    pricing = [d for d in review.decisions if d.category == "pricing"]
    assert len(pricing) == 1
    (d,) = pricing
    assert (d.line_id, d.group, d.reason) == ("1", "CO", "45")  # the largest contractual adjustment carries it
    assert (d.is_denial, d.action, d.queue, d.rule_id) == (True, "contract_review", "contracts", "pricing.underpaid")
    assert d.amount == D("78.40")
    assert "expected $235.20" in d.explanation and "paid $156.80" in d.explanation
    assert "150 %" in d.explanation and "ranked 1 of 3" in d.explanation
    # the appeal window of the notice (Medicare: 120 days from receipt, receipt = notice + 5): 2026-02-27 + 5 + 120
    assert d.deadline == dt.date(2026, 7, 2)
    assert [i.id for i in d.checklist][:2] == ["expected-amount", "fee-schedule"]
    # everything else is untouched: one decision per adjustment, the CO-59s and CO-45s of lines 2-4 contractual
    assert len(review.decisions) == len(decisions)
    others = [x for x in review.decisions if x is not d and x.group == "CO"]
    assert {x.category for x in others} == {"contractual"}
    assert {(x.line_id, x.reason) for x in others if x.reason == "59"} == {("3", "59"), ("4", "59")}
    details = review.followup_details()["1"]
    assert (details["expected_amount"], details["paid_amount"], details["shortfall"]) == (235.20, 156.80, 78.40)
    assert details["expected_allowed"] == 300.00 and details["rank"] == 1


def test_a_payer_that_ranks_the_wrong_procedure_first_underpays_the_true_first():
    # The payer put 27096 first (100 % = 100.00) and 64483-50 second (50 % of 300.00 = 150.00).
    # Line 1 expected 235.20 (above); paid at allowed 150.00: PR-2 30.00, CO-253 2.40, paid 117.60 -> short 117.60.
    # Line 3 paid at allowed 100.00 (PR-2 20.00, CO-253 1.60, paid 78.40) is above its 39.20: no flag for overpayment.
    lines = example_lines("117.60", (("CO", "59", "150.00"), ("CO", "45", "1200.00"), ("PR", "2", "30.00"),
                                     ("CO", "253", "2.40")))
    lines[2] = line("3", "27096", ("RT",), charge="500.00", paid="78.40",
                    adjustments=(("CO", "45", "400.00"), ("PR", "2", "20.00"), ("CO", "253", "1.60")))
    remit = remittance(lines)
    review = review_payment(remit, classify(remit), schedule(*EXAMPLE_RATES), RULES)
    assert set(review.underpaid) == {"1"}
    assert review.underpaid["1"].shortfall == D("117.60")
    (d,) = [x for x in review.decisions if x.category == "pricing"]
    assert (d.reason, d.amount) == ("45", D("117.60"))  # CO-45 1200.00 is the line's largest contractual amount


def test_the_tolerance_decides_at_the_boundary():
    # line 1 paid 234.20: short exactly 1.00 -> not underpaid with a $1.00 tolerance; 234.19 (short 1.01) is.
    def review(paid: str, tolerance: Tolerance):
        lines = example_lines(paid, (("CO", "45", "1200.00"), ("PR", "2", "60.00"),
                                     ("CO", "253", str(D("240.00") - D(paid)))))
        remit = remittance(lines)
        return review_payment(remit, classify(remit), schedule(*EXAMPLE_RATES), RULES, tolerance)

    assert review("234.20", Tolerance(D("1.00"))).underpaid == {}
    assert set(review("234.19", Tolerance(D("1.00"))).underpaid) == {"1"}
    # a percent tolerance larger than the amount wins: 1 % of 235.20 = 2.35
    assert review("233.00", Tolerance(D("1.00"), D("1"))).underpaid == {}
    assert set(review("232.84", Tolerance(D("1.00"), D("1"))).underpaid) == {"1"}


def test_commercial_payers_have_no_sequestration_and_copays_stay_fixed():
    # BCBS-TX 64483 $500.00, 64484 $220.00; 64483-RT and 64484-RT (one level each, one side), $40 copay (PR-3).
    # 64483: ranked alone -> 500.00; 64484: add-on, 2 units -> 440.00. Copay fixed: 500.00 - 40.00 = 460.00.
    rates = (rate("64483", "500.00", payer=COMMERCIAL), rate("64484", "220.00", payer=COMMERCIAL))
    lines = [line("1", "64483", ("RT",), charge="1200.00", paid="460.00",
                  adjustments=(("CO", "45", "700.00"), ("PR", "3", "40.00"))),
             line("2", "64484", ("RT",), units="2", charge="900.00", paid="400.00",
                  adjustments=(("CO", "45", "500.00"),))]
    remit = remittance(lines, payer=COMMERCIAL)
    expectations, _ = expected_reimbursement(remit, schedule(*rates), RULES)
    assert (expectations["1"].expected_payment, expectations["1"].sequestration) == (D("460.00"), D("0.00"))
    assert expectations["2"].expected_allowed == D("440.00")
    review = review_payment(remit, classify(remit), schedule(*rates), RULES)
    assert set(review.underpaid) == {"2"} and review.underpaid["2"].shortfall == D("40.00")


def test_a_medicare_advantage_plan_that_reports_sequestration_on_the_line_is_not_underpaid_by_it():
    # A Medicare Advantage contract at 64483 $200.00 that passes sequestration through (CO-253 on the line):
    # 200.00 - 20 % (40.00) = 160.00, - 2 % (3.20) = 156.80, paid 156.80: exactly the contract, no underpayment.
    ma = Payer("HUMANA-MA", "medicare_advantage", "Humana Medicare Advantage")
    rates = (rate("64483", "200.00", payer=ma),)

    def review(paid: str, adjustments):
        remit = remittance([line("1", "64483", ("RT",), charge="900.00", paid=paid, adjustments=adjustments,
                                 allowed="200.00")], payer=ma)
        return review_payment(remit, classify(remit), schedule(*rates), RULES)

    passed_through = review("156.80", (("CO", "45", "700.00"), ("PR", "2", "40.00"), ("CO", "253", "3.20")))
    e = passed_through.expectations["1"]
    assert (e.sequestration, e.expected_payment, passed_through.underpaid) == (D("3.20"), D("156.80"), {})
    assert "sequestration 2 % of $160.00 = $3.20 (the payer applied it on the line)" in e.steps
    # Without CO-253 the plan owes the full 160.00 (no sequestration assumed); allowed 200.00 but paid 150.00 is
    # 10.00 short.
    short = review("150.00", (("CO", "45", "710.00"), ("PR", "2", "40.00")))
    assert short.expectations["1"].sequestration == D("0.00")
    assert set(short.underpaid) == {"1"} and short.underpaid["1"].shortfall == D("10.00")


def test_bilateral_indicator_0_pays_100_percent_and_the_lesser_of_charge_caps_the_allowable():
    # 20552 has BILAT 0: with 50 it is allowed at 100 % = 60.00. Billed at 45.00, the allowable is 45.00.
    rates = (rate("20552", "60.00"),)
    remit = remittance([line("1", "20552", ("50",), charge="45.00", paid="35.28",
                             adjustments=(("PR", "2", "9.00"), ("CO", "253", "0.72")))])
    expectations, _ = expected_reimbursement(remit, schedule(*rates), RULES)
    e = expectations["1"]
    # 45.00 - 20 % (9.00) = 36.00, - 2 % (0.72) = 35.28
    assert (e.expected_allowed, e.expected_payment) == (D("45.00"), D("35.28"))
    assert "lesser of the charge $45.00 and $60.00 = $45.00" in e.steps


def test_a_modifier_specific_rate_beats_the_base_rate_and_is_the_bilateral_price():
    rates = (rate("64483", "200.00"), rate("64483", "280.00", modifier="50"))
    remit = remittance([line("1", "64483", ("50",), charge="1500.00", paid="219.52",
                             adjustments=(("CO", "45", "1220.00"), ("PR", "2", "56.00"), ("CO", "253", "4.48")))])
    (e,) = expected_reimbursement(remit, schedule(*rates), RULES)[0].values()
    # 280.00 (the schedule's own 64483-50 price, no 150 %) - 56.00 = 224.00, - 4.48 = 219.52
    assert (e.expected_allowed, e.expected_payment, e.shortfall) == (D("280.00"), D("219.52"), D("0.00"))


def test_lines_that_cannot_be_priced_with_certainty_get_no_expectation():
    rates = (rate("64483", "200.00"), rate("64625", "300.00"))
    # 64625 has no verified bilateral indicator: with 50 it cannot be priced, and as a ranked procedure its unknown
    # fee makes the session's ranking unknown, so 64483 is not priced either.
    remit = remittance([
        line("1", "64483", ("RT",), charge="900.00", paid="100.00", adjustments=(("CO", "45", "800.00"),)),
        line("2", "64625", ("50",), charge="900.00", paid="100.00", adjustments=(("CO", "45", "800.00"),)),
    ])
    expectations, not_priced = expected_reimbursement(remit, schedule(*rates), RULES)
    assert expectations == {}
    assert "bilateral indicator is not known" in not_priced["2"]
    assert "ranking of 2026-01-15 is unknown" in not_priced["1"]
    # a code without a rate on file has the same effect
    remit = remittance([
        line("1", "64483", ("RT",), charge="900.00", paid="100.00", adjustments=(("CO", "45", "800.00"),)),
        line("2", "64493", ("RT",), charge="900.00", paid="100.00", adjustments=(("CO", "45", "800.00"),)),
    ])
    expectations, not_priced = expected_reimbursement(remit, schedule(rate("64483", "200.00")), RULES)
    assert expectations == {} and "no rate for 64493" in not_priced["2"]


def test_a_denied_line_is_neither_priced_nor_ranked():
    # 27096 denied (CO-97): 64483-RT is then the only ranked procedure -> 100 % of 200.00.
    remit = remittance([
        line("1", "64483", ("RT",), charge="900.00", paid="156.80",
             adjustments=(("CO", "45", "700.00"), ("PR", "2", "40.00"), ("CO", "253", "3.20"))),
        line("2", "27096", ("RT",), charge="500.00", paid="0.00", adjustments=(("CO", "97", "500.00"),)),
    ])
    review = review_payment(remit, classify(remit), schedule(*EXAMPLE_RATES), RULES)
    assert review.expectations["1"].rank == 1 and review.expectations["1"].ranked_in_session == 1
    assert review.expectations["1"].expected_payment == D("156.80")
    assert "2" in review.not_priced and review.underpaid == {}


@pytest.mark.parametrize("status_code", ["2", "4", "22", "25"])
def test_only_primary_adjudications_are_priced(status_code):
    remit = remittance(example_lines(), status_code=status_code)
    decisions = classify(remit)
    review = review_payment(remit, decisions, schedule(*EXAMPLE_RATES), RULES)
    assert review.expectations == {} and review.decisions == decisions


def test_without_a_fee_schedule_for_the_payer_nothing_changes():
    remit = remittance(example_lines())
    decisions = classify(remit)
    review = review_payment(remit, decisions, schedule(rate("64483", "200.00", payer=COMMERCIAL)), RULES)
    assert review.expectations == {} and review.decisions == decisions


def test_a_rate_applies_only_within_its_effective_dates():
    old = rate("64483", "150.00", start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31))
    new = rate("64483", "200.00", start=dt.date(2026, 1, 1))
    remit = remittance([line("1", "64483", ("RT",), charge="900.00", paid="156.80",
                             adjustments=(("CO", "45", "700.00"), ("PR", "2", "40.00"), ("CO", "253", "3.20")))])
    (e,) = expected_reimbursement(remit, schedule(old, new), RULES)[0].values()
    assert e.rate.amount == Decimal("200.00")
    before = remittance([line("1", "64483", ("RT",), charge="900.00", paid="156.80", service_date=dt.date(2025, 12, 31),
                              adjustments=(("CO", "45", "700.00"), ("PR", "2", "40.00"), ("CO", "253", "3.20")))])
    (e,) = expected_reimbursement(before, schedule(old, new), RULES)[0].values()
    assert e.rate.amount == Decimal("150.00")
