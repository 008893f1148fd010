"""Prevention feedback: denied lines grouped into rules a billing platform can check before submission.

Fixture: payer MCR-JL, 64483 denied for missing authorization (CO-197) on 14 lines of 14 claims at $1,450.00 each
= $20,300.00; one of them also carries CO-15 (an authorization code too): still one denial, its amount added
(+ $50.00 = $20,350.00). Two 64493 lines denied for a missing KX (below the 3-denial minimum); one 64483 denial where
the payer failed to match the authorization on the claim (auth.on_claim: not avoidable by the clinic).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from service.domain.prevention import DeniedLine, load_prevention_book, prevention_rules

BOOK = load_prevention_book()
T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def denied(n: int, *, code: str = "64483", category: str = "authorization", rule_id: str = "carc.197",
           amount: str = "1450.00", codes: tuple[str, ...] = ("CO-197",), line_id: str = "1",
           payer: str = "MCR-JL") -> DeniedLine:
    return DeniedLine(payer_id=payer, payer_type="medicare", procedure_code=code, category=category, rule_id=rule_id,
                      event_id=f"rm-{n}", line_id=line_id, claim_id=f"PC-{n}", occurred_at=T0 + dt.timedelta(days=n),
                      amount=Decimal(amount), codes=codes)


def fixture() -> list[DeniedLine]:
    lines = [denied(n) for n in range(1, 15)]
    lines.append(denied(3, rule_id="carc.15", amount="50.00", codes=("CO-15",)))
    lines += [denied(n, code="64493", category="coding", rule_id="pain.modifier.kx_missing", codes=("CO-4",))
              for n in (20, 21)]
    lines.append(denied(30, rule_id="auth.on_claim"))
    return lines


def test_a_recurring_avoidable_cause_becomes_one_rule_with_its_counts_and_examples():
    (rule,) = prevention_rules(fixture(), BOOK, window_days=90)
    assert rule.text == "payer MCR-JL denies 64483 without prior authorization: 14 denials, $20,350.00 in 90 days"
    assert rule.check == "require a prior-authorization number (REF*G1) on claims for 64483 to MCR-JL"
    assert (rule.key, rule.denials, rule.claims, rule.amount) == ("MCR-JL:64483:no_prior_authorization", 14, 14,
                                                                  Decimal("20350.00"))
    assert rule.codes == ("CO-15", "CO-197") and rule.rule_ids == ("carc.15", "carc.197")
    assert rule.example_claims == ("PC-14", "PC-13", "PC-12", "PC-11", "PC-10")  # most recent first
    assert (rule.first_seen, rule.last_seen) == (T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=14))


def test_the_minimum_count_and_the_order_by_amount():
    rules = prevention_rules(fixture(), BOOK, window_days=90, min_denials=2, examples=1)
    assert [(r.condition, r.denials, r.amount) for r in rules] == [
        ("no_prior_authorization", 14, Decimal("20350.00")), ("missing_kx_modifier", 2, Decimal("2900.00"))]
    assert rules[1].example_claims == ("PC-21",)


def test_payer_errors_and_causes_no_check_can_prevent_are_not_listed():
    lines = [denied(n, rule_id="auth.on_claim") for n in range(5)]
    lines += [denied(n, category="pricing", rule_id="pricing.underpaid") for n in range(5)]
    lines += [denied(n, category="coding", rule_id="pain.modifier.dropped_by_payer") for n in range(5)]
    assert prevention_rules(lines, BOOK, window_days=90) == []


def test_the_first_matching_condition_wins():
    lines = [denied(n, category="frequency_limit", rule_id="pain.units.over_max") for n in range(3)]
    (rule,) = prevention_rules(lines, BOOK, window_days=30)
    assert rule.condition == "units_over_max" and "above its per-date unit limit" in rule.text
    assert BOOK.condition_for("frequency_limit", "history.esi").key == "over_frequency_limit"
    assert BOOK.condition_for("medical_necessity", "history.rfa_needs_two_blocks").key == "prerequisite_missing"


def test_every_check_text_fills_in_and_a_stray_brace_is_a_data_error():
    import pytest

    from service.domain.prevention import PreventionBook
    from service.domain.ruledata import RuleDataError

    for c in BOOK.conditions:
        assert "{" not in c.check.format(code="64483", payer="MCR-JL").replace("X{EPSU}", ""), c.key
    bad = 'VERSION = "t"\n[[conditions]]\nkey = "k"\nphrase = "p"\ncheck = "add X{EPSU} to {code}"\n'
    with pytest.raises(RuleDataError, match=r"\[k\]: check may use only"):
        PreventionBook.from_text(bad)
