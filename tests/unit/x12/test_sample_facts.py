"""Specific facts of the public sample files survive parsing: the right codes on the right lines and claims."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from service.x12 import business_key, parse_file
from tests.unit.x12.conftest import sample
from topics.provider_adjustment import ProviderAdjustmentEvent
from topics.remittance import RemittanceEvent


def remittances(name: str) -> list[RemittanceEvent]:
    result = parse_file(sample(name))
    assert result.exit_code == 0, [str(i) for i in result.issues] + [e.reason for e in result.record_errors]
    return [e for e in result.events if isinstance(e, RemittanceEvent)]


def adjustments(line) -> list[tuple[str, str, Decimal]]:
    return [(a.group, a.reason, a.amount) for a in line.adjustments]


@pytest.mark.parametrize("name", ["emedny-profee.835", "emedny-profee-one-line.835",
                                  "emedny-multi-line-not-delimited.835"])
def test_emedny_timely_filing_and_documentation_denials_sit_on_the_right_lines(name):
    first, second, third = remittances(name)

    assert [adjustments(ln) for ln in first.claim.lines] == [[], [], [], []]
    assert [ln.procedure.code for ln in second.claim.lines] == ["V2020", "V2103"]
    assert [adjustments(ln) for ln in second.claim.lines] == [[("CO", "29", Decimal("12.00"))],
                                                              [("CO", "29", Decimal("22.00"))]]
    assert second.claim.status_code == "2" and second.claim.total_paid == 0
    assert [ln.procedure.code for ln in third.claim.lines] == ["V2020", "V2103", "V2700", "S0580"]
    assert [adjustments(ln) for ln in third.claim.lines] == [
        [], [], [("CO", "251", Decimal("2.75"))], [("CO", "251", Decimal("20.00"))]]
    assert [ln.remarks for ln in third.claim.lines] == [[], [], ["N206"], ["N206"]]
    assert third.claim.lines[0].procedure.modifiers == ["RB"]
    assert all(e.payer.type == "medicaid" and e.claim.filing_indicator == "MC" for e in (first, second, third))
    assert third.remit.production_date == dt.date(2010, 1, 1)
    assert (third.payee.name, third.payee.npi) == ("MAJOR MEDICAL PROVIDER", "9999999995")


def test_emedny_separator_variants_yield_the_same_events():
    """With line breaks, on one line, and with the newline itself as the segment terminator: one meaning."""
    dumps = [[e.model_dump() for e in remittances(name)]
             for name in ("emedny-profee.835", "emedny-profee-one-line.835", "emedny-multi-line-not-delimited.835")]
    assert dumps[0] == dumps[1] == dumps[2]


def test_profee_multiple_is_468_events_of_3_distinct_remittances():
    events = remittances("emedny-profee-multiple.835")

    assert len(events) == 468
    assert len({e.event_id for e in events}) == 468  # the same interchange 156 times: positions keep ids apart
    assert len({business_key(e) for e in events}) == 3  # ... and the business key recognises the copies


def test_tr3_medicare_part_a_plb_and_claim_remarks():
    result = parse_file(sample("tr3-medicare-part-a.835"))
    claims = [e for e in result.events if isinstance(e, RemittanceEvent)]
    (plb,) = [e for e in result.events if isinstance(e, ProviderAdjustmentEvent)]

    assert result.exit_code == 0
    assert (plb.payee.npi, plb.payee.name) == ("6543210903", "REGIONAL HOPE HOSPITAL")
    assert (plb.adjustment.reason, plb.adjustment.reference, plb.adjustment.amount) == ("CV", "CP", Decimal("-1.27"))
    assert plb.adjustment.fiscal_period_date == dt.date(2002, 12, 31)
    assert plb.adjustment.claim_id is None  # CP names no claim of this remittance
    assert plb.remit.production_date == dt.date(2002, 9, 16)
    assert [c.claim.filing_indicator for c in claims] == ["MA", "MB"]
    assert [c.payer.type for c in claims] == ["medicare", "medicare"]
    assert claims[1].claim.remarks == ["MA02"]  # MOA03
    assert adjustments(claims[0].claim) == [("CO", "45", Decimal("73348.57"))]
    assert claims[0].claim.service_date_from == dt.date(2002, 8, 16)
    assert claims[0].claim.service_date_to == dt.date(2002, 8, 24)


def test_tr3_cob_file_with_a_misdeclared_component_separator_keeps_its_negative_adjustment():
    result = parse_file(sample("tr3-cob-contractural-adjustment.835"))
    (claim,) = result.events

    assert any(i.code == "repair" and "component separator" in i.reason for i in result.warnings)
    assert claim.claim.lines[0].procedure.code == "55669"
    assert adjustments(claim.claim.lines[0]) == [("OA", "23", Decimal("516.00")), ("OA", "94", Decimal("-9.00"))]
    assert claim.claim.balance.balanced


def test_secondary_payment_cas_with_two_triplets_and_claim_level_adjustment():
    first, second = remittances("tr3-secondary-payment.835")

    assert adjustments(first.claim) == [("OA", "23", Decimal("9411.64"))] and first.claim.lines == []
    line = second.claim.lines[1]
    assert (line.procedure.code, line.procedure.modifiers) == ("66543", ["26"])
    assert adjustments(line) == [("PR", "1", Decimal("150.00")), ("PR", "2", Decimal("70.00")),
                                 ("CO", "42", Decimal("85.00"))]
    assert line.allowed == Decimal("500.00")
    assert second.claim.patient_responsibility == Decimal("220.00")
    assert (second.payee.name, second.payee.npi, second.payee.tax_id) == ("ACME MEDICAL CENTER", None, "599944521")


def test_legacy_uhc_sample_line_control_numbers_and_payer():
    first, second = remittances("united_healthcare_legacy_sample.835")

    assert first.payer.id == "87726" and first.payer.type == "medicare_advantage"  # N104; CLP06 16
    assert [ln.line_id for ln in first.claim.lines] == ["800941258001", "800941258002"]
    assert [ln.line_control_number for ln in second.claim.lines] == ["123456789012", "123456789013", "123456789014"]
    assert adjustments(second.claim.lines[2]) == [("PR", "2", Decimal("5.13")), ("PR", "1", Decimal("110.00")),
                                                  ("CO", "45", Decimal("184.32"))]
    assert second.remit.received_date == dt.date(2021, 1, 14)  # DTM*050


def test_277ca_rejection_keeps_category_code_entity_and_action():
    result = parse_file(sample("x12_277CA_rejected.277"))
    batch, claim = result.events

    assert result.exit_code == 0
    assert claim.kind == "acknowledgement"
    assert (claim.status.category, claim.status.code, claim.status.entity) == ("A7", "562", "85")
    assert claim.status.action_code == "WQ"
    assert claim.status.effective_date == dt.date(2011, 3, 11)
    assert claim.claim.claim_id == "3920394930203"  # the patient-level TRN02 (the 277CA's patient control number)
    assert claim.claim.payer_claim_number == "1107000000001120"
    assert claim.payer.id == "141797357" and claim.payer.type == "medicaid"  # override table: no CLP06 in a 277
    assert batch.claim is None and batch.scope.level == "information_receiver"
    assert (batch.status.category, batch.status.code) == ("A1", "20")
    assert batch.scope.reference == "11200001"


def test_277ca_acceptance():
    batch, claim = parse_file(sample("x12_277CA_accepted.277")).events

    assert (claim.status.category, claim.status.code, claim.status.action_code) == ("A2", "20", "WQ")
    assert claim.claim.claim_id == "5781"
    assert batch.scope.level == "information_receiver"


def test_277_denial_at_claim_and_line_level():
    result = parse_file(sample("tr3-claim-level-status.277"))
    p3, f0, f2 = result.events

    assert all(e.kind == "status" for e in result.events)
    assert (p3.status.category, p3.status.code) == ("P3", "317")
    assert (f0.status.category, f0.status.code) == ("F0", "3")
    assert (f2.status.category, f2.status.code, f2.status.entity) == ("F2", "88", "QC")
    (line_status,) = f2.line_statuses
    assert (line_status.category, line_status.code, line_status.entity) == ("F2", "88", "QC")
    assert line_status.line_id == "1"
    assert f2.claim.lines[0].procedure.code == "99203" and f2.claim.lines[0].charge == Decimal("150.00")
    assert f2.claim.lines[0].service_date == dt.date(2005, 5, 1)
    # X212: the patient control number (REF*EJ) is the claim id; the 276 trace stays on the record.
    assert (f2.claim.claim_id, f2.claim.trace_number) == ("MA345678", "ABCXYC3")
    assert f2.claim.patient.name == "MANN, JOSEPH" and f2.claim.patient.member_id == "345678901"
    assert (p3.claim.service_date_from, p3.claim.service_date_to) == (dt.date(2005, 8, 31), dt.date(2005, 9, 6))
    assert p3.claim.provider.billing_npi == "1666666661"


def test_277_ncpdp_reject_code_keeps_its_code_list():
    (event,) = parse_file(sample("tr3-claim-level-status-ncpdp.277")).events
    assert (event.status.category, event.status.code, event.status.code_list_qualifier) == ("F2", "80", "RX")


def test_277_records_above_claim_level_become_batch_statuses():
    (receiver,) = parse_file(sample("tr3-information-receiver-level-status.277")).events
    claim, provider = parse_file(sample("tr3-provider-level-status.277")).events

    assert receiver.claim is None and receiver.scope.level == "information_receiver"
    assert (receiver.status.category, receiver.status.code) == ("E0", "0")
    assert receiver.scope.reference == "ABC276XXX" and receiver.scope.entity_id == "X67E"
    assert claim.claim is not None
    assert provider.claim is None and provider.scope.level == "provider"
    assert (provider.status.category, provider.status.code, provider.status.entity) == ("E0", "24", "85")
    assert provider.scope.entity_id == "6166666666"


def test_277_with_several_payers_reads_each_claim():
    result = parse_file(sample("x12_277_x212.277"))

    assert result.exit_code == 0
    assert len(result.events) == 8
    assert [e.claim.claim_id for e in result.events] == [
        "12345", "12346", "12347", "12348", "12349", "12340", "12341", "12342"]
    assert all(e.status.category == "A1" and e.status.code == "704" for e in result.events)


def test_blue_cross_malformed_svc_is_read_as_an_unpaid_line_and_the_claim_balances():
    """`SVC*HC:59426******742*742**1`: no charge or payment where they belong, too many elements. The claim's totals
    (2100 charged = the other two lines) say the line carries no money: read as 0.00, flagged, balanced."""
    (claim,) = remittances("blue_cross_nc_sample.835")

    third = claim.claim.lines[2]
    assert (third.procedure.code, third.charge, third.paid) == ("59426", Decimal("0.00"), Decimal("0.00"))
    assert claim.claim.balance.balanced
    flags = {(f.code, f.element, f.pyx12_code) for f in claim.data_quality if f.line == 30}
    assert {("element", "SVC02", "1"), ("element", "SVC03", "1"), ("element", None, "8")} <= flags
    assert [adjustments(ln) for ln in claim.claim.lines[:2]] == [
        [("CO", "42", Decimal("34.60")), ("PR", "2", Decimal("117.54"))], [("PR", "3", Decimal("25.00"))]]


def test_tr3_tertiary_svc01_split_by_the_element_separator_is_read_shifted():
    """`SVC*HC*24599.00*1766.50*187.50**1`: read one element to the right, the only reading whose adjustments
    (OA-23 1579.00) balance the line."""
    (claim,) = remittances("tr3-tertiary-payment.835")

    (line,) = claim.claim.lines
    assert (line.procedure.qualifier, line.procedure.code) == ("HC", "24599.00")
    assert (line.charge, line.paid, line.units) == (Decimal("1766.50"), Decimal("187.50"), Decimal("1"))
    assert adjustments(line) == [("OA", "23", Decimal("1579.00"))] and claim.claim.balance.balanced
    assert any(f.code == "repair" and f.element == "SVC01" and f.value == "HC|24599.00" for f in claim.data_quality)
    assert claim.claim.status_code == "3" and claim.remit.production_date == dt.date(2005, 4, 12)


def test_emedny_de_identified_claims_sharing_one_clp01_stay_three_claims():
    """The NY Medicaid sample de-identified every CLP01 to one placeholder but kept three member ids."""
    first, second, third = remittances("emedny-profee.835")

    ids = [c.claim.claim_id for c in (first, second, third)]
    assert len(set(ids)) == 3 and ids[0] == first.claim.patient_control_number == second.claim.patient_control_number
    assert all(any(f.code == "claim_id_shared" for f in c.data_quality) for c in (first, second, third))
