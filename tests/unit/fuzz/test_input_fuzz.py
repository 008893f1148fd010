"""Fuzzed input against every JSON input contract, at the decoder the agents use (pure, no I/O).

Valid records decode to exactly one event and go through the service layer (real classifier, in-memory unit of
work) without an error; anything else becomes a contract error of a permanent class whose reason never echoes the
input. Nothing raises: an exception escaping an agent would ack and lose the record."""

from __future__ import annotations

import asyncio
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.decoders import json_decoders
from service.adapters.clock import SystemClock
from service.domain.classification import load_classifier
from service.privacy import Pseudonymizer
from service.service_layer.handlers import Inbound, process_batch
from tests.support.strategies import (
    SENTINEL,
    deeply_nested,
    mutated,
    non_utf8,
    paths,
    provider_adjustments,
    remittances,
    replaced,
    status_events,
    truncated,
)
from tests.unit.service_layer.fakes import FakeUnitOfWork
from topics.catalogue import CLAIMS_REMITTANCE, CLAIMS_STATUS, PROVIDER_ADJUSTMENTS

CLOCK = SystemClock()
DIGEST = Pseudonymizer("test-pseudonym-key").member  # how the authorization register keys member ids

LIMIT = 64 * 1024
DECODERS = json_decoders(LIMIT)
CONTRACTS = {CLAIMS_REMITTANCE: remittances(), CLAIMS_STATUS: status_events(),
             PROVIDER_ADJUSTMENTS: provider_adjustments()}
PERMANENT = {"not_json", "not_utf8", "schema_violation", "oversize"}
CLASSIFIER = load_classifier()
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

topic_and_record = st.sampled_from(sorted(CONTRACTS)).flatmap(lambda t: st.tuples(st.just(t), CONTRACTS[t]))
topic_and_mutant = st.sampled_from(sorted(CONTRACTS)).flatmap(lambda t: st.tuples(st.just(t), mutated(CONTRACTS[t])))


def _rejected(topic: str, raw: bytes):
    decoded = DECODERS[topic](raw)
    assert not decoded.events and len(decoded.errors) == 1
    return decoded.errors[0]


@FUZZ
@given(topic_and_record)
def test_every_valid_record_of_every_contract_decodes_and_is_applied(case):
    topic, record = case
    decoded = DECODERS[topic](json.dumps(record).encode())
    assert decoded.errors == [] and len(decoded.events) == 1
    uow = FakeUnitOfWork()
    asyncio.run(process_batch([Inbound(topic, decoded.events[0], 0, 0)], uow, CLASSIFIER,
                              clock=CLOCK, member_digest=DIGEST))
    assert list(uow.inbox) == [record["event_id"]] and uow.commits == 1


@FUZZ
@given(topic_and_mutant)
def test_a_wrong_type_bad_date_or_bad_amount_is_rejected_without_echoing_the_value(case):
    topic, record = case
    decoded = DECODERS[topic](json.dumps(record).encode())
    if decoded.events:  # the mutation hit a field that accepts it (free text, an unknown field): still valid
        assert decoded.errors == []
        return
    (error,) = decoded.errors
    assert error.error_class in PERMANENT
    assert SENTINEL not in error.reason and "12,50" not in error.reason and "2026-02-30" not in error.reason


@FUZZ
@given(topic_and_record, st.integers(min_value=0))
def test_a_truncated_record_is_rejected_as_not_json(case, cut):
    topic, record = case
    raw = json.dumps(record, ensure_ascii=False).encode()
    error = _rejected(topic, truncated(raw, cut % len(raw)))
    assert error.error_class in {"not_json", "not_utf8"}


@FUZZ
@given(st.sampled_from(sorted(CONTRACTS)), st.binary(max_size=3000))
def test_arbitrary_bytes_never_raise(topic, raw):
    decoded = DECODERS[topic](raw)
    assert len(decoded.events) + len(decoded.errors) == 1
    assert all(e.error_class in PERMANENT for e in decoded.errors)


@FUZZ
@given(st.sampled_from(sorted(CONTRACTS)), non_utf8)
def test_non_utf8_bytes_are_rejected_with_the_byte_position_only(topic, raw):
    error = _rejected(topic, raw)
    assert error.error_class == "not_utf8" and error.reason.startswith("(record): not UTF-8 at byte ")


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(sorted(CONTRACTS)), st.integers(min_value=LIMIT + 1, max_value=LIMIT * 4))
def test_a_record_over_the_configured_limit_is_rejected_as_oversize_before_parsing(topic, size):
    raw = b'{"event_id": "' + b"x" * size + b'"}'
    error = _rejected(topic, raw)
    assert error.error_class == "oversize" and str(LIMIT) in error.reason and "xxxx" not in error.reason


def test_the_limit_is_the_configured_one():
    record = json.dumps({"event_id": "e"}).encode() + b" " * 2000
    assert json_decoders(1024)[CLAIMS_REMITTANCE](record).errors[0].error_class == "oversize"
    assert json_decoders(4096)[CLAIMS_REMITTANCE](record).errors[0].error_class == "schema_violation"


@settings(max_examples=10, deadline=None)
@given(st.sampled_from(sorted(CONTRACTS)), st.sampled_from([64, 500, 5_000, 30_000, 200_000]))
def test_deeply_nested_json_is_rejected_not_a_crash(topic, depth):
    error = _rejected(topic, deeply_nested(depth))
    # within the size limit: rejected by the parser (recursion limit) or the schema; beyond it: before parsing
    assert error.error_class in ({"not_json", "schema_violation"} if depth * 2 < LIMIT else {"oversize"})


@st.composite
def with_nul(draw):
    topic, record = draw(topic_and_record)
    texts = [p for p in paths(record) if isinstance(_at(record, p), str)]
    path = draw(st.sampled_from(texts))
    value = _at(record, path)
    cut = draw(st.integers(0, len(value)))
    return topic, replaced(record, path, value[:cut] + "\x00" + value[cut:]), path


def _at(record, path):
    for part in path:
        record = record[part]
    return record


@FUZZ
@given(with_nul())
def test_u0000_in_any_text_is_rejected_with_the_field_path_never_applied(case):
    # PostgreSQL stores U+0000 in no text or jsonb column: accepting it would fail the whole batch later
    topic, record, path = case
    error = _rejected(topic, json.dumps(record).encode())
    assert error.error_class == "schema_violation" and str(path[-1]) in error.reason
