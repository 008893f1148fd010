"""Payer policy as data (coverage.toml via service.domain.policy): Medicare LCD rules for Medicare and Medicare
Advantage, an honest "not on file" for other payer types, the LCD and article per MAC jurisdiction, JW/JZ and the
correction route per payer type, and per-payer-id rows."""

from __future__ import annotations

import datetime as dt

import pytest

from service.domain.policy import CoveragePolicies, load_coverage, policy_for

ON = dt.date(2026, 1, 15)


def test_medicare_rfa_policy_cites_l38803_and_a58405_and_counts_sessions_per_region():
    p = policy_for("medicare", "MCR-JF", "facet_rfa", ON)
    assert p.known and (p.lcd, p.article, p.documents_verify) == ("L38803", "A58405", False)
    assert (p.frequency.limit, p.frequency.window_months, p.frequency.per_region) == (2, 12, True)
    assert "thermal RFA" in p.frequency.cite.text() and "A58405" in p.frequency.cite.text()
    assert "staged bilateral" in p.frequency.note
    assert (p.prerequisite.needs_count, p.prerequisite.min_relief_percent) == (2, 80)
    assert p.prerequisite.diagnostic_only and p.prerequisite.same_site
    assert (p.repeat.min_relief_percent, p.repeat.min_relief_days, p.repeat.same_site) == (50, 182, True)


def test_an_unknown_jurisdiction_names_the_lcd_by_title_without_a_number_and_marks_it_to_verify():
    p = policy_for("medicare", "MEDICARE", "esi_transforaminal", ON)
    assert (p.lcd_policy, p.lcd, p.article) == ("esi", None, None) and p.documents_verify
    assert p.frequency.cite.text().startswith("the Medicare LCD Epidural Steroid Injections for Pain Management of "
                                              "the claim's MAC (its number is not on file), Limitations")
    assert p.frequency.cite.text().endswith("[verify]") and "L39240" not in p.frequency.cite.text()
    assert p.frequency.limit == 4 and p.levels.limit == 2 and p.repeat.min_relief_percent == 50


def test_the_jurisdiction_comes_from_the_payer_id_table_or_the_payer_name_as_for_the_letters():
    assert policy_for("medicare", "04412", "facet_injection", ON).lcd == "L34892"  # Novitas, Texas (JH)
    named = policy_for("medicare", "MEDICARE-PARTB", "facet_injection", ON,
                       payer_name="Medicare Part B (Jurisdiction H)")
    assert (named.terms.jurisdiction, named.lcd, named.article) == ("JH", "L34892", "A56670")
    assert "LCD L34892" in named.frequency_limits[0].cite.text()


def test_medicare_advantage_follows_the_lcd_unless_the_plan_says_otherwise():
    ma = policy_for("medicare_advantage", "MA-SUNRISE", "esi_interlaminar", ON)
    assert ma.known and ma.frequency.limit == 4 and "422.101" in ma.terms.policy_note
    own = load_coverage().with_payers({"MA-SUNRISE": {"policy": ""}})
    assert not own.policy_for("medicare_advantage", "MA-SUNRISE", "esi_interlaminar", ON).known


@pytest.mark.parametrize("payer_type", ["medicaid", "commercial", "workers_comp", "other"])
def test_other_payer_types_have_no_policy_on_file_and_say_so(payer_type):
    p = policy_for(payer_type, "PLAN-1", "esi_transforaminal", ON)
    assert not p.known and p.frequency is None and p.repeat is None and p.prerequisite is None and p.lcd is None
    text = p.unknown_text("session limit")
    assert "not on file" in text and "PLAN-1" in text and "L39240" not in text
    assert p.source == "unknown"


def test_a_payer_id_row_can_give_a_plan_a_policy():
    coverage = load_coverage().with_payers({"TX-MCD": {"policy": "medicare_lcd", "authorization": ["esi"]}})
    p = coverage.policy_for("medicaid", "TX-MCD", "esi_transforaminal", ON)
    assert p.known and p.frequency.limit == 4 and p.authorization_required is True


def test_rules_apply_from_the_policys_effective_date():
    assert policy_for("medicare", "MCR-JF", "facet_rfa", dt.date(2021, 4, 24)).frequency is None
    assert policy_for("medicare", "MCR-JF", "facet_rfa", dt.date(2021, 4, 25)).frequency is not None


def test_jw_jz_correction_route_authorization_and_ladder_per_payer_type():
    medicare = policy_for("medicare", "MCR-JL", "drug", ON)
    assert medicare.drug_waste_required and medicare.terms.resubmission == "reopening"
    assert medicare.authorization_required is False
    assert [lvl.name for lvl in medicare.terms.ladder.levels][:2] == ["redetermination", "reconsideration"]
    for payer_type in ("medicare_advantage", "medicaid", "commercial", "workers_comp"):
        p = policy_for(payer_type, "X", "drug", ON)
        assert not p.drug_waste_required and p.terms.resubmission == "corrected_claim"
        assert p.authorization_required is None  # not known unless the plan's row says
        assert p.terms.ladder is not None
    assert load_coverage().usually_multi_dose == {"J1100", "J3301"}


def test_the_lcd_numbers_are_rule_data_an_edit_changes_the_rules_version():
    from service.domain.ruledata import RuleFiles

    files = RuleFiles()
    text = files.text("lcd_citations.toml")
    edited = files.with_texts({"lcd_citations.toml": text.replace('lcd = "L34892"', 'lcd = "L34893"', 1)})
    assert files.version() != edited.version()


def test_a_number_not_tied_to_a_mac_stands_for_every_jurisdiction_without_one_and_is_to_verify():
    p = policy_for("medicare", "MCR-JH", "tpi", ON)
    assert (p.lcd, p.article, p.lcd_citation.jurisdiction, p.documents_verify) == ("L37913", "A59553", None, True)
    assert p.frequency.cite.text().endswith("billing article A59553 [verify]")


def test_a_number_not_tied_to_a_mac_must_be_marked_to_verify():
    from service.domain.ruledata import RuleDataError, RuleFiles

    files = RuleFiles()
    text = files.text("lcd_citations.toml")
    old = 'lcd = "L37913"\narticle = "A59553"\nverify = true'
    assert old in text
    bad = files.with_texts({"lcd_citations.toml": text.replace(old, old.replace("true", "false"))})
    with pytest.raises(RuleDataError, match=r"a \"\*\" row is not any one MAC's number: verify = true"):
        CoveragePolicies.load(bad)


def test_a_payer_row_naming_an_unknown_jurisdiction_is_refused():
    from service.domain.ruledata import RuleDataError

    with pytest.raises(RuleDataError, match=r"unknown jurisdiction 'JQ'"):
        load_coverage().with_payers({"MA-SUNRISE": {"jurisdiction": "JQ"}})
    ma = load_coverage().with_payers({"MA-SUNRISE": {"jurisdiction": "JL"}})
    assert ma.policy_for("medicare_advantage", "MA-SUNRISE", "esi_transforaminal", ON).lcd == "L39015"
