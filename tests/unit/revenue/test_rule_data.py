"""The revenue data files agree with the classifier's tables and read cleanly."""

from __future__ import annotations

import csv
import io

import pytest

from service.domain.appeals import load_appeal_rules, rules_from_texts
from service.domain.clocks import HolidayCalendar
from service.domain.pricing import PricingRules, load_pricing_rules
from service.domain.ruledata import PACKAGE_DATA, RuleDataError


def procedures() -> dict[str, dict[str, str]]:
    return {r["code"]: r for r in csv.DictReader(io.StringIO((PACKAGE_DATA / "procedures.csv").read_text()))}


def test_add_on_flags_and_bilateral_indicators_match_the_procedure_table():
    rules = load_pricing_rules()
    table = procedures()
    assert set(rules.codes) == set(table)
    for code, ind in rules.codes.items():
        assert ind.addon == bool(table[code]["addon_of"]), code
        if table[code]["bilateral"] in ("0", "1"):  # the classifier's "modifier 50 is valid" column
            assert ind.bilateral == table[code]["bilateral"], code
        if ind.addon:
            assert ind.multiple in rules.exempt_indicators, f"{code}: add-ons are never ranked"


def test_an_unknown_indicator_value_is_a_data_error():
    toml = (PACKAGE_DATA / "pricing.toml").read_text()
    with pytest.raises(RuleDataError, match="bilateral indicator '7'"):
        PricingRules.from_texts(toml, "code,bilateral,multiple,addon,ref,note\n64483,7,2,0,,\n")
    with pytest.raises(RuleDataError, match="multiple-procedure indicator '3'"):
        PricingRules.from_texts(toml, "code,bilateral,multiple,addon,ref,note\n64483,1,3,0,,\n")


def test_the_medicare_ladder_has_five_levels_and_recoupment_reasons_are_known():
    rules = load_appeal_rules()
    ladder = rules.ladder("medicare", "MCR-JL")
    assert [(lvl.level, lvl.days) for lvl in ladder.levels] == [(1, 120), (2, 180), (3, 60), (4, 60), (5, 60)]
    assert ladder.receipt_days == 5 and ladder.roll_business_day
    assert rules.ladder("other", "LIEN-CO") is None


def test_every_payer_type_but_other_has_a_ladder():
    rules = load_appeal_rules()
    names = {t: [lvl.name for lvl in rules.ladder(t, "X").levels]
             for t in ("medicare_advantage", "medicaid", "commercial", "workers_comp")}
    assert names["medicare_advantage"][:3] == ["plan reconsideration", "IRE review (forwarded by the plan)",
                                              "ALJ hearing"]
    assert rules.ladder("medicare_advantage", "X").level(2).auto_forward
    assert names["medicaid"] == ["plan appeal", "state fair hearing"]
    assert names["commercial"][-1] == "external review"
    assert names["workers_comp"] == ["request for reconsideration", "medical dispute resolution"]
    assert rules.is_recoupment("WO") and not rules.is_recoupment("L6")


def test_appeal_levels_must_be_numbered_without_gaps():
    levels = (PACKAGE_DATA / "appeal_levels.toml").read_text().replace("level = 2,", "level = 7,")
    with pytest.raises(RuleDataError, match="numbered 1, 2, 3"):
        rules_from_texts(levels, (PACKAGE_DATA / "provider_adjustments.toml").read_text(), HolidayCalendar({}))
