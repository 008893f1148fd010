"""DESIGN.md precedence: non-denial kinds, remark-named causes, the CARC, history for generic codes only, routes that
change the action but never the category, payer-type routes, liability and COB timing."""

import pytest

from service.domain.classification import load_classifier
from tests.unit.domain.builders import DOS, facts, line, months_before, remit, session


def decide(r, *, f=None, history=(), as_of=None, index=0):
    return load_classifier().classify(r, facts=f, history=list(history), as_of=as_of)[index]


@pytest.mark.parametrize(("adjustment", "category", "action"), [
    ("PR-1", "patient_responsibility", "bill_patient"),
    ("PR-2", "patient_responsibility", "bill_patient"),
    ("PR-3", "patient_responsibility", "bill_patient"),
    ("CO-45", "contractual", "none"),
    ("CO-253", "contractual", "none"),
    ("CO-131", "contractual", "none"),
    ("CO-24", "contractual", "none"),
    ("OA-23", "informational", "none"),
    ("OA-133", "informational", "wait"),
])
def test_non_denial_kinds_come_first(adjustment, category, action):
    d = decide(remit(line("64483", adjustment, mods=("RT",), paid="500.00")))
    assert (d.category, d.action, d.is_denial) == (category, action, False)


def test_partial_multiple_procedure_reduction_is_contractual_but_a_zeroing_one_is_pricing():
    partial = decide(remit(line("64494", "CO-59", paid="150.00")))
    zeroed = decide(remit(line("64494", "CO-59", paid="0.00")))
    assert (partial.category, partial.is_denial) == ("contractual", False)
    assert (zeroed.category, zeroed.action, zeroed.queue, zeroed.is_denial) == (
        "pricing", "contract_review", "contracts", True)


@pytest.mark.parametrize("status", ["22", "25"])
def test_reversals_and_predeterminations_are_informational(status):
    d = decide(remit(line("64635", "CO-50"), status=status))
    assert (d.category, d.action, d.is_denial) == ("informational", "none", False)


@pytest.mark.parametrize(("remark", "category", "action"), [
    ("M51", "coding", "corrected_claim"),
    ("N290", "provider_enrollment", "corrected_claim"),
    ("M127", "documentation", "submit_records"),
    ("MA04", "coordination_of_benefits", "corrected_claim"),
    ("M62", "authorization", "corrected_claim"),
])
def test_a_remark_names_the_cause_of_a_generic_carc(remark, category, action):
    d = decide(remit(line("62323", "CO-16", remarks=(remark,))))
    assert (d.category, d.action, d.rule_id) == (category, action, f"rarc.{remark}")


def test_a_cause_remark_does_not_recategorise_a_specific_carc():
    d = decide(remit(line("62323", "CO-97", remarks=("M51",))))
    assert d.category == "bundling"


def test_line_remarks_name_the_cause_before_claim_remarks():
    d = decide(remit(line("62323", "CO-16", remarks=("M51",)), claim_remarks=("N290",)))
    assert d.category == "coding"


def test_a_generic_carc_without_a_remark_keeps_its_default_reading():
    assert decide(remit(line("62323", "CO-96"))).category == "non_covered"
    a1 = decide(remit(line("62323", "CO-A1")))
    assert (a1.category, a1.action) == ("unclassified", "review")


FOUR_LUMBAR_ESI = [session("62323", months_before(DOS, m)) for m in (2, 5, 8, 11)]


@pytest.mark.parametrize("adjustment", ["CO-50", "CO-151", "CO-273", "CO-119"])
def test_history_over_the_limit_makes_a_generic_code_a_frequency_denial(adjustment):
    # Medicare: past the LCD's four sessions the fifth is not covered, so it is a write-off, not an appeal
    d = decide(remit(line("62323", adjustment), payer_type="medicare", payer_id="MCR-JL"), history=FOUR_LUMBAR_ESI)
    assert (d.category, d.action, d.rule_id, d.appealable) == ("frequency_limit", "write_off", "history.esi", False)
    assert all(s.service_date.isoformat() in d.explanation for s in FOUR_LUMBAR_ESI)
    # the Novitas JL epidural LCD and article, the numbers a letter for the same claim cites (to verify)
    assert "LCD L39015" in d.explanation and "A58731 [verify]" in d.explanation and "ABN" in d.explanation


@pytest.mark.parametrize(("adjustment", "category", "rule_id"), [
    ("CO-50", "medical_necessity", "carc.50"),
    ("CO-151", "frequency_limit", "history.frequency.policy_unknown"),
])
def test_a_payer_without_a_policy_on_file_is_never_held_to_the_medicare_limit(adjustment, category, rule_id):
    d = decide(remit(line("62323", adjustment), payer_type="medicaid", payer_id="MCD-TX"), history=FOUR_LUMBAR_ESI)
    assert (d.category, d.action, d.rule_id) == (category, "appeal", rule_id)
    assert "is not on file" in d.explanation and "L39240" not in d.explanation and "limit of 4" not in d.explanation


@pytest.mark.parametrize(("adjustment", "remarks", "category"), [
    ("CO-197", (), "authorization"),
    ("CO-29", (), "timely_filing"),
    ("OA-18", (), "duplicate"),
    ("CO-16", ("M76",), "coding"),
    ("CO-96", ("N425",), "non_covered"),
])
def test_history_never_decides_for_other_codes(adjustment, remarks, category):
    d = decide(remit(line("62323", adjustment, remarks=remarks)), history=FOUR_LUMBAR_ESI)
    assert d.category == category


def test_96_with_an_lcd_remark_is_generic_so_history_applies():
    d = decide(remit(line("62323", "CO-96", remarks=("N115",)), payer_type="medicare"), history=FOUR_LUMBAR_ESI)
    assert d.category == "frequency_limit"


def test_history_under_the_limit_keeps_the_necessity_reading_and_says_so():
    d = decide(remit(line("62323", "CO-50"), payer_type="medicare"), history=FOUR_LUMBAR_ESI[:3])
    assert d.category == "medical_necessity"
    assert "so frequency is not the cause" in d.explanation


@pytest.mark.parametrize(("remark", "action", "appealable"), [
    ("MA130", "new_claim", False),
    ("N704", "corrected_claim", False),
    ("N380", "corrected_claim", True),
    ("N142", "new_claim", True),
    ("N517", "new_claim", True),
])
def test_route_remarks_change_the_action_not_the_category(remark, action, appealable):
    d = decide(remit(line("62323", "CO-16", remarks=("M76", remark))))
    assert (d.category, d.action, d.appealable) == ("coding", action, appealable)
    assert d.rule_id == f"rarc.route.{remark}"


@pytest.mark.parametrize(("adjustment", "action"), [("CO-50", "write_off"), ("CO-4", "corrected_claim")])
def test_no_appeal_remark_writes_off_or_corrects(adjustment, action):
    d = decide(remit(line("64483", adjustment, remarks=("N211",))))
    assert (d.action, d.appealable) == (action, False)


def test_ma44_leaves_no_appeal_on_a_statutory_exclusion():
    d = decide(remit(line("20560", "CO-96", remarks=("N425", "MA44")), payer_type="medicare"))
    assert (d.category, d.action, d.appealable) == ("non_covered", "write_off", False)


def test_claim_level_ma130_applies_to_every_line():
    r = remit(line("64483", "CO-16", remarks=("N290",)), line("64484", "CO-16", line_id="2"), claim_remarks=("MA130",),
              payer_type="medicare")
    assert [d.action for d in load_classifier().classify(r, facts=None, history=[])] == ["new_claim", "new_claim"]


def test_medicare_timely_filing_is_not_appealable_but_commercial_is():
    medicare = decide(remit(line("64493", "CO-29"), payer_type="medicare"))
    commercial = decide(remit(line("64493", "CO-29")))
    assert (medicare.category, medicare.action, medicare.appealable) == ("timely_filing", "write_off", False)
    assert (commercial.action, commercial.appealable) == ("appeal", True)


def test_medicare_part_b_corrections_are_reopenings_and_part_a_takes_corrected_claims():
    part_b = decide(remit(line("64483", "CO-4"), payer_type="medicare", filing_indicator="MB"))
    part_a = decide(remit(line("64483", "CO-4"), payer_type="medicare", filing_indicator="MA"))
    assert (part_b.action, part_b.rule_id, part_b.appealable) == (
        "reopening", "payer.medicare.part_b_reopening", False)
    assert part_a.action == "corrected_claim"


def test_medicare_adr_non_response_is_a_reopening():
    d = decide(remit(line("64635", "CO-226", remarks=("M127",)), payer_type="medicare"))
    assert (d.category, d.action) == ("documentation", "reopening")


def test_pr_50_with_ga_bills_the_patient_and_gz_makes_the_provider_liable():
    ga = decide(remit(line("64495", "PR-50", mods=("RT", "GA")), payer_type="medicare"))
    gz = decide(remit(line("64495", "PR-50", mods=("RT", "GZ")), payer_type="medicare"))
    co_gz = decide(remit(line("64633", "CO-50", mods=("RT", "GZ")), payer_type="medicare"))
    assert (ga.category, ga.action, ga.is_denial) == ("medical_necessity", "bill_patient", True)
    assert (gz.action, gz.rule_id) == ("write_off", "pain.liability.gz_over_pr")
    assert co_gz.action == "write_off"


@pytest.mark.parametrize("group", ["CO", "OA", "PI"])
def test_a_provider_liable_denial_is_never_billed_to_the_patient(group):
    d = decide(remit(line("64483", f"{group}-238")))
    assert d.action == "write_off" and "may not be billed" in d.explanation


def test_patient_billing_waits_for_every_payer_on_the_claim():
    r = remit(line("62323", "PR-3", paid="500.00"))
    pending = decide(r, f=facts(other_payers=("SEC-1",)))
    done = decide(r, f=facts(other_payers=("SEC-1",), adjudicated=("SEC-1",)))
    assert (pending.action, pending.rule_id, pending.queue) == ("wait", "cob.payers_pending", None)
    assert done.action == "bill_patient" and done.queue == "patient_accounts"


@pytest.mark.parametrize("status", ["19", "20", "21"])
def test_a_forwarded_crossover_waits_before_billing_the_patient(status):
    d = decide(remit(line("62323", "PR-2", paid="500.00"), status=status, payer_type="medicare"))
    assert (d.category, d.action, d.rule_id) == ("patient_responsibility", "wait", "cob.forwarded")


def test_a_qmb_patient_is_never_billed():
    d = decide(remit(line("27096", "PR-2", paid="120.00", remarks=("N782",)), payer_type="medicare"))
    assert d.action == "rebill_other_payer" and d.category == "patient_responsibility"


def test_authorization_on_the_claim_turns_197_into_an_appeal():
    r = remit(line("64490", "CO-197", mods=("LT",)))
    with_auth = decide(r, f=facts(prior_auth="AUTH-1"))
    without = decide(r, f=facts())
    assert (with_auth.action, with_auth.rule_id) == ("appeal", "auth.on_claim")
    assert (without.action, without.queue) == ("obtain_authorization", "authorization")


def test_a_modifier_the_payer_dropped_is_a_payer_error():
    d = decide(remit(line("64483", "CO-4")), f=facts(lines=(("64483", ("RT",)),)))
    assert (d.action, d.rule_id) == ("appeal", "pain.modifier.dropped_by_payer")


def test_an_earlier_crossover_waits_until_a_second_payer_answers():
    r = remit(line("62323", "PR-2", paid="500.00"), payer_type="medicare", payer_id="MCR")
    f = facts(payer_id="MCR", payer_type="medicare", adjudicated=("MCR",))
    f.forwarded = True
    assert decide(r, f=f).action == "wait"
    f.adjudicated_payers.add("MEDIGAP")
    assert decide(r, f=f).action == "bill_patient"
