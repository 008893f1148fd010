"""The content digest behind conflicting-duplicate detection, and the event id read from records that fail."""

from __future__ import annotations

import json

from tests.support import events
from topics.codec import content_digest, readable_event_id, value_digest


def _remit(**kw) -> dict:
    return events.remittance("rm-dig-1", "PC-DIG-1", **kw)


def test_a_byte_identical_record_has_the_same_digest():
    raw = json.dumps(_remit()).encode()
    assert content_digest(raw) == content_digest(bytes(raw))
    assert content_digest(raw).startswith("cj1:") and len(content_digest(raw)) == 4 + 64


def test_reserialising_the_same_record_keeps_the_digest():
    record = _remit()
    compact = json.dumps(record, separators=(",", ":")).encode()
    pretty = json.dumps(record, indent=4, sort_keys=True).encode()
    escaped = json.dumps(record, ensure_ascii=True).replace('"DOE, JANE"', '"\\u0044OE, JANE"').encode()
    assert content_digest(compact) == content_digest(pretty) == content_digest(escaped)


def test_numbers_count_by_value_not_by_spelling():
    assert content_digest(b'{"a": 812.40, "b": 1}') == content_digest(b'{"b": 1.0, "a": 812.4}')
    assert content_digest(b'{"a": 812.40}') != content_digest(b'{"a": 812.41}')
    assert content_digest(b'{"a": 1e2}') == content_digest(b'{"a": 100}')
    assert content_digest(b'{"a": [1.0, 2.50], "b": {"c": 3.00}}') == content_digest(b'{"a": [1, 2.5], "b": {"c": 3}}')
    assert content_digest(b'{"a": 10.05}') != content_digest(b'{"a": 10.5}')


def test_other_content_under_the_same_id_has_another_digest():
    first = _remit()
    later = _remit(lines=[events.line("1", "64483", ["RT"], charge=1200.00, paid=0.00,
                                      adjustments=[{"group": "CO", "reason": "50", "amount": 1200.00}])],
                   remarks=["N115"])
    assert first["event_id"] == later["event_id"]
    assert content_digest(json.dumps(first).encode()) != content_digest(json.dumps(later).encode())


def test_an_added_field_and_a_reordered_list_change_the_digest():
    # unknown fields are part of what the producer said under that id; list order is content (lines, codes)
    assert content_digest(b'{"a": 1}') != content_digest(b'{"a": 1, "extra": null}')
    assert content_digest(b'{"a": [1, 2]}') != content_digest(b'{"a": [2, 1]}')
    assert content_digest(b'{"a": true}') != content_digest(b'{"a": 1}')


def test_a_value_that_is_not_json_is_digested_by_its_bytes():
    assert content_digest(b"{not json") == content_digest(b"{not json") != content_digest(b"{not json ")


def test_value_digest_is_the_sha256_of_the_exact_bytes():
    import hashlib

    assert value_digest(b"abc") == "sha256:" + hashlib.sha256(b"abc").hexdigest()
    assert value_digest(None) == value_digest(b"")


def test_the_event_id_is_read_from_any_json_object_that_has_a_readable_one():
    assert readable_event_id(json.dumps({"event_id": "st-1", "schema_version": 7}).encode()) == "st-1"
    assert readable_event_id(b'{"event_id": "rm-2", "claim": 5}') == "rm-2"
    assert readable_event_id(b'{"schema_version": 1}') is None
    assert readable_event_id(b'{"event_id": 17}') is None
    assert readable_event_id(b'["rm-1"]') is None
    assert readable_event_id(b"{not json") is None
    assert readable_event_id(None) is None
    assert readable_event_id(json.dumps({"event_id": "x" * 500}).encode()) is None


def test_the_event_id_of_an_oversize_record_is_read_from_its_prefix():
    big = json.dumps({"event_id": "rm-big-1", "schema_version": 1, "pad": "x" * 200_000}).encode()
    assert readable_event_id(big, max_bytes=1024) == "rm-big-1"
    late = json.dumps({"schema_version": 1, "event_id": "rm-big-2", "pad": "x" * 200_000}).encode()
    assert readable_event_id(late, max_bytes=1024) == "rm-big-2"
    hidden = json.dumps({"pad": "x" * 5000, "event_id": "rm-big-3"}).encode()
    assert readable_event_id(hidden, max_bytes=1024) is None  # not within the prefix: not parsed for
