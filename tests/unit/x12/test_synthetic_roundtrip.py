"""Synthetic pain-management 835s (service.x12.synthetic) round-trip through the parser: what was written is read."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from service.x12 import business_key, parse_bytes
from service.x12.synthetic import Adj, Claim, Line, Remittance, Separators, pain_management_remittance, render
from topics.provider_adjustment import ProviderAdjustmentEvent
from topics.remittance import RemittanceEvent

LIMIT = 10_000_000


def parse(data: bytes):
    return parse_bytes(data, source="synthetic", max_bytes=LIMIT)


def split(result):
    claims = [e for e in result.events if isinstance(e, RemittanceEvent)]
    plbs = [e for e in result.events if isinstance(e, ProviderAdjustmentEvent)]
    return claims, plbs


SEPARATORS = [
    pytest.param(Separators(), True, id="star-tilde-colon-with-breaks"),
    pytest.param(Separators(), False, id="one-line"),
    pytest.param(Separators(element="|", segment="\n", component="^", repetition="~"), False, id="pipe-newline-caret"),
    pytest.param(Separators(element="*", segment="~", component=">", repetition="^"), True, id="component-gt"),
    pytest.param(Separators(element="^", segment="'", component="|", repetition="\\"), False, id="caret-quote-pipe"),
]


@pytest.mark.parametrize(("separators", "breaks"), SEPARATORS)
def test_the_pain_management_scenario_round_trips_with_any_separators(separators, breaks):
    remit = pain_management_remittance()
    result = parse(render(remit, separators=separators, line_breaks=breaks))
    claims, plbs = split(result)

    assert result.exit_code == 0 and result.issues == ()  # well-formed: not even a warning from pyx12's map
    assert len(claims) == len(remit.claims)
    for written, read in zip(remit.claims, claims, strict=True):
        c = read.claim
        assert (c.claim_id, c.status_code, c.payer_claim_number) == (written.claim_id, written.status,
                                                                     written.payer_claim_number)
        assert (c.total_charge, c.total_paid) == (written.charge, written.paid)
        assert c.remarks == list(written.remarks)
        assert c.balance.balanced
        assert read.payer.type == "medicare" and read.remit.trace_number == remit.trace_number
        assert (read.payee.npi, read.payee.tax_id) == (remit.payee_npi, "752345678")
        for wl, rl in zip(written.lines, c.lines, strict=True):
            assert (rl.procedure.code, rl.procedure.modifiers, rl.procedure.qualifier) == (wl.code,
                                                                                          list(wl.modifiers), "HC")
            assert (rl.charge, rl.paid, rl.line_id) == (wl.charge, wl.paid, wl.control_number)
            assert [(a.group, a.reason, a.amount) for a in rl.adjustments] == [
                (a.group, a.reason, a.amount) for a in wl.adjustments]
            assert rl.remarks == list(wl.remarks)
    assert [(p.adjustment.reason, p.adjustment.amount) for p in plbs] == [("WO", Decimal("250.00")),
                                                                          ("L6", Decimal("-3.12"))]


def test_the_scenario_carries_the_denials_a_pain_practice_sees():
    claims, plbs = split(parse(render(pain_management_remittance())))
    by_code = {(e.claim.claim_id, e.claim.status_code, ln.procedure.code): ln for e in claims for ln in e.claim.lines}

    def codes(key):
        ln = by_code[key]
        return [(a.group, a.reason) for a in ln.adjustments], ln.remarks

    assert codes(("PM-1001", "1", "64484")) == ([("CO", "197")], [])
    assert codes(("PM-1001", "1", "77003")) == ([("CO", "97")], ["N20"])
    assert codes(("PM-1002", "4", "64493")) == ([("CO", "50")], ["N115"])
    assert codes(("PM-1002", "4", "64494")) == ([("CO", "50")], ["N115"])
    assert codes(("PM-1003", "1", "64635")) == ([("CO", "4")], [])
    assert codes(("PM-1004", "1", "63650")) == ([("CO", "45"), ("PR", "1")], [])
    assert codes(("PM-1005", "1", "80305")) == ([("CO", "45")], [])
    assert codes(("PM-1005", "1", "G0480")) == ([("OA", "18")], [])


def test_a_reversal_keeps_its_negative_amounts_and_the_recoupment_names_the_claim():
    claims, plbs = split(parse(render(pain_management_remittance())))
    reversal = next(e for e in claims if e.claim.status_code == "22")

    assert reversal.claim.claim_id == "PM-1004"
    assert (reversal.claim.total_charge, reversal.claim.total_paid) == (Decimal("-3000.00"), Decimal("-2250.00"))
    assert [a.amount for a in reversal.claim.lines[0].adjustments] == [Decimal("-600.00"), Decimal("-150.00")]
    assert reversal.claim.balance.balanced
    recoupment = plbs[0]
    assert (recoupment.adjustment.reason, recoupment.adjustment.reference) == ("WO", "ICN-0904")
    assert recoupment.adjustment.claim_id == "PM-1004"  # PLB03-2 is the reversed claim's payer claim number
    assert recoupment.payee.npi == "1234567893"
    assert plbs[1].adjustment.claim_id is None  # interest names no claim


def test_an_unbalanced_claim_is_published_flagged_and_counted():
    line = Line("64483", Decimal("1000"), (Adj("CO", "45", Decimal("200")),), control_number="L1")
    claim = Claim("PM-2001", "1", (line,), payer_claim_number="ICN-2001", patient=("DOE", "JOHN", "9ZZ"),
                  paid_override=Decimal("750"))
    result = parse(render(Remittance(claims=(claim,))))
    (event,) = result.events

    assert result.counts.unbalanced == 1 and result.exit_code == 0
    assert event.claim.balance.balanced is False
    assert event.claim.balance.claim_difference == Decimal("50.00")
    assert event.claim.balance.unbalanced_lines == []


def test_an_unbalanced_line_is_named():
    line = Line("64493", Decimal("500"), (Adj("CO", "45", Decimal("100")),), control_number="X")
    claim = Claim("PM-2002", "1", (line,), payer_claim_number="ICN-2002", patient=("DOE", "JOHN", "9ZZ"))
    data = render(Remittance(claims=(claim,))).replace(b"SVC*HC:64493*500*400", b"SVC*HC:64493*500*390")
    (event,) = parse(data).events

    assert event.claim.balance.unbalanced_lines == ["X"]
    assert not event.claim.balance.balanced


def test_svc06_is_the_billed_code_and_svc01_the_adjudicated_one():
    line = Line("64484", Decimal("600"), (Adj("CO", "45", Decimal("100")),), modifiers=("RT",),
                submitted_code="64483", units=Decimal(2))
    claim = Claim("PM-3001", "1", (line,), payer_claim_number="ICN-3001", patient=("DOE", "JOHN", "9ZZ"))
    (event,) = parse(render(Remittance(claims=(claim,)))).events
    read = event.claim.lines[0]

    assert read.procedure.code == "64483"  # SVC06: what the clinic billed
    assert read.adjudicated_procedure.code == "64484"  # SVC01: what the payer adjudicated
    assert read.adjudicated_procedure.modifiers == ["RT"]
    assert read.units == Decimal(2) and read.units_paid == Decimal(2)  # SVC05 without SVC07: the same units


@pytest.mark.parametrize("version", ["005010X221A1", "004010X091A1"])
def test_the_legacy_cr_group_is_accepted(version):
    line = Line("99213", Decimal("100"), (Adj("CR", "45", Decimal("20")), Adj("CO", "45", Decimal("10"))),
                control_number="L1")
    claim = Claim("OLD-1", "1", (line,), payer_claim_number="ICN-9", patient=("DOE", "JOHN", "9ZZ"))
    result = parse(render(Remittance(claims=(claim,)), version=version))
    (event,) = result.events

    assert result.exit_code == 0
    assert [(a.group, a.reason) for a in event.claim.lines[0].adjustments] == [("CR", "45"), ("CO", "45")]


def test_the_same_bytes_give_the_same_ids_and_a_resent_file_the_same_business_keys():
    remit = pain_management_remittance()
    original = parse(render(remit, control_number=1)).events
    again = parse(render(remit, control_number=1)).events
    resent = parse(render(remit, control_number=77)).events

    assert [e.event_id for e in original] == [e.event_id for e in again]
    assert not {e.event_id for e in original} & {e.event_id for e in resent}
    keys = [business_key(e) for e in original if isinstance(e, RemittanceEvent)]
    assert keys == [business_key(e) for e in resent if isinstance(e, RemittanceEvent)]
    assert len(set(keys)) == len(keys)  # the reversal and its re-adjudication are different remittances


def test_several_transaction_sets_and_interchanges_in_one_file():
    remit = pain_management_remittance()
    second = dataclasses.replace(remit, set_control_number="0002", trace_number="EFT0002")
    data = render([remit, second], control_number=5) + render(remit, control_number=6)
    result = parse(data)

    assert result.exit_code == 0
    assert (result.counts.interchanges, result.counts.transaction_sets) == (2, 3)
    assert result.counts.claims == 3 * len(remit.claims)
    assert len({e.event_id for e in result.events}) == len(result.events)
