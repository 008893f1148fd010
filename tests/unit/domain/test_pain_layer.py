"""Pain-management layer: families and regions, session counting, subtypes, prerequisites, bundling pairs, add-ons,
duplicates and modifier checks (reference section 5)."""

import datetime as dt
from decimal import Decimal

from service.domain.classification import load_classifier
from service.domain.model import HistorySession, Procedure
from service.domain.pain.bundling import addon_finding, pair_finding
from service.domain.pain.duplicates import duplicate_finding
from service.domain.pain.history import frequency_finding, prerequisite_finding, subtype_of
from service.domain.pain.modifiers import modifier_findings
from tests.unit.domain.builders import DOS, line, remit, session

RULES = load_classifier().pain


def target(code, *mods, day=DOS, claim_id="NOW", line_id="1"):
    return HistorySession(claim_id, line_id, day, Procedure(code, tuple(mods)), paid=False)


def test_families_and_regions_come_from_the_catalog():
    catalog = RULES.catalog
    assert (catalog.get("64483").family, catalog.get("64483").region) == ("esi_transforaminal", "lumbar_sacral")
    assert (catalog.get("62321").family, catalog.get("62321").region) == ("esi_interlaminar", "cervical_thoracic")
    assert catalog.get("64484").addon_of == ("64483",)
    assert catalog.get("64492").addon_of == ("64490", "64491")
    assert catalog.get("27096").region == "sacroiliac" and catalog.get("20553").region is None
    assert catalog.get("62323").imaging_included and not catalog.get("62322").imaging_included
    assert catalog.get("20552").bilateral is False
    assert catalog.get("99999") is None


def test_interlaminar_and_transforaminal_count_together_per_region():
    history = [session("62323", dt.date(2025, 3, 1)), session("64483", dt.date(2025, 6, 1), mods=("RT",)),
               session("64479", dt.date(2025, 9, 1), mods=("RT",))]  # the last one is cervical
    found = frequency_finding(target("64484", "RT"), history, RULES)
    assert found.rule.id == "esi" and len(found.counted) == 2 and not found.exceeded


def test_one_session_per_date_and_known_denials_do_not_count():
    history = [session("64483", dt.date(2025, 3, 1), mods=("RT",)), session("64484", dt.date(2025, 3, 1)),
               session("64483", dt.date(2025, 6, 1), paid=False), session("62323", dt.date(2025, 9, 1), paid=None)]
    found = frequency_finding(target("62323"), history, RULES)
    assert [s.service_date for s in found.counted] == [dt.date(2025, 3, 1), dt.date(2025, 9, 1)]


def test_the_window_is_the_rolling_12_months_before_the_date_of_service():
    history = [session("20552", dt.date(2025, 1, 15)), session("20552", dt.date(2025, 1, 16)),
               session("20552", dt.date(2026, 1, 15))]
    found = frequency_finding(target("20553"), history, RULES)
    assert [s.service_date for s in found.counted] == [dt.date(2025, 1, 16)]


def test_facet_subtype_kx_or_the_first_two_blocks_are_diagnostic():
    first = session("64493", dt.date(2025, 9, 1))
    second = session("64493", dt.date(2025, 9, 29))
    assert subtype_of(first, [], RULES) == "diagnostic"
    assert subtype_of(second, [first], RULES) == "diagnostic"
    assert subtype_of(target("64493"), [first, second], RULES) == "therapeutic"
    assert subtype_of(target("64493", "KX"), [first, second], RULES) == "diagnostic"
    rfa = session("64635", dt.date(2025, 11, 1))
    assert subtype_of(target("64493"), [first, second, rfa], RULES) == "diagnostic"  # a new pair after an RFA
    assert subtype_of(target("64490"), [first, second], RULES) == "diagnostic"  # another region


def test_rfa_needs_two_blocks_in_the_region_unless_it_is_a_repeat():
    blocks = [session("64493", dt.date(2025, 9, 1)), session("64494", dt.date(2025, 9, 1)),
              session("64493", dt.date(2025, 9, 29))]
    assert not prerequisite_finding(target("64635"), [], blocks, RULES).missing
    one = prerequisite_finding(target("64635"), [], blocks[:2], RULES)
    assert one.missing and len(one.found) == 1
    cervical = prerequisite_finding(target("64633"), [], blocks, RULES)
    assert cervical.missing and not cervical.found
    repeat = prerequisite_finding(target("64635"), [], [session("64635", dt.date(2025, 5, 1))], RULES)
    assert not repeat.missing and repeat.satisfied_by_repeat


def test_scs_implant_needs_a_trial_on_an_earlier_date():
    same_claim = [target("63650", line_id="1"), target("63685", line_id="2")]
    assert prerequisite_finding(same_claim[1], same_claim, [], RULES).missing
    assert prerequisite_finding(same_claim[0], same_claim, [], RULES).missing  # the array of a permanent implant
    trial = [session("63650", dt.date(2025, 11, 3))]
    assert not prerequisite_finding(same_claim[1], same_claim, trial, RULES).missing
    permanent_before = [session("63650", dt.date(2025, 11, 3)), session("63685", dt.date(2025, 11, 3))]
    assert prerequisite_finding(same_claim[1], same_claim, permanent_before, RULES).missing
    assert prerequisite_finding(target("63650"), [target("63650")], [], RULES) is None  # a trial needs nothing


def test_imaging_guidance_bundles_into_imaging_inclusive_codes_without_bypass():
    found = pair_finding(target("77003", line_id="2"), [target("64483", "RT")], RULES)
    assert found.pair.id == "imaging_included" and not found.recoverable
    assert pair_finding(target("77003", line_id="2"), [target("64405")], RULES) is None


def test_block_at_the_ablated_level_knows_sides_and_bypass_modifiers():
    rfa = target("64635", "RT")
    same = pair_finding(target("64493", "RT", line_id="2"), [rfa], RULES)
    other = pair_finding(target("64493", "LT", line_id="2"), [rfa], RULES)
    bypassed = pair_finding(target("64493", "LT", "XS", line_id="2"), [rfa], RULES)
    assert (same.other_side, other.other_side, bypassed.bypass_present) == (False, True, True)
    assert pair_finding(target("64490", "RT", line_id="2"), [rfa], RULES) is None  # other region


def test_same_day_em_needs_25():
    found = pair_finding(target("99214", line_id="2"), [target("62323")], RULES)
    assert found.pair.id == "em_same_day" and found.pair.bypass == ("25",) and not found.bypass_present


def test_addon_without_its_primary():
    alone = addon_finding(target("64484", "RT"), [], RULES)
    with_primary = addon_finding(target("64484", "RT"), [session("64483", DOS, mods=("RT",))], RULES)
    assert alone.partner is None and alone.primaries == ("64483",)
    assert with_primary.partner.procedure.code == "64483"
    assert addon_finding(target("64483"), [], RULES) is None


def test_duplicates_true_false_and_unknown():
    right = session("64493", DOS, mods=("RT",), claim_id="OTHER")
    assert duplicate_finding(target("64493", "LT"), [], [right], RULES).verdict == "false"
    assert duplicate_finding(target("64493", "RT"), [], [right], RULES).verdict == "true"
    assert duplicate_finding(target("64493", "RT", "76"), [], [], RULES).verdict == "false"
    assert duplicate_finding(target("64493", "RT"), [], [], RULES).verdict == "unknown"
    own_submission = session("64493", DOS, mods=("RT",), claim_id="NOW", line_id="1", paid=None)
    assert duplicate_finding(target("64493", "RT"), [], [own_submission], RULES).verdict == "unknown"
    levels = [target("64484", "RT", line_id="2")]
    assert duplicate_finding(target("64484", "RT", line_id="3"), levels, [], RULES).verdict == "false"


def ids(findings):
    return [f.id for f in findings]


def test_modifier_checks():
    one = Decimal(1)
    assert ids(modifier_findings(target("64493", "50"), Decimal(2), [], [], "commercial", RULES)) == [
        "bilateral_units"]
    assert ids(modifier_findings(target("20553", "50"), one, [], [], "commercial", RULES)) == ["bilateral_not_allowed"]
    assert "bilateral_with_side" in ids(modifier_findings(target("64493", "50", "RT"), one, [], [], "commercial",
                                                          RULES))
    assert ids(modifier_findings(target("64493", "RT"), one, [], [], "medicare", RULES)) == ["kx_missing"]
    assert ids(modifier_findings(target("64493", "RT"), one, [], [], "commercial", RULES)) == []
    assert ids(modifier_findings(target("64493", "RT", "GA"), one, [], [], "medicare", RULES)) == []
    assert ids(modifier_findings(target("J1040", "JW", "JZ"), one, [], [], "commercial", RULES)) == ["jw_jz_both"]
    twice = [target("64493", "RT", line_id="1"), target("64493", "RT", line_id="2")]
    assert ids(modifier_findings(twice[1], one, twice, [], "commercial", RULES)) == ["levels_on_one_side"]
    assert "liability_combined" in ids(modifier_findings(target("64493", "GA", "GZ"), one, [], [], "medicare", RULES))


def test_jw_jz_is_a_medicare_part_b_rule_for_single_dose_containers():
    one = Decimal(1)
    assert ids(modifier_findings(target("J1040"), one, [], [], "medicare", RULES)) == ["jw_jz_missing"]
    # not a Medicare Part B claim: only where the plan's own policy asks for them
    for payer_type in ("commercial", "medicaid", "medicare_advantage", "workers_comp"):
        assert ids(modifier_findings(target("J1040"), one, [], [], payer_type, RULES)) == []
    assert ids(modifier_findings(target("J1040"), one, [], [], "commercial", RULES,
                                 drug_waste_required=True)) == ["jw_jz_missing"]
    # usually from multi-dose vials, which take neither modifier: the container cannot be told without the NDC
    for code in ("J1100", "J3301"):
        assert ids(modifier_findings(target(code), one, [], [], "medicare", RULES)) == ["jw_jz_container"]
    assert ids(modifier_findings(target("J1040", day=dt.date(2023, 6, 30)), one, [], [], "medicare", RULES)) == []


def test_an_rfa_denied_with_no_blocks_on_file_says_so_and_asks_for_them():
    d, = load_classifier().classify(remit(line("64635", "CO-50", mods=("RT",))), facts=None, history=[])
    assert d.rule_id == "history.rfa_needs_two_blocks"
    assert "no diagnostic medial branch blocks on file" in d.explanation
    assert d.checklist[0].id == "rfa-two-blocks" and "80%" in d.checklist[0].text


def test_bundled_imaging_is_a_write_off_with_no_appeal():
    r = remit(line("64483", "CO-45", mods=("RT",), paid="600.00"), line("77003", "CO-97", line_id="2"))
    d = load_classifier().classify(r, facts=None, history=[])[1]
    assert (d.category, d.action, d.appealable, d.recoverability) == ("bundling", "write_off", False, 0.0)
    assert d.checklist == ()


def test_a_false_duplicate_on_medicare_is_a_reopening():
    r = remit(line("64483", "CO-45", mods=("RT",), paid="600.00"), line("64483", "CO-18", mods=("LT",), line_id="2"),
              payer_type="medicare")
    d = load_classifier().classify(r, facts=None, history=[])[1]
    assert (d.category, d.action, d.rule_id) == ("duplicate", "reopening", "payer.medicare.duplicate_reopening")


def test_units_over_the_per_date_maximum_are_a_units_correction_not_an_appeal():
    d, = load_classifier().classify(remit(line("80307", "CO-151", units=2, remarks=("N362",))), facts=None,
                                    history=[])
    assert (d.category, d.action, d.queue, d.rule_id) == (
        "frequency_limit", "corrected_claim", "coding", "pain.units.over_max")
    within, = load_classifier().classify(remit(line("80307", "CO-151", remarks=("N362",))), facts=None, history=[])
    assert within.action == "appeal"


def test_two_identical_lines_on_one_claim_are_not_a_proven_true_duplicate():
    twice = [target("64493", "RT", line_id="1"), target("64493", "RT", line_id="2")]
    found = duplicate_finding(twice[1], twice, [], RULES)
    assert found.verdict == "unknown" and "add-on code" in found.reason


def test_a_whole_claim_sent_again_makes_its_add_on_line_a_true_duplicate_too():
    earlier = [HistorySession("BEFORE", "1", DOS, Procedure("64483", ("LT",)), paid=True),
               HistorySession("BEFORE", "2", DOS, Procedure("64484", ("LT",)), paid=True)]
    resent = [target("64483", "LT", line_id="1"), target("64484", "LT", line_id="2")]
    found = duplicate_finding(resent[1], resent, earlier, RULES)
    assert found.verdict == "true" and found.match.claim_id == "BEFORE"
    # on one claim, a repeated add-on is another level, not a duplicate
    levels = [target("64483", "LT", line_id="1"), target("64484", "LT", line_id="2"),
              target("64484", "LT", line_id="3")]
    assert duplicate_finding(levels[2], levels, [], RULES).verdict == "false"
