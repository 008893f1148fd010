"""X12 garbage at the `x12.inbound.v1` decoder the agent runs (pure): never an exception, a structurally broken
interchange is one value-free `x12_file_invalid` error and no events, a good one decodes to its claims' events."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.x12 import decode_interchange
from service.x12.synthetic import pain_management_remittance, render
from tests.support.strategies import SENTINEL, x12_garbage

LIMIT = 1_048_576


def good_interchange() -> bytes:
    data = render(pain_management_remittance())
    return data if isinstance(data, bytes) else data.encode()


def test_a_good_interchange_decodes_to_its_events_without_errors():
    decoded = decode_interchange(good_interchange(), max_bytes=LIMIT)
    assert decoded.errors == [] and len(decoded.events) == 8


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x12_garbage)
def test_x12_garbage_never_raises_and_is_rejected_whole_without_echoing_it(raw):
    decoded = decode_interchange(raw + SENTINEL.encode(), max_bytes=LIMIT)
    assert decoded.errors, "garbage must not decode cleanly"
    for error in decoded.errors:
        assert error.error_class in {"x12_file_invalid", "x12_record_invalid"}
        assert SENTINEL not in error.reason


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_truncated_interchange_is_rejected_whole_with_no_events(data):
    raw = good_interchange()
    cut = data.draw(st.integers(min_value=0, max_value=len(raw) - 2))
    decoded = decode_interchange(raw[:cut], max_bytes=LIMIT)
    assert decoded.events == [] and [e.error_class for e in decoded.errors] == ["x12_file_invalid"]


def test_an_interchange_over_the_limit_is_rejected_before_parsing():
    decoded = decode_interchange(good_interchange(), max_bytes=1024)
    assert [e.error_class for e in decoded.errors] == ["oversize"] and decoded.events == []
