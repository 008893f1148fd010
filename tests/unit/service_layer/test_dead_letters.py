"""The dead-letter use case over an in-memory unit of work: the letter and its deadletter.v1 outbox record are
written together (one path to the broker: the relay), once per letter id."""

from __future__ import annotations

import datetime as dt

import orjson

from service.service_layer.dead_letters import dead_letter
from service.service_layer.unit_of_work import DeadLetterEntry
from tests.unit.service_layer.timer_fakes import FakeDeadLetters
from topics.catalogue import DEADLETTER

AT = dt.datetime(2026, 3, 17, 8, 0, tzinfo=dt.UTC)


def letter(n: int, *, key: bytes | None = b"PC-1") -> DeadLetterEntry:
    record = orjson.dumps({"event_id": f"dl-{n}", "error_class": "not_json", "reason": "not JSON"})
    return DeadLetterEntry(
        dead_letter_id=f"dl-{n}", source_topic="claims.remittance.v1", source_partition=0, source_offset=n,
        source_event_id=None, key=key, value=b"not json {", error_class="not_json", reason="not JSON", attempts=1,
        first_failed_at=AT, value_size=10, value_digest="sha256:x", value_truncated=False, detail=None,
        record=record)


async def test_a_dead_letter_is_stored_and_queued_for_the_relay_in_one_transaction():
    uow = FakeDeadLetters()
    await dead_letter(uow, [letter(1), letter(2, key=None)])
    assert uow.commits == 1 and sorted(uow.letters) == ["dl-1", "dl-2"]
    records = [uow.outbox[i] for i in ("dl-1", "dl-2")]
    assert [(r.topic, r.key, r.causation_id) for r in records] == [(DEADLETTER, b"PC-1", "dl-1"),
                                                                   (DEADLETTER, None, "dl-2")]
    assert records[0].payload == letter(1).record  # the record's bytes as the agent encoded them


async def test_a_redelivered_bad_record_is_stored_and_queued_once():
    uow = FakeDeadLetters()
    await dead_letter(uow, [letter(1)])
    await dead_letter(uow, [letter(1)])
    assert len(uow.letters) == 1 and len(uow.outbox) == 1


async def test_no_letters_open_no_transaction():
    uow = FakeDeadLetters()
    await dead_letter(uow, [])
    assert uow.transactions == 0
