"""`denials deadletters list|show|replay|resolve`, run as the real command against the test database and broker.

The story an operator lives: a worker with a too-small DENIALS_MAX_RECORD_BYTES dead-letters three large but valid
remittances (with some real garbage around them); the limit is raised, the oversize letters are replayed to their
source topic with their original key and bytes, and applied once, however often they are replayed. Garbage is
resolved with a note. Nothing is ever deleted."""

from __future__ import annotations

import base64
import json

from aiokafka import AIOKafkaConsumer, TopicPartition

from tests.support import events
from tests.support.cli import denials
from tests.support.ports import eventually
from tests.support.workload import REMITTANCE_TOPIC, Published, publish_records
from topics.codec import value_digest


def big_remittance(event_id: str, claim_id: str, lines: int = 30) -> dict:
    return events.remittance(event_id, claim_id, trace_number=f"EFT-{event_id}", lines=[
        events.line(str(i), "64483", ["RT"], charge=1200.0, paid=0.0, service_date=f"2026-01-{1 + i % 28:02d}",
                    adjustments=[{"group": "CO", "reason": "197", "amount": 1200.0}]) for i in range(1, lines + 1)])


async def _letters(db, prefix: bytes):
    return await db.fetch("SELECT * FROM dead_letters WHERE substr(key, 1, $2) = $1 ORDER BY id", prefix, len(prefix))


async def _record_at(bootstrap: str, topic: str, partition: int, offset: int):
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        batch = await consumer.getmany(tp, timeout_ms=10_000, max_records=1)
        return batch[tp][0]
    finally:
        await consumer.stop()


async def test_oversize_letters_replayed_after_the_limit_is_raised_apply_once_and_garbage_is_resolved(
        stack, db, fleet, run_id):
    prefix = f"DL-{run_id}-"
    big = [big_remittance(f"dl-big-{run_id}-{i}", f"{prefix}{i}") for i in range(3)]
    bad_schema = events.remittance(f"dl-bad-{run_id}", f"{prefix}schema")
    bad_schema["claim"]["status_code"] = 99
    good = events.remittance(f"dl-good-{run_id}", f"{prefix}0", trace_number=f"EFT-good-{run_id}",
                             occurred_at="2026-03-09T10:00:00Z")
    records = [Published(REMITTANCE_TOPIC, f"{prefix}{i}".encode(), json.dumps(e).encode(), e["event_id"], True)
               for i, e in enumerate(big)]
    records += [Published(REMITTANCE_TOPIC, f"{prefix}junk".encode(), b"\xff\xfe not a remittance", None, False),
                Published(REMITTANCE_TOPIC, f"{prefix}schema".encode(), json.dumps(bad_schema).encode(), None, False),
                Published(REMITTANCE_TOPIC, f"{prefix}0".encode(), json.dumps(good).encode(), good["event_id"], True)]
    assert all(len(r.value) > 4096 for r in records[:3])

    small = await fleet.start(f"dl-small-{run_id}", DENIALS_MAX_RECORD_BYTES="4096")
    await publish_records(stack.bootstrap, records)
    await eventually(lambda: db.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", good["event_id"]),
                     timeout=90, message="the valid record behind the bad ones")
    letters = await eventually(lambda: _n(_letters(db, prefix.encode()), 5), timeout=60, message="five letters")
    by_class = {}
    for row in letters:
        by_class.setdefault(row["error_class"], []).append(row)
    assert sorted((k, len(v)) for k, v in by_class.items()) == [("not_utf8", 1), ("oversize", 3),
                                                                ("schema_violation", 1)]
    # the event id of every JSON record that has one, whatever is wrong with it
    assert sorted(r["source_event_id"] for r in by_class["oversize"]) == sorted(e["event_id"] for e in big)
    assert by_class["schema_violation"][0]["source_event_id"] == bad_schema["event_id"]
    assert by_class["not_utf8"][0]["source_event_id"] is None
    assert await fleet.stop(small) == 0

    # list: filters, JSON for machines, a table for people, never a key or a value (PHI)
    listed = await denials(stack, "deadletters", "list", "--reason", "oversize", "--json", "--limit", "1000")
    assert listed.code == 0, listed.stderr
    mine = [x for x in listed.json()["dead_letters"] if x["dead_letter_id"] in {r["dead_letter_id"] for r in letters}]
    assert sorted(x["error_class"] for x in mine) == ["oversize"] * 3
    assert all(x["status"] == "new" and x["value_size"] > 4096 for x in mine)
    table = await denials(stack, "deadletters", "list", "--since", "1h")
    assert table.code == 0 and "DEAD LETTER" in table.stdout and "oversize" in table.stdout
    assert prefix not in table.stdout and prefix not in listed.stdout, "list must not print keys (claim ids)"
    assert (await denials(stack, "deadletters", "list", "--since", "2099-01-01", "--json")).json()["total"] == 0

    # show: metadata by default; the original key and bytes only when asked
    oversize = by_class["oversize"][0]
    shown = await denials(stack, "deadletters", "show", oversize["dead_letter_id"], "--json")
    assert shown.code == 0 and "value_b64" not in shown.json() and shown.json()["reason"] == oversize["reason"]
    full = (await denials(stack, "deadletters", "show", str(oversize["id"]), "--value", "--json")).json()
    assert base64.b64decode(full["value_b64"]) == oversize["value"]
    assert base64.b64decode(full["key_b64"]) == oversize["key"]

    # replay --all --reason oversize, once the limit is raised: each to its source topic, original key and bytes
    await fleet.start(f"dl-big-{run_id}")
    replayed = await denials(stack, "deadletters", "replay", "--all", "--reason", "oversize", "--json")
    assert replayed.code == 0, replayed.stderr
    out = [x for x in replayed.json()["replayed"] if x["dead_letter_id"] in {r["dead_letter_id"] for r in letters}]
    assert len(out) == 3
    for item in out:
        letter = next(r for r in letters if r["dead_letter_id"] == item["dead_letter_id"])
        record = await _record_at(stack.bootstrap, item["topic"], item["partition"], item["offset"])
        assert (item["topic"], record.key, record.value) == (REMITTANCE_TOPIC, letter["key"], letter["value"])
        assert ("denials-replay-of", letter["dead_letter_id"].encode()) in list(record.headers)
    big_ids = [e["event_id"] for e in big]
    await eventually(lambda: db.fetchval("SELECT count(*) = 3 FROM inbox WHERE event_id = ANY($1)", big_ids),
                     timeout=90, message="the replayed remittances applied")
    decisions = await db.fetchval("SELECT count(*) FROM decisions WHERE event_id = ANY($1)", big_ids)
    assert decisions == 90  # 30 adjustments each
    audit_sql = "SELECT count(*) FROM task_events WHERE causation_id = ANY($1)"
    audit = await db.fetchval(audit_sql, big_ids)
    assert audit > 0

    # replaying again is harmless: the inbox already has the events
    again = await denials(stack, "deadletters", "replay", oversize["dead_letter_id"], "--json")
    assert again.code == 0 and again.json()["replayed"][0]["replay_count"] == 2
    marker = events.remittance(f"dl-marker-{run_id}", oversize["key"].decode(), trace_number=f"EFT-m-{run_id}",
                               occurred_at="2026-03-10T10:00:00Z")
    await publish_records(stack.bootstrap, [Published(REMITTANCE_TOPIC, oversize["key"], json.dumps(marker).encode(),
                                                      marker["event_id"], True)])
    await eventually(lambda: db.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", marker["event_id"]),
                     timeout=90, message="a record behind the second replay (so the replay was consumed)")
    assert await db.fetchval("SELECT count(*) FROM decisions WHERE event_id = ANY($1)", big_ids) == 90
    assert await db.fetchval(audit_sql, big_ids) == audit, "a second replay must not touch the tasks again"

    # resolve the garbage with a note; a resolved letter is not replayed; nothing was deleted
    junk = by_class["not_utf8"][0]
    resolved = await denials(stack, "deadletters", "resolve", junk["dead_letter_id"], "--note", "test feed garbage")
    assert resolved.code == 0 and "resolved" in resolved.stdout
    skipped = await denials(stack, "deadletters", "replay", str(junk["id"]), "--json")
    assert skipped.code == 0 and skipped.json()["replayed"] == [] and len(skipped.json()["skipped_resolved"]) == 1
    rows = {r["dead_letter_id"]: r for r in await _letters(db, prefix.encode())}
    assert set(rows) == {r["dead_letter_id"] for r in letters}, "replays of good records add no letters, none deleted"
    assert rows[junk["dead_letter_id"]]["status"] == "resolved" and rows[junk["dead_letter_id"]]["resolved_at"]
    assert rows[junk["dead_letter_id"]]["note"] == "test feed garbage"
    assert all(rows[r["dead_letter_id"]]["status"] == "replayed" and rows[r["dead_letter_id"]]["replayed_at"]
               for r in by_class["oversize"])
    assert rows[by_class["schema_violation"][0]["dead_letter_id"]]["status"] == "new"


async def test_a_letter_still_bad_when_replayed_adds_no_copy_and_counts_another_attempt(
        stack, db, fleet, run_id):
    key = f"DLB-{run_id}".encode()
    await fleet.start(f"dl-still-{run_id}")
    await publish_records(stack.bootstrap, [Published(REMITTANCE_TOPIC, key, b"{not json", None, False)])
    (first,) = await eventually(lambda: _n(_letters(db, key), 1), timeout=60, message="the letter")
    for n in (1, 2):
        result = await denials(stack, "deadletters", "replay", first["dead_letter_id"])
        assert result.code == 0 and "replayed 1 dead letter(s)" in result.stdout, result.stderr
        (letter,) = await eventually(lambda n=n: _attempts(_letters(db, key), n + 1), timeout=60,
                                     message=f"replay {n} came back to the letter")
        assert (letter["status"], letter["replay_count"], letter["value"]) == ("new", n, first["value"])
        returned = json.loads(letter["detail"])["returned_after_replay"]
        assert (returned["partition"], returned["offset"]) == (letter["replayed_partition"],
                                                               letter["replayed_offset"])
    assert len(await _letters(db, key)) == 1, "an unchanged record replayed and still bad adds no second letter"


async def test_an_oversize_record_is_stored_as_a_prefix_and_replayed_whole_from_the_input_topic(
        stack, db, fleet, run_id):
    key = f"DLO-{run_id}".encode()
    record = big_remittance(f"dl-huge-{run_id}", key.decode())
    record["producer_notes"] = "x" * 120_000  # an unknown field: accepted and ignored once the limit allows it
    raw = json.dumps(record).encode()
    assert len(raw) > 100_000
    small = await fleet.start(f"dl-huge-small-{run_id}", DENIALS_MAX_RECORD_BYTES="8192")
    await publish_records(stack.bootstrap, [Published(REMITTANCE_TOPIC, key, raw, None, False)])
    (letter,) = await eventually(lambda: _n(_letters(db, key), 1), timeout=60, message="the oversize letter")
    assert letter["error_class"] == "oversize" and letter["source_event_id"] == record["event_id"]
    assert letter["value_truncated"] and letter["value"] == raw[:len(letter["value"])] and len(letter["value"]) < 70_000
    assert (letter["value_size"], letter["value_digest"]) == (len(raw), value_digest(raw))
    assert "stays on claims.remittance.v1" in json.loads(letter["detail"])["original"]

    # replayed while the limit is still too small: the same letter again, no second copy
    result = await denials(stack, "deadletters", "replay", letter["dead_letter_id"])
    assert result.code == 0, result.stderr
    (again,) = await eventually(lambda: _attempts(_letters(db, key), 2), timeout=60, message="the replay returned")
    assert again["value"] == letter["value"] and again["status"] == "new"

    # the limit raised: the replay reads the whole value back from the input topic and it applies
    assert await fleet.stop(small) == 0
    await fleet.start(f"dl-huge-big-{run_id}")
    result = await denials(stack, "deadletters", "replay", letter["dead_letter_id"], "--json")
    assert result.code == 0, result.stderr
    await eventually(lambda: db.fetchval("SELECT 1 FROM inbox WHERE event_id = $1", record["event_id"]),
                     timeout=90, message="the whole record replayed and applied")
    assert await db.fetchval("SELECT count(*) FROM decisions WHERE event_id = $1", record["event_id"]) == 30
    assert len(await _letters(db, key)) == 1


async def _attempts(rows_coro, n: int):
    rows = await rows_coro
    return rows if rows and all(r["attempts"] >= n for r in rows) else None


async def test_bad_usage_and_unknown_letters_get_a_clear_error_and_a_non_zero_exit(stack):
    cases = [
        (("deadletters", "replay"), 2, "name the letters"),
        (("deadletters", "replay", "1", "--all"), 2, "not both"),
        (("deadletters", "list", "--since", "yesterday"), 2, "--since 'yesterday'"),
        (("deadletters", "list", "--status", "gone"), 2, "--status 'gone'"),
        (("deadletters", "show", "drop table"), 2, "is not a dead-letter id"),
        (("deadletters", "show", "987654321"), 1, "no dead letter 987654321"),
        (("deadletters", "resolve", "dl-" + "0" * 32), 1, "no dead letter"),
    ]
    for args, code, message in cases:
        result = await denials(stack, *args)
        assert (result.code, message in result.stderr) == (code, True), (args, result)
    unreachable = await denials(stack, "deadletters", "list", DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    assert unreachable.code == 1 and "cannot reach PostgreSQL" in unreachable.stderr


async def _n(rows_coro, n: int):
    rows = await rows_coro
    return rows if len(rows) >= n else None
