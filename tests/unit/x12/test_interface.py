"""The gateway's entry points for other callers: progress reporting, the business key, record keys and wire form."""

from __future__ import annotations

import json
from decimal import Decimal

from service.x12 import business_key, parse_bytes, parse_file
from service.x12.synthetic import pain_management_remittance, render
from tests.unit.x12.conftest import sample
from topics.codec import decode
from topics.remittance import RemittanceEvent

GOOD = render(pain_management_remittance())


def test_progress_is_reported_up_to_the_whole_file():
    seen: list[tuple[int, int]] = []
    parse_bytes(GOOD, max_bytes=10**7, progress=lambda done, total: seen.append((done, total)))

    assert seen and seen[-1][0] == seen[-1][1]
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_parse_file_and_parse_bytes_agree(tmp_path):
    path = tmp_path / "pain.835"
    path.write_bytes(GOOD)
    assert parse_file(path, source="s", max_bytes=10**7) == parse_bytes(GOOD, source="s", max_bytes=10**7)


def test_every_record_value_decodes_as_its_topic_contract():
    for record in parse_bytes(GOOD, max_bytes=10**7).records():
        assert decode(type(record.record), record.value()) == record.record
        line = json.loads(record.json_line())
        assert line["value"] == json.loads(record.value())


def test_the_business_key_follows_payer_trace_claim_status_and_amounts():
    event = next(e for e in parse_bytes(GOOD, max_bytes=10**7).events if isinstance(e, RemittanceEvent))
    key = business_key(event)

    assert key.startswith("bk1:") and "PM-1001" not in key  # a digest: no claim id in it
    assert business_key(event.model_copy(update={"event_id": "another-id"})) == key
    assert business_key(event.model_copy(update={"source": "elsewhere"})) == key
    changed = [
        event.model_copy(update={"payer": event.payer.model_copy(update={"id": "OTHER"})}),
        event.model_copy(update={"remit": event.remit.model_copy(update={"trace_number": "EFT9"})}),
        event.model_copy(update={"claim": event.claim.model_copy(update={"claim_id": "PM-9"})}),
        event.model_copy(update={"claim": event.claim.model_copy(update={"payer_claim_number": "ICN-9"})}),
        event.model_copy(update={"claim": event.claim.model_copy(update={"status_code": "22"})}),
        event.model_copy(update={"claim": event.claim.model_copy(update={"total_paid": Decimal("1.00")})}),
        event.model_copy(update={"claim": event.claim.model_copy(update={"total_charge": Decimal("1.00")})}),
    ]
    assert len({business_key(e) for e in changed} | {key}) == len(changed) + 1


def test_batch_level_statuses_are_keyed_by_their_scope():
    (record,) = parse_file(sample("tr3-information-receiver-level-status.277")).records()
    assert (record.topic, record.key) == ("claims.status.v1", "batch:information_receiver:ABC276XXX")
