"""The claim-level rules behind the KPIs: the primary payer, the first adjudication, reversals, clean submissions,
the outstanding balance at a date."""

from __future__ import annotations

from service.domain.kpis import analyse_claim, effective_remittances, primary_payer
from tests.unit.kpis.builders import D, ack, claim, day, remit, sub, task


def test_the_first_adjudication_is_the_primary_payers_first_remittance_that_is_not_a_reversal():
    # the secondary payer's remittance arrives first; the primary's original is reversed and re-adjudicated
    c = claim("C1", submissions=[sub("2026-03-01", payer="MCR")], remits=[
        remit("sec", "2026-03-05", payer="AARP", status="2", paid="40"),
        remit("rev", "2026-03-06", payer="MCR", status="22", charge="-1000", paid="-500", hour=8),
        remit("orig", "2026-03-04", payer="MCR", paid="500", contractual="300"),
        remit("again", "2026-03-06", payer="MCR", paid="0", denials={"coding": "1000"}),
    ])
    view = analyse_claim(c, [], day("2026-03-31"))
    assert (view.payer_id, view.first.event_id) == ("MCR", "orig")  # the reversed original is still the first


def test_a_predetermination_is_not_an_adjudication():
    c = claim("C1", submissions=[sub("2026-03-01")], remits=[
        remit("pre", "2026-03-02", status="25"), remit("real", "2026-03-09", paid="700")])
    assert analyse_claim(c, [], day("2026-03-31")).first.event_id == "real"


def test_without_a_submission_the_primary_payer_is_the_first_that_adjudicated_as_primary():
    c = claim("C1", payer=None, remits=[
        remit("sec", "2026-03-02", payer="AARP", payer_type="other", status="2", paid="10"),
        remit("pri", "2026-03-03", payer="MCR", payer_type="medicare", status="1", paid="500")])
    assert primary_payer(c) == ("MCR", "medicare")
    only_secondary = claim("C2", payer=None, remits=[remit("sec", "2026-03-02", payer="AARP", status="2")])
    assert primary_payer(only_secondary)[0] == "AARP"


def test_a_reversal_cancels_the_adjudication_whose_amounts_it_negates():
    first = remit("a", "2026-03-01", paid="80", charge="150", contractual="70")
    other = remit("b", "2026-03-02", paid="30", charge="150")
    reversal = remit("r", "2026-03-03", status="22", paid="-80", charge="-150")
    assert [r.event_id for r in effective_remittances([first, other, reversal])] == ["b"]
    # without an exact match it takes the latest of the payer; with nothing to cancel it stands (money counts)
    loose = remit("r2", "2026-03-03", status="22", paid="-55", charge="-150")
    assert [r.event_id for r in effective_remittances([first, other, loose])] == ["a"]
    assert [r.event_id for r in effective_remittances([loose])] == ["r2"]
    # as of a date before the reversal, the original stands
    assert [r.event_id for r in effective_remittances([first, reversal], day("2026-03-02"))] == ["a"]


def test_a_claim_is_clean_unless_its_first_submission_was_rejected_before_the_next_one():
    rejected = claim("C1", submissions=[sub("2026-03-01"), sub("2026-03-04")], acks=[ack("2026-03-02", True)])
    assert analyse_claim(rejected, [], day("2026-03-31")).clean is False
    # a rejection of the resubmission does not make the first one unclean
    second = claim("C2", submissions=[sub("2026-03-01"), sub("2026-03-04")],
                   acks=[ack("2026-03-02", False), ack("2026-03-05", True)])
    assert analyse_claim(second, [], day("2026-03-31")).clean is True
    assert analyse_claim(claim("C3"), [], day("2026-03-31")).clean is None  # no submission on file


def test_the_balance_at_a_date_counts_payments_contractual_cost_share_and_write_offs_up_to_that_date():
    c = claim("C1", charge="1000", dos="2026-01-10", submissions=[sub("2026-01-11")], remits=[
        remit("r1", "2026-02-01", paid="400", contractual="250", cost_share="100", denials={"coding": "250"}),
        remit("r2", "2026-04-01", paid="250")])
    tasks = [task("t", "C1", state="written_off", closed="2026-05-01", amount="250")]
    assert analyse_claim(c, tasks, day("2026-01-31")).balance == D("1000")  # nothing adjudicated yet
    assert analyse_claim(c, tasks, day("2026-03-31")).balance == D("250")  # 1000 - 400 - 250 - 100
    assert analyse_claim(c, tasks, day("2026-04-30")).balance == D("0")  # the appeal paid the 250
    voided = claim("C2", dos="2026-01-10", submissions=[sub("2026-01-11"), sub("2026-01-20", frequency="8")])
    assert analyse_claim(voided, [], day("2026-03-31")).balance is None
    assert analyse_claim(claim("C3", dos=None), [], day("2026-03-31")).balance is None
    assert analyse_claim(claim("C4", dos="2026-04-02"), [], day("2026-03-31")).balance is None  # served later
