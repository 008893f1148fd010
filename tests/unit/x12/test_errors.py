"""Bad input gets a clear, value-free error: a broken file is rejected whole, a bad claim alone, never a crash."""

from __future__ import annotations

from decimal import Decimal

import pytest

from service.x12 import parse_bytes, parse_file
from service.x12.synthetic import Claim, Line, Remittance, pain_management_remittance, render
from topics.remittance import RemittanceEvent

LIMIT = 10_000_000
GOOD = render(pain_management_remittance())
# Every value of the scenario that is PHI or could identify a claim: none may appear in an error or warning text.
PHI = ["DOE", "JANE", "1EG4TE5MK72", "MRN-311", "ROE", "RICHARD", "2FH5UF6NL83", "PM-1001", "PM-1002", "PM-1003",
       "PM-1004", "PM-1005", "ICN-1001", "POE", "ANNA"]


def parse(data: bytes, **kw):
    return parse_bytes(data, max_bytes=kw.pop("max_bytes", LIMIT), **kw)


def texts(result) -> list[str]:
    return [str(i) for i in result.issues] + [e.reason for e in result.record_errors] + (
        [result.file_error.reason] if result.file_error else [])


@pytest.mark.parametrize("data", [b"", b"   \n", b"hello world", b"{\"claim\": 1}", b"ISA", b"IS"])
def test_not_x12_is_rejected(data):
    result = parse(data)
    assert result.rejected and result.exit_code == 2 and result.events == ()
    assert result.fatal[0].code in ("not_x12", "empty")


def test_over_the_size_limit_is_rejected_before_parsing(tmp_path):
    path = tmp_path / "big.835"
    path.write_bytes(GOOD)

    for result in (parse(GOOD, max_bytes=1024), parse_file(path, max_bytes=1024)):
        assert result.rejected and result.fatal[0].code == "oversize"
        reason = result.fatal[0].reason
        assert "over the 1024-byte limit" in reason and "DENIALS_X12_MAX_BYTES" in reason


def test_the_configured_limit_applies_by_default(monkeypatch):
    from service.config import get_settings

    monkeypatch.setenv("DENIALS_X12_MAX_BYTES", "2048")
    get_settings.cache_clear()
    try:
        assert parse_bytes(GOOD).fatal[0].code == "oversize"
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(("cut", "sentence"), [(b"SE*", "the file ends inside ST 0001: no SE/GE/IEA"),
                                               (b"GE*", "the file ends inside GS 1: no GE/IEA"),
                                               (b"IEA*", "the file ends inside ISA 000000001: no IEA")])
def test_a_truncated_file_is_rejected_whole_with_one_sentence_saying_where(cut, sentence):
    data = GOOD[:GOOD.index(cut)]
    result = parse(data)

    assert result.rejected and result.events == () and result.exit_code == 2
    assert [i.reason for i in result.fatal] == [sentence]


def test_a_truncated_header_is_rejected():
    assert parse(GOOD[:80]).fatal[0].code == "not_x12"


def test_an_unsupported_transaction_is_rejected():
    data = GOOD.replace(b"005010X221A1", b"005010X279A1").replace(b"GS*HP", b"GS*HS").replace(b"ST*835", b"ST*270")
    result = parse(data)

    assert result.rejected and result.fatal[0].code == "unsupported"
    assert "005010X279A1" in result.fatal[0].reason


def test_a_segment_pyx12_cannot_place_in_the_header_is_a_flag_on_every_claim_of_the_set():
    data = GOOD.replace(b"TRN*1*EFT0001", b"XYZ*1*EFT0001")
    result = parse(data)
    claims = [e for e in result.events if isinstance(e, RemittanceEvent)]

    assert not result.rejected and result.exit_code == 0 and len(claims) == 6
    issue = next(i for i in result.warnings if i.segment == "XYZ")
    assert issue.code == "structure" and issue.line == 5 and issue.position == 3 and issue.pyx12_code == "1"
    for claim in claims:
        assert any(f.segment == "XYZ" and f.line == 5 and f.pyx12_code == "1" for f in claim.data_quality)
        assert claim.remit.trace_number is None  # the TRN it replaced is not there to read


def test_a_bad_claim_is_reported_and_the_good_ones_still_come_out():
    data = GOOD.replace(b"SVC*HC:64493:LT*900*0", b"SVC*HC:64493:LT*9X0*0")
    result = parse(data)
    claims = [e for e in result.events if isinstance(e, RemittanceEvent)]

    assert result.exit_code == 1 and not result.rejected
    assert [c.claim.claim_id for c in claims] == ["PM-1001", "PM-1003", "PM-1004", "PM-1004", "PM-1005"]
    (error,) = result.record_errors
    assert error.kind == "remittance" and error.topic == "claims.remittance.v1"
    assert error.key == "PM-1002" and error.event_id.endswith("-c2") and error.record_position == 2
    assert error.raw.startswith(b"CLP*PM-1002*4") and b"SVC*HC:64493:LT*9X0*0" in error.raw
    assert error.error_class == "x12_record_invalid"
    assert any(i.element == "SVC02" and i.segment == "SVC" for i in error.issues)
    assert "claim 2 of transaction set 0001" in error.reason and "SVC02" in error.reason
    assert "9X0" not in error.reason


def test_a_claim_without_a_status_cannot_be_read_and_is_rejected_alone():
    data = GOOD.replace(b"CLP*PM-1003*1*", b"CLP*PM-1003**")
    result = parse(data)

    (error,) = result.record_errors
    assert error.key == "PM-1003"
    (issue,) = error.issues
    assert issue.element == "CLP02" and "payment or a reversal" in issue.reason


def test_an_amount_finer_than_cents_is_an_error_not_a_rounding():
    data = GOOD.replace(b"CAS*CO*197*600", b"CAS*CO*197*600.001")
    (error,) = parse(data).record_errors
    assert any(i.element == "CAS03" and "cents" in i.reason for i in error.issues)


def test_a_bad_provider_adjustment_is_its_own_error():
    data = GOOD.replace(b"WO:ICN-0904*250", b"WO:ICN-0904*2X0")
    result = parse(data)

    (error,) = result.record_errors
    assert error.kind == "provider_adjustment" and error.key == "1234567893"
    assert result.counts.claims == 6


def test_a_contract_violation_is_reported_without_the_value():
    long_id = "A" * 70  # longer than any claim id the contract takes (64)
    claim = Claim(long_id, "1", (Line("64483", Decimal("10")),), payer_claim_number="ICN-1",
                  patient=("DOE", "JOHN", "9ZZ"))
    result = parse(render(Remittance(claims=(claim,))))

    (error,) = result.record_errors
    assert any(i.code == "contract" and "claim.claim_id" in i.reason for i in error.issues)
    assert long_id not in error.reason


def test_errors_and_warnings_never_echo_values():
    broken = (GOOD.replace(b"NM1*QC*1*DOE*JANE", b"NM1*QC*1*DOE*JANE*****XX*")
              .replace(b"SVC*HC:64493:LT*900*0", b"SVC*HC:64493:LT*DOE*0")
              .replace(b"REF*EA*MRN-311", b"REF*EA*MRN-311*" + b"Y" * 90)
              .replace(b"N4*ANYTOWN*TX*75001", b"N4*ANYTOWN*ZZ*75001"))
    result = parse(broken)

    assert result.issues and result.record_errors
    for text in texts(result):
        for value in PHI:
            assert value not in text, (value, text)


def test_bare_transaction_set_without_envelope_is_wrapped_deterministically():
    body = GOOD[GOOD.index(b"ST*835"):GOOD.index(b"GE*")]
    first, second = parse(body), parse(body)

    assert first.exit_code == 0 and first.counts.claims == 6
    assert any(i.code == "repair" and "synthetic envelope" in i.reason for i in first.warnings)
    assert [e.event_id for e in first.events] == [e.event_id for e in second.events]


def test_unpadded_isa_is_read():
    isa_end = GOOD.index(b"~")
    fields = GOOD[:isa_end].split(b"*")
    unpadded = b"*".join(f.strip() if i not in (11, 16) else f for i, f in enumerate(fields)) + GOOD[isa_end:]
    result = parse(unpadded)

    assert result.exit_code == 0 and result.counts.claims == 6
    assert any("fixed widths" in i.reason for i in result.warnings)


def test_a_latin1_byte_is_read_with_a_warning():
    result = parse(GOOD.replace(b"SYNTHETIC PAIN CLINIC", b"SYNTH\xc9TIC PAIN CLINIC"))
    assert not result.rejected and any(i.code == "encoding" for i in result.warnings)


def test_the_file_error_and_event_stream_for_other_callers():
    from service.x12 import events_from_file

    (only,) = list(events_from_file(b"not x12"))
    assert only.error_class == "x12_file_invalid" and only.reason.startswith("file rejected:")
    items = list(events_from_file(GOOD.replace(b"CLP*PM-1003*1*", b"CLP*PM-1003**")))
    assert len(items) == 8 and getattr(items[-1], "error_class", None) == "x12_record_invalid"


def test_errors_lists_every_dead_letter_candidate():
    rejected = parse(b"not x12")
    assert [e.error_class for e in rejected.errors] == ["x12_file_invalid"]
    partial = parse(GOOD.replace(b"CLP*PM-1003*1*", b"CLP*PM-1003**"))
    assert [e.error_class for e in partial.errors] == ["x12_record_invalid"]
    assert parse(GOOD).errors == ()
