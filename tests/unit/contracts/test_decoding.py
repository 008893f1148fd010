"""Decoding input records: unknown fields ignored, missing or mistyped fields rejected with the field path and a
reason that never echoes the value."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.support import events
from topics.codec import ContractError, decode
from topics.provider_adjustment import ProviderAdjustmentEvent
from topics.remittance import RemittanceEvent
from topics.status import StatusEvent

SECRET = "ZZ-SECRET-VALUE-913"


def raw(record: dict) -> bytes:
    return json.dumps(record).encode()


def test_the_design_example_decodes_with_money_as_decimal():
    ev = decode(RemittanceEvent, raw(events.remittance("rm-1", "PC-1")))
    assert ev.claim.lines[0].charge == Decimal("1200.00")
    assert isinstance(ev.claim.total_paid, Decimal)


def test_unknown_fields_are_accepted_and_ignored():
    record = events.remittance("rm-1", "PC-1")
    record["future_field"] = {"x": 1}
    record["claim"]["lines"][0]["new_thing"] = "y"
    ev = decode(RemittanceEvent, raw(record))
    assert not hasattr(ev, "future_field")


def test_money_goes_out_as_a_json_number():
    ev = decode(RemittanceEvent, raw(events.remittance("rm-1", "PC-1")))
    out = json.loads(ev.model_dump_json())
    assert out["claim"]["total_charge"] == 1200.0


@pytest.mark.parametrize("mutate, path", [
    (lambda r: r["claim"].pop("total_paid"), "claim.total_paid"),
    (lambda r: r["claim"].update(total_paid=SECRET), "claim.total_paid"),
    (lambda r: r["claim"]["lines"][0].update(charge=1.234), "claim.lines[0].charge"),
    (lambda r: r.update(occurred_at=SECRET), "occurred_at"),
    (lambda r: r["payer"].update(type=SECRET), "payer.type"),
    (lambda r: r["claim"]["lines"][0]["adjustments"][0].update(group=SECRET), "claim.lines[0].adjustments[0].group"),
    (lambda r: r["remit"].update(production_date="2026-02-30"), "remit.production_date"),
])
def test_bad_fields_are_rejected_with_the_path_and_without_the_value(mutate, path):
    record = events.remittance("rm-1", "PC-1")
    mutate(record)
    with pytest.raises(ContractError) as err:
        decode(RemittanceEvent, raw(record))
    assert err.value.error_class == "schema_violation"
    assert path in err.value.reason
    assert SECRET not in err.value.reason
    assert "2026-02-30" not in err.value.reason


@pytest.mark.parametrize("payload, error_class", [
    (b"not json", "not_json"),
    (b"\xff\xfe\x00garbage", "not_utf8"),
    (b"[" * 100_000, "not_json"),
    (b"", "not_json"),
])
def test_unparseable_records_get_a_clear_error_class(payload, error_class):
    with pytest.raises(ContractError) as err:
        decode(RemittanceEvent, payload)
    assert err.value.error_class == error_class


def test_oversize_records_are_rejected_before_parsing():
    with pytest.raises(ContractError) as err:
        decode(RemittanceEvent, b"x" * 2000, max_bytes=1000)
    assert err.value.error_class == "oversize"


def test_status_events_need_a_status_unless_submitted():
    record = events.submitted("st-1", "PC-1")
    assert decode(StatusEvent, raw(record)).kind == "submitted"
    record["kind"] = "status"
    with pytest.raises(ContractError) as err:
        decode(StatusEvent, raw(record))
    assert "status" in err.value.reason


def test_provider_adjustment_decodes():
    record = {"event_id": "plb-1", "occurred_at": "2026-03-02T00:00:00Z",
              "payer": {"id": "MCR", "type": "medicare"}, "payee": {"npi": "1234567893"},
              "remit": {"production_date": "2026-03-01", "trace_number": "T1"},
              "adjustment": {"reason": "WO", "reference": "PC-9", "claim_id": "PC-9", "amount": 120.5}}
    ev = decode(ProviderAdjustmentEvent, raw(record))
    assert ev.adjustment.amount == Decimal("120.5")
