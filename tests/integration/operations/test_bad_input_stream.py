"""Bad input on the live stream: hypothesis-generated records for every JSON input contract, mixed with wrong types,
impossible dates and amounts, truncated, oversize (DENIALS_MAX_RECORD_BYTES), deeply nested and non-UTF-8 records,
empty and null values. The worker applies every valid record, dead-letters every bad one with a value-free reason,
keeps running and keeps every partition moving (valid records published after the garbage are applied)."""

from __future__ import annotations

import json
import random

from agents.decoders import json_decoders
from tests.support.fleet import is_ready
from tests.support.invariants import check_invariants
from tests.support.ports import eventually
from tests.support.strategies import (
    SENTINEL,
    deeply_nested,
    examples,
    mutated,
    non_utf8,
    provider_adjustments,
    remittances,
    status_events,
    truncated,
)
from tests.support.workload import Published, adjustments_in, publish_records
from topics.catalogue import CLAIMS_REMITTANCE, CLAIMS_STATUS, PROVIDER_ADJUSTMENTS

LIMIT = 16 * 1024


def _valid_records(prefix: str) -> list[Published]:
    out = []
    plan = [(CLAIMS_REMITTANCE, "rm", remittances(), 150), (CLAIMS_STATUS, "st", status_events(), 150),
            (PROVIDER_ADJUSTMENTS, "pa", provider_adjustments(), 60)]
    for topic, tag, strategy, n in plan:
        for i, record in enumerate(examples(strategy, n)):
            event_id = f"{prefix}{tag}-{i}"
            record["event_id"] = event_id
            if topic == PROVIDER_ADJUSTMENTS:
                key = f"{prefix}npi-{i % 7}"
                if i % 3 == 0:
                    record["adjustment"]["claim_id"] = f"{prefix}c{i}"
            else:
                key = f"{prefix}c{i}"
                record.setdefault("claim", None)
                if record["claim"] is not None:
                    record["claim"]["claim_id"] = key
                if topic == CLAIMS_REMITTANCE:
                    record["remit"]["trace_number"] = f"T{i}"
            expected = adjustments_in(record) if topic == CLAIMS_REMITTANCE else None
            out.append(Published(topic, key.encode(), json.dumps(record).encode(), event_id, True,
                                 record["claim"]["claim_id"] if record.get("claim") else None, expected))
    return out


def _bad_records(prefix: str, valid: list[Published], rng: random.Random) -> list[Published]:
    decoders = json_decoders(LIMIT)
    contracts = {CLAIMS_REMITTANCE: remittances(), CLAIMS_STATUS: status_events(),
                 PROVIDER_ADJUSTMENTS: provider_adjustments()}
    out: list[Published] = []

    def bad(topic: str, value: bytes | None, n: int) -> None:
        out.append(Published(topic, f"{prefix}garbage-{topic}-{n % 5}".encode(), value, None, False))

    n = 0
    for topic, strategy in contracts.items():
        for record in examples(mutated(strategy), 60):
            raw = json.dumps(record).encode()
            if decoders[topic](raw).events:
                continue  # the mutation landed where anything goes: not a bad record
            bad(topic, raw, n := n + 1)
        for topic_valid in [p for p in valid if p.topic == topic][:25]:
            bad(topic, truncated(topic_valid.value, rng.randrange(len(topic_valid.value))), n := n + 1)
        for raw in examples(non_utf8, 10):
            bad(topic, raw, n := n + 1)
        bad(topic, deeply_nested(3000), n := n + 1)
        bad(topic, deeply_nested(LIMIT), n := n + 1)  # oversize, too
        bad(topic, b'{"event_id": "big", "pad": "' + b"x" * LIMIT + b'"}', n := n + 1)
        bad(topic, b"", n := n + 1)
        bad(topic, None, n := n + 1)
        bad(topic, bytes(rng.randrange(256) for _ in range(300)), n := n + 1)
    # U+0000 in kept text: PostgreSQL can store it nowhere, so the decoder rejects it with the field's path.
    status = next(p for p in valid if p.topic == CLAIMS_STATUS)
    for i, field in enumerate(("payer", "other_payer", "line")):
        record = json.loads(status.value)
        record.update(event_id=f"{prefix}nul-{i}", kind="submitted", status=None, scope=None)
        record["claim"] = record.get("claim") or {"claim_id": f"{prefix}nul-{i}", "lines": []}
        if field == "payer":
            record["payer"]["name"] = "ACME\u0000 HEALTH"
        elif field == "other_payer":
            record["claim"]["other_payers"] = [{"id": "P2", "name": "\u0000"}]
        else:
            record["claim"]["lines"] = [{"line_id": "1\u0000", "procedure": {"code": "64483"}, "charge": 1.0}]
        bad(CLAIMS_STATUS, json.dumps(record).encode(), n := n + 1)
    return out


async def test_generated_and_broken_records_on_every_input_topic_keep_the_worker_and_partitions_moving(
        stack, db, fleet, run_id):
    rng = random.Random(3)
    prefix = f"BI-{run_id}-"
    valid = _valid_records(prefix)
    garbage = _bad_records(prefix, valid, rng)
    # Garbage first on its keys, then valid records behind it on the same keys (same partitions), every topic.
    after = []
    for i, p in enumerate(garbage[::5]):
        source = [v for v in valid if v.topic == p.topic][i]
        record = json.loads(source.value)
        record["event_id"] = f"{prefix}after-{i}"
        if p.topic == CLAIMS_REMITTANCE:
            record["remit"]["trace_number"] = f"A{i}"
        after.append(Published(p.topic, p.key, json.dumps(record).encode(), record["event_id"], True,
                               source.claim_id, source.expected_decisions))
    mixed = valid[: len(valid) // 2] + garbage + valid[len(valid) // 2:]
    records = mixed + after
    assert len(garbage) > 150 and {p.topic for p in after} == {p.topic for p in garbage}

    worker = await fleet.start(f"bad-input-{run_id}", DENIALS_MAX_RECORD_BYTES=str(LIMIT))
    await publish_records(stack.bootstrap, records)
    report = await check_invariants(db, stack.bootstrap, records, claim_prefix=prefix, timeout=60)

    letters = await db.fetch("SELECT error_class, reason FROM dead_letters WHERE substr(key, 1, $2) = $1",
                             prefix.encode(), len(prefix))
    assert len(letters) == len(garbage)
    classes = sorted({r["error_class"] for r in letters})
    assert sum("U+0000" in r["reason"] for r in letters) == 3
    assert {"not_json", "not_utf8", "oversize", "schema_violation"} <= set(classes)
    for letter in letters:
        assert SENTINEL not in letter["reason"] and "xxxxxxxx" not in letter["reason"], letter["reason"]
    assert worker.proc.poll() is None
    await eventually(lambda: is_ready(worker), timeout=60, message="the worker still ready")
    print(f"\nbad input: valid={len(valid) + len(after)} garbage={len(garbage)} classes={classes} {report.line()}")
