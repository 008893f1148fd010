"""Generated malformed input (random bytes, truncated files, mutated segments) ends as errors, never as a crash or a
hang: every example must finish within the deadline and return a consistent ParseResult."""

from __future__ import annotations

import json
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.x12 import ParseResult, parse_bytes
from service.x12.synthetic import pain_management_remittance, render
from tests.unit.x12.conftest import sample

GOOD = render(pain_management_remittance())
SAMPLES = [GOOD, sample("emedny-profee.835").read_bytes(), sample("tr3-claim-level-status.277").read_bytes(),
           sample("x12_277CA_rejected.277").read_bytes(), sample("tr3-medicare-part-a.835").read_bytes()]
# The deadline catches a hang, not a slow machine: one example took 6.8 s under load (2 s alone), so 30 s.
FUZZ = settings(max_examples=60, deadline=timedelta(seconds=30), database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ELEMENT_TEXT = st.text(alphabet=st.sampled_from("0123456789ABCXYZ .-*~:^>|\n\r\t\x00\xe9"), max_size=12)


def check(result: ParseResult) -> None:
    """What every outcome must look like, however bad the input."""
    assert isinstance(result, ParseResult)
    assert result.exit_code in (0, 1, 2)
    if result.rejected:
        assert result.events == () and result.record_errors == () and result.file_error is not None
        assert result.file_error.reason
    for record in result.records():  # every published record serialises
        json.loads(record.json_line())
    for error in result.record_errors:
        assert error.reason and error.issues and isinstance(error.raw, bytes)
    for issue in result.issues:
        assert str(issue)


def parse(data: bytes) -> ParseResult:
    return parse_bytes(data, max_bytes=1_000_000)


@FUZZ
@given(st.binary(max_size=3000))
def test_random_bytes(data):
    check(parse(data))


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_after_an_isa_tag(data):
    check(parse(b"ISA" + data))


@FUZZ
@given(st.sampled_from(SAMPLES), st.floats(min_value=0, max_value=1))
def test_truncated_files(data, fraction):
    cut = int(len(data) * fraction)
    result = parse(data[:cut])
    check(result)
    if cut < data.rstrip().rfind(b"IEA"):  # cut before the interchange trailer: the file is incomplete
        assert result.rejected


def _segments(data: bytes) -> tuple[list[bytes], bytes]:
    terminator = data[105:106]
    return data.split(terminator), terminator


@FUZZ
@given(st.sampled_from(SAMPLES), st.data())
def test_mutated_segments(data, draw):
    segments, terminator = _segments(data)
    index = draw.draw(st.integers(0, len(segments) - 1))
    op = draw.draw(st.sampled_from(["replace_element", "delete", "duplicate", "swap", "garble"]))
    if op == "replace_element":
        sep = data[3:4]
        fields = segments[index].split(sep)
        n = draw.draw(st.integers(0, len(fields)))
        value = draw.draw(ELEMENT_TEXT).encode("latin-1")
        if n < len(fields):
            fields[n] = value
        else:
            fields.append(value)
        segments[index] = sep.join(fields)
    elif op == "delete":
        del segments[index]
    elif op == "duplicate":
        segments.insert(draw.draw(st.integers(0, len(segments))), segments[index])
    elif op == "swap":
        other = draw.draw(st.integers(0, len(segments) - 1))
        segments[index], segments[other] = segments[other], segments[index]
    else:
        segments[index] = draw.draw(st.binary(max_size=40))
    check(parse(terminator.join(segments)))


@FUZZ
@given(st.sampled_from(SAMPLES), st.lists(st.tuples(st.integers(0, 10**6), st.binary(min_size=1, max_size=1)),
                                          min_size=1, max_size=8))
def test_flipped_bytes(data, flips):
    mutated = bytearray(data)
    for position, byte in flips:
        mutated[position % len(mutated)] = byte[0]
    check(parse(bytes(mutated)))
