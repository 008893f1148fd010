"""The check's rules on single claims: what each finds, what it leaves alone, and how policy changes severity."""

from __future__ import annotations

import dataclasses
import datetime as dt

from service.domain.presubmission import (
    DENY,
    WARN,
    CheckContext,
    MueEdit,
    NcciTables,
    PreventionCheck,
    PriorSubmission,
    PtpEdit,
    load_checker,
)
from service.domain.ruledata import RuleFiles
from tests.unit.presubmission.builders import DOS, SENT, auth, check, claim, ln, rules, session


def by_rule(findings, rule_id):
    return next(f for f in findings if f.rule_id == rule_id)


# -- diagnoses ---------------------------------------------------------------------------------------------------

def test_an_esi_with_axial_pain_only_is_likely_denied_under_the_lcd_citing_it():
    found = check(claim(ln("62323"), dx=("M54.50",)))
    f = by_rule(found, "diagnosis.axial_only")
    assert (f.severity, f.category, f.line_id) == (DENY, "medical_necessity", "1")
    assert "M54.50" in f.message and "L39240" in f.message and "ABN" in f.fix


def test_one_radicular_code_among_axial_ones_covers_the_esi():
    assert check(claim(ln("62323", pointers=(1, 2)), dx=("M54.50", "M54.16"))) == []


def test_the_lcd_list_is_only_a_warning_for_a_plan_whose_own_policy_is_not_on_file():
    found = check(claim(ln("62323"), dx=("M54.50",), payer_type="commercial", payer_id="ACME", auth="PA-1"))
    f = by_rule(found, "diagnosis.axial_only")
    assert f.severity == WARN and "not on file" in f.message


def test_a_line_is_judged_by_the_diagnoses_it_points_to():
    sub = claim(ln("62323", pointers=(2,)), dx=("M54.16", "M54.50"))
    assert rules(check(sub)) == {"diagnosis.axial_only"}


def test_a_line_billed_with_ga_already_expects_the_denial():
    assert "diagnosis.axial_only" not in rules(check(claim(ln("62323", "GA"), dx=("M54.50",))))


# -- history --------------------------------------------------------------------------------------------------------

def _esi_history(count: int) -> tuple:
    days = [DOS - dt.timedelta(days=60 * (i + 1)) for i in range(count)]
    return tuple(session("62323", day) for day in days)


def test_the_fifth_esi_in_twelve_months_under_the_medicare_lcd_is_denied_with_the_abn_as_the_fix():
    found = check(claim(ln("62323")), history=_esi_history(4))
    f = by_rule(found, "frequency.limit")
    assert f.severity == DENY and f.category == "frequency_limit"
    assert "5th" in f.message and "against a limit of 4" in f.message
    assert "ABN" in f.fix and "GA" in f.fix


def test_the_fourth_session_and_denied_sessions_do_not_exceed_the_limit():
    assert "frequency.limit" not in rules(check(claim(ln("62323")), history=_esi_history(3)))
    denied = tuple(dataclasses.replace(s, paid=False) for s in _esi_history(4))
    assert "frequency.limit" not in rules(check(claim(ln("62323")), history=denied))


def test_a_payer_without_a_policy_on_file_gets_no_medicare_session_limit():
    sub = claim(ln("62323"), payer_type="commercial", payer_id="ACME", auth="PA-1")
    assert "frequency.limit" not in rules(check(sub, history=_esi_history(6)))


def test_an_ablation_without_blocks_is_denied_from_the_whole_history_and_only_questioned_from_the_input():
    sub = claim(ln("64635", "RT"), dx=("M47.816",))
    assert by_rule(check(sub, complete=True), "history.prerequisite").severity == DENY
    assert by_rule(check(sub, complete=False), "history.prerequisite").severity == WARN


def test_a_repeat_ablation_sooner_than_six_months_misses_the_repeat_criterion():
    history = (session("64493", dt.date(2025, 9, 1), "RT", "KX"), session("64493", dt.date(2025, 9, 15), "RT", "KX"),
               session("64635", dt.date(2025, 11, 10), "RT"))
    found = check(claim(ln("64635", "RT"), dx=("M47.816",)), history=history, complete=True)
    assert rules(found) == {"history.repeat"}
    assert "98 days" in by_rule(found, "history.repeat").message


# -- authorization --------------------------------------------------------------------------------------------------

def _commercial_esi(**kw):
    return claim(ln("64483", "RT", line_id="1"), payer_type="commercial", payer_id="ACME", **kw)


def test_authorization_required_and_nowhere_is_denied_and_says_whether_the_register_was_read():
    assert "none in the authorization register" in by_rule(
        check(_commercial_esi(), authorizations=()), "authorization.missing").message
    assert "was not read" in by_rule(check(_commercial_esi()), "authorization.missing").message


def test_an_authorization_in_the_register_but_not_on_the_claim_names_the_number_to_add():
    f = by_rule(check(_commercial_esi(), authorizations=(auth("PA-7", "esi"),)), "authorization.not_on_claim")
    assert f.fix == "add REF*G1 PA-7 to the claim (or to the line) before sending it"


def test_an_authorization_of_another_payer_or_side_or_period_does_not_cover_the_line():
    for other in (auth("PA-7", "esi", payer_id="OTHER"), auth("PA-7", "esi", side="left"),
                  auth("PA-7", "esi", end="2026-01-31"), auth("PA-7", "64479")):
        assert "authorization.missing" in rules(check(_commercial_esi(), authorizations=(other,)))


def test_the_number_on_the_claim_is_checked_against_the_register():
    found = check(_commercial_esi(auth="PA-7"), authorizations=(auth("PA-7", "esi", side="left"),))
    assert rules(found) == {"authorization.not_covering"}
    assert check(_commercial_esi(auth="PA-7"), authorizations=(auth("PA-7", "esi"),)) == []
    assert check(_commercial_esi(auth="PA-UNKNOWN"), authorizations=()) == []


def test_medicare_part_b_needs_no_prior_authorization_for_an_esi():
    assert "authorization.missing" not in rules(check(claim(ln("64483", "RT"))))


def test_a_clinics_own_payer_list_replaces_its_type_default():
    checker = load_checker().with_payers({"ACME": {"authorization": ["rfa"]}})
    ctx = CheckContext(submitted_on=SENT.date())
    assert "authorization.missing" not in rules(checker.check(_commercial_esi(), ctx))


# -- modifiers and bundling --------------------------------------------------------------------------------------

def test_rt_and_lt_lines_read_as_a_duplicate_where_the_payer_wants_one_line_with_50():
    sub = claim(ln("64493", "RT", "KX"), ln("64493", "LT", "KX"), dx=("M47.816",))
    assert rules(check(sub)) == {"modifier.bilateral_two_lines"}
    medicaid = dataclasses.replace(sub, payer=dataclasses.replace(sub.payer, type="medicaid", id="MCD"))
    assert "modifier.bilateral_two_lines" not in rules(check(medicaid))


def test_a_missing_side_is_a_denial_for_commercial_plans_and_a_warning_for_medicare():
    commercial = claim(ln("27096"), dx=("M46.1",), payer_type="commercial", payer_id="ACME")
    assert by_rule(check(commercial), "modifier.side_missing").severity == DENY
    assert by_rule(check(claim(ln("27096"), dx=("M46.1",))), "modifier.side_missing").severity == WARN


def test_a_visit_on_an_injection_day_needs_25():
    sub = claim(ln("20552"), ln("99213"), dx=("M79.18",))
    assert by_rule(check(sub), "modifier.em_without_25").line_id == "2"
    assert check(claim(ln("20552"), ln("99213", "25"), dx=("M79.18",))) == []
    assert check(claim(ln("99213"), dx=("M79.18",))) == []


def test_a_multi_dose_drug_without_jw_or_jz_is_not_a_finding():
    assert check(claim(ln("62323"), ln("J3301", units=4))) == []


def test_imported_ptp_edits_apply_while_in_force_and_respect_the_modifier_indicator():
    edits = [PtpEdit("64483", "64450", dt.date(2020, 1, 1), None, "1"),
             PtpEdit("64483", "64405", dt.date(2019, 1, 1), dt.date(2023, 12, 31), "0"),
             PtpEdit("64483", "20552", dt.date(2020, 1, 1), None, "9")]
    tables = NcciTables.of(edits, (), ptp_loaded=True, mue_loaded=False)
    found = check(claim(ln("64483", "RT"), ln("64450"), ln("64405"), ln("20552", pointers=(2,)),
                        dx=("M54.16", "M79.18")), ncci=tables)
    assert {(f.rule_id, f.line_id) for f in found} == {("bundling.ncci_pair", "2")}
    assert check(claim(ln("64483", "RT"), ln("64450", "XS")), ncci=tables) == []


def test_mue_per_date_adds_the_lines_and_per_line_looks_at_each():
    per_date = NcciTables.of((), [MueEdit("64405", 2, "2")], ptp_loaded=False, mue_loaded=True)
    per_line = NcciTables.of((), [MueEdit("64405", 2, "1")], ptp_loaded=False, mue_loaded=True)
    two_lines = claim(ln("64405", "XS", units=2), ln("64405", "XS", units=2), dx=("G44.86",))
    assert rules(check(two_lines, ncci=per_date)) == {"bundling.mue_units"}
    assert check(two_lines, ncci=per_line) == []
    assert rules(check(claim(ln("64405", units=3), dx=("G44.86",)), ncci=per_line)) == {"bundling.mue_units"}


# -- timely filing, duplicates, replacements -----------------------------------------------------------------------

def test_timely_filing_counts_the_payers_window_from_the_date_of_service_to_the_submission():
    late = claim(ln("20552", day=dt.date(2025, 10, 1)), dx=("M79.18",), payer_type="commercial", payer_id="ACME")
    f = by_rule(check(late), "timely_filing.expired")
    assert f.line_id is None and "2025-12-30" in f.message  # payer_policies.toml: commercial, 90 days


def test_a_service_already_submitted_on_another_claim_is_a_duplicate_unless_marked_as_another_service():
    first = claim(ln("20552"), dx=("M79.18",), claim_id="A", event_id="ev-c1")
    second = claim(ln("20552"), dx=("M79.18",), claim_id="B", event_id="ev-c2")
    assert rules(check(second, earlier=(PriorSubmission(first),))) == {"duplicate.earlier_submission"}
    assert check(first, earlier=(PriorSubmission(second),)) == []  # the later one is no earlier submission
    repeat = claim(ln("20552", "76"), dx=("M79.18",), claim_id="B", event_id="ev-c2")
    assert check(repeat, earlier=(PriorSubmission(first),)) == []


def test_the_same_claim_sent_again_is_a_duplicate_only_when_the_first_was_accepted():
    first = claim(ln("20552"), dx=("M79.18",), event_id="ev-1", sent=SENT - dt.timedelta(days=3))
    again = claim(ln("20552"), dx=("M79.18",), event_id="ev-2")
    found = check(again, earlier=(PriorSubmission(first),))
    assert by_rule(found, "duplicate.earlier_submission").line_id is None
    assert check(again, earlier=(PriorSubmission(first, accepted=False),)) == []


def test_a_replacement_needs_the_payers_claim_number():
    assert rules(check(claim(ln("20552"), dx=("M79.18",), frequency="7"))) == {"claim.replacement_without_original"}
    assert check(claim(ln("20552"), dx=("M79.18",), frequency="7", original="ICN-1")) == []


# -- prevention rules and the rule data -----------------------------------------------------------------------------

def _prevention(condition: str, category: str) -> PreventionCheck:
    return PreventionCheck(key=f"MCR-JF:20552:{condition}", payer_id="MCR-JF", procedure_code="20552",
                           condition=condition, category=category, text="payer MCR-JF denies 20552 ...",
                           check="do the thing")


def test_an_enabled_prevention_rule_tests_its_condition_on_the_payers_claims_for_the_code():
    sub = claim(ln("20552"), dx=("M79.18",))
    found = check(sub, prevention=(_prevention("no_prior_authorization", "authorization"),))
    f = by_rule(found, "prevention.no_prior_authorization")
    assert (f.severity, f.fix) == (DENY, "do the thing")
    assert check(claim(ln("20552"), dx=("M79.18",), auth="PA-1"),
                 prevention=(_prevention("no_prior_authorization", "authorization"),)) == []


def test_a_prevention_reminder_warns_on_every_line_of_the_code_unless_a_rule_found_that_cause():
    reminder = (_prevention("eligibility_not_verified", "eligibility"),)
    assert by_rule(check(claim(ln("20552"), dx=("M79.18",)), prevention=reminder),
                   "prevention.eligibility_not_verified").severity == WARN
    other_payer = claim(ln("20552"), dx=("M79.18",), payer_id="MCR-JH")
    assert check(other_payer, prevention=reminder) == []


def test_a_rule_turned_off_in_the_data_finds_nothing():
    text = RuleFiles().text("check_rules.toml").replace(
        'id = "diagnosis.axial_only"', 'id = "diagnosis.axial_only"\nenabled = false')
    from service.domain.presubmission import Checker

    checker = Checker(RuleFiles().with_texts({"check_rules.toml": text}))
    sub = claim(ln("62323"), dx=("M54.50",))
    assert "diagnosis.axial_only" not in rules(checker.check(sub, CheckContext(submitted_on=SENT.date())))


def test_findings_come_claim_level_first_then_by_line():
    sub = claim(ln("64494", "RT", "KX", day=dt.date(2025, 10, 1)), ln("77003", day=dt.date(2025, 10, 1)),
                dx=("M47.816",), payer_type="commercial", payer_id="ACME", auth="PA-1")
    found = check(sub)
    assert [f.line_id for f in found] == sorted((f.line_id for f in found), key=lambda x: (x is not None, x or ""))
    assert found[0].rule_id == "timely_filing.expired"


def test_a_jw_waste_line_of_a_drug_is_not_a_second_level():
    sub = claim(ln("62323"), ln("J1030"), ln("J1030", "JW"))
    assert "modifier.combination" not in rules(check(sub))


def test_the_claims_authorization_number_is_judged_only_on_the_lines_that_need_one():
    sub = claim(ln("64483", "RT"), ln("J3301", units=4), ln("77003"), payer_type="commercial", payer_id="ACME",
                auth="PA-7")
    found = check(sub, authorizations=(auth("PA-7", "esi"),))
    assert not [f for f in found if f.rule_id.startswith("authorization.")]


# -- what the fixes of the coder's review changed ---------------------------------------------------------------------

def test_a_default_authorization_list_marked_verify_warns_and_the_practices_own_list_denies():
    f = by_rule(check(_commercial_esi(), authorizations=()), "authorization.missing")
    assert f.severity == WARN and "generic" in f.fix
    checker = load_checker().with_payers({"ACME": {"authorization": ["esi"]}})
    ctx = CheckContext(submitted_on=SENT.date(), authorizations=())
    f = by_rule(checker.check(_commercial_esi(), ctx), "authorization.missing")
    assert f.severity == DENY and "practice's prior-authorization list for payer ACME" in f.message


def test_a_repeat_short_on_pain_relief_alone_warns_because_function_counts_too():
    from service.domain.model import SessionDetail

    earlier = session("62323", dt.date(2025, 9, 1), detail=SessionDetail(relief_percent=49, relief_days=120))
    found = check(claim(ln("62323")), history=(earlier,), complete=True)
    f = by_rule(found, "history.repeat")
    assert f.severity == WARN and "49% relief" in f.message and "function" in f.message
    too_soon = session("64635", dt.date(2025, 11, 10), "RT", detail=SessionDetail(relief_percent=80))
    blocks = (session("64493", dt.date(2025, 9, 1), "RT", "KX"), session("64493", dt.date(2025, 9, 15), "RT", "KX"))
    found = check(claim(ln("64635", "RT"), dx=("M47.816",)), history=(*blocks, too_soon), complete=True)
    assert by_rule(found, "history.repeat").severity == DENY  # repeated sooner than the relief had to last


def test_a_missing_prerequisite_lists_the_blocks_on_file_and_why_each_does_not_count():
    from service.domain.model import SessionDetail

    def block(day, side, levels, relief):
        return session("64493", day, "RT" if side == "right" else "LT", "KX",
                       detail=SessionDetail(side=side, levels=levels, intent="diagnostic", relief_percent=relief))

    history = (block(dt.date(2026, 1, 5), "right", ("L4-L5",), 82), block(dt.date(2026, 1, 12), "left", ("L4-L5",), 56),
               block(dt.date(2026, 1, 19), "left", ("L3-L4",), 90))
    rfa = ln("64635", "LT", detail=SessionDetail(side="left", levels=("L4-L5",)))
    f = by_rule(check(claim(rfa, dx=("M47.816",)), history=history, complete=True), "history.prerequisite")
    assert "on file but not counted" in f.message
    assert "2026-01-05 (right side)" in f.message
    assert "2026-01-12 (56% relief, below the 80%)" in f.message
    assert "2026-01-19 (at L3-L4, while this session treats L4-L5)" in f.message


def test_an_si_injection_whose_intent_is_not_documented_counts_as_therapeutic():
    from service.domain.model import SessionDetail

    history = (session("64451", dt.date(2026, 1, 5), "RT"), session("64451", dt.date(2026, 1, 19), "RT"))
    f = by_rule(check(claim(ln("27096", "50"), dx=("M46.1",)), history=history, complete=True), "frequency.limit")
    assert f.severity == WARN and "counts as therapeutic" in f.message
    documented = ln("27096", "50", detail=SessionDetail(intent="diagnostic"))
    f = by_rule(check(claim(documented, dx=("M46.1",)), history=history, complete=True), "frequency.limit")
    assert f.severity == DENY


def test_a_diagnosis_that_needs_more_characters_is_flagged_from_the_date_it_was_split():
    assert by_rule(check(claim(ln("64493", "RT", "KX"), dx=("M54.5",))), "diagnosis.invalid").line_id is None
    before_split = claim(ln("64493", "RT", "KX", day=dt.date(2021, 9, 30)), dx=("M54.5",))
    assert "diagnosis.invalid" not in rules(check(before_split, submitted_on=dt.date(2021, 10, 5)))
    disc = claim(ln("64483", "RT", day=dt.date(2024, 9, 30)), dx=("M51.36",))
    assert "diagnosis.invalid" not in rules(check(disc, submitted_on=dt.date(2024, 10, 5)))
    assert "diagnosis.invalid" in rules(check(claim(ln("64483", "RT"), dx=("M51.36",))))


def test_the_fy2025_disc_codes_with_leg_pain_warn_and_with_back_pain_only_are_axial():
    f = by_rule(check(claim(ln("64483", "RT"), dx=("M51.372",))), "diagnosis.not_covered")
    assert f.severity == WARN and "referred" in f.message
    assert rules(check(claim(ln("64483", "RT"), dx=("M51.360",)))) == {"diagnosis.axial_only"}


def test_levels_per_session_count_each_side_and_a_bilateral_line_on_both():
    assert rules(check(claim(ln("64483", "50"), ln("64484", "50")))) == set()
    assert "session.levels" not in rules(check(claim(ln("64483", "RT"), ln("64484", "RT"), ln("64484", "LT"))))
    f = by_rule(check(claim(ln("64493", "50", "KX"), ln("64494", "50", "KX"), ln("64495", "50", "KX"),
                            dx=("M47.816",))), "session.levels")
    assert f.line_id == "3" and "each side" in f.message
    commercial = claim(ln("62323", units=2), payer_type="commercial", payer_id="ACME", auth="PA-1")
    assert by_rule(check(commercial), "session.levels").severity == WARN  # the plan's own policy is not on file


def test_two_esi_approaches_in_one_region_are_an_lcd_limit_that_xs_does_not_cure():
    for sub in (claim(ln("64483", "RT"), ln("62323")), claim(ln("64483", "RT"), ln("62323", "XS"))):
        f = by_rule(check(sub), "session.regions")
        assert f.severity == DENY and "not an NCCI edit" in f.message and "XS" not in f.fix
        assert "bundling.ncci_pair" not in rules(check(sub))
    assert check(claim(ln("64483", "RT"), ln("64484", "RT"))) == []


def test_urine_drug_tests_need_a_presumptive_test_first_and_a_reason_for_a_broad_panel_or_a_short_interval():
    opioids = ("Z79.891",)
    assert rules(check(claim(ln("G0481"), dx=opioids))) == {"udt.presumptive_first"}
    assert rules(check(claim(ln("80307"), ln("G0481"), dx=opioids))) == set()
    assert rules(check(claim(ln("80307"), ln("G0483"), dx=opioids))) == {"udt.broad_panel"}
    earlier = (session("80307", DOS - dt.timedelta(days=20)), session("G0480", DOS - dt.timedelta(days=20)))
    found = check(claim(ln("80307"), ln("G0480"), dx=opioids), history=earlier)
    assert rules(found) == {"udt.frequency"} and all(f.severity == WARN for f in found)
    spaced = (session("80307", DOS - dt.timedelta(days=60)), session("G0480", DOS - dt.timedelta(days=60)))
    assert check(claim(ln("80307"), ln("G0480"), dx=opioids), history=spaced) == []
