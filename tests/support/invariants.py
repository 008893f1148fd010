"""The reliability invariants (DESIGN "Reliability invariants"), checked once, the same way, at the end of every
fault test.

1. Every published event is in the store exactly once (inbox row, and its effects written once: one remittance row,
   one timeline entry, one decision per adjustment, no repeated task audit row), or it is a dead letter, never both
   and never neither. Records that cannot be decoded are dead letters, one per record.
2. Every follow-up record a committed transaction wrote (outbox row) is on the broker at least once; a consumer
   deduping by `event_id` sees each exactly once, with the same bytes every time, in outbox order per claim, and
   sees nothing that no committed transaction wrote.
3. No dead letter came from a transient failure: the dead letters are exactly the malformed records, each with a
   permanent error class, and none is on a valid event.
4. No duplicate task per (claim, payer, category); every task was asked for by a denial or a payer's status report,
   and (for claims whose events arrived in order: `tasks_complete_for`) every cause denied has its task.

`check_invariants` waits (with a deadline) for the pipeline to settle, then asserts every invariant and returns the
counts, which the tests print and the reliability notes report.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from typing import Any

import asyncpg

from service.adapters.kafka import read_topic
from service.domain.tasks import task_id_for
from tests.support.ports import eventually
from tests.support.workload import Published

PERMANENT_ERROR_CLASSES = frozenset({"not_json", "not_utf8", "schema_violation", "oversize"})
# Exception names that mean "not now": a dead letter mentioning one was caused by an outage, not by the input.
TRANSIENT_NAMES = ("Connection", "Timeout", "Interface", "KafkaError", "NodeNotReady", "RequestTimedOut",
                   "CannotConnectNow", "AdminShutdown", "TooManyConnections", "OSError", "Cancelled")


@dataclass
class InvariantReport:
    published: int = 0  # records produced by the test (duplicates included)
    distinct_events: int = 0  # distinct valid event ids
    applied: int = 0  # inbox rows for them
    malformed: int = 0  # records that cannot be decoded
    dead_letters: int = 0  # dead-letter rows for the test's records
    decisions: int = 0
    tasks: int = 0
    task_events: int = 0
    outbox: int = 0  # follow-up records written by committed transactions
    on_broker: int = 0  # their deliveries on the broker (at least once: duplicates counted)
    redelivered_on_broker: int = 0  # deliveries beyond the first (a relay that crashed between produce and mark)
    dead_letters_on_broker: int = 0

    def line(self) -> str:
        return " ".join(f"{k}={v}" for k, v in asdict(self).items())


async def _rows(db: asyncpg.Pool, sql: str, *args: Any) -> list[asyncpg.Record]:
    return await db.fetch(sql, *args)


async def settled(db: asyncpg.Pool, published: list[Published]) -> bool:
    """Every published record accounted for: a valid event in the inbox (or, wrongly, dead-lettered: the checks
    below report that), a malformed record dead-lettered. Then the stream has been consumed."""
    ids = sorted({p.event_id for p in published if p.valid and p.event_id})
    seen = {r["event_id"] for r in await db.fetch("SELECT event_id FROM inbox WHERE event_id = ANY($1::text[])", ids)}
    lettered = {(r["source_topic"], r["source_partition"], r["source_offset"])
                for r in await dead_letters_at(db, published)}
    return all((p.valid and p.event_id in seen) or p.position in lettered for p in published)


async def _unsettled(db: asyncpg.Pool, published: list[Published]) -> str:
    """Which records are neither applied nor dead-lettered (for the failure message)."""
    ids = sorted({p.event_id for p in published if p.valid and p.event_id})
    seen = {r["event_id"] for r in await db.fetch("SELECT event_id FROM inbox WHERE event_id = ANY($1::text[])", ids)}
    missing = [(p.event_id, p.topic, p.partition, p.offset) for p in published if p.valid and p.event_id not in seen]
    bad = [p for p in published if not p.valid]
    lettered = {(r["source_topic"], r["source_partition"], r["source_offset"]) for r in await dead_letters_at(db, bad)}
    unlettered = [p.position for p in bad if p.position not in lettered]
    return f"not applied: {_some(missing)}; malformed but not dead-lettered: {_some(unlettered)}"


async def dead_letters_at(db: asyncpg.Pool, records: list[Published]) -> list[asyncpg.Record]:
    """The dead letters of these records (by source topic, partition and offset)."""
    return await db.fetch(
        """SELECT d.* FROM dead_letters d
           JOIN unnest($1::text[], $2::int[], $3::bigint[]) AS p(topic, part, off)
             ON d.source_topic = p.topic AND d.source_partition = p.part AND d.source_offset = p.off""",
        [p.topic for p in records], [p.partition for p in records], [p.offset for p in records])


async def outbox_drained(db: asyncpg.Pool, event_ids: list[str]) -> bool:
    return await db.fetchval(
        "SELECT count(*) = 0 FROM outbox o JOIN outbox_pending p ON p.id = o.id WHERE o.causation_id = ANY($1::text[])",
        event_ids)


async def check_invariants(db: asyncpg.Pool, bootstrap: str, published: list[Published], *, claim_prefix: str,
                           timeout: float = 180, check_order: bool = True,
                           tasks_complete_for: str | None = None) -> InvariantReport:
    assert all(p.partition >= 0 for p in published), "publish the records with publish_records() first"
    report = InvariantReport(published=len(published))
    valid = [p for p in published if p.valid]
    malformed = [p for p in published if not p.valid]
    ids = sorted({p.event_id for p in valid if p.event_id})
    report.distinct_events, report.malformed = len(ids), len(malformed)

    try:
        await eventually(lambda: settled(db, published), timeout=timeout,
                         message="every published event applied or dead-lettered")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; {await _unsettled(db, published)}") from None
    # the dead letters' records go out through the outbox too (each letter is its own causation id)
    causes = ids + [r["dead_letter_id"] for r in await dead_letters_at(db, published)]
    await eventually(lambda: outbox_drained(db, causes), timeout=timeout, message="the relay to publish the outbox")

    # -- 1. each event in the store exactly once, or a dead letter ------------------------------------------------
    positions: dict[str, set[tuple[str, int, int]]] = defaultdict(set)
    for p in valid:
        positions[p.event_id].add(p.position)
    inbox = await _rows(db, 'SELECT event_id, topic, "partition", "offset", outcome FROM inbox '
                            "WHERE event_id = ANY($1::text[])", ids)
    report.applied = len(inbox)
    assert report.applied == len(ids), f"{len(ids) - report.applied} published events are missing from the inbox"
    for row in inbox:
        where = (row["topic"], row["partition"], row["offset"])
        assert where in positions[row["event_id"]], f"{row['event_id']} recorded from {where}, never published there"

    remits = {p.event_id: p for p in valid if p.expected_decisions is not None}
    applied_remits = [r["event_id"] for r in inbox if r["event_id"] in remits and r["outcome"] == "applied"]
    per_event = Counter({r["event_id"]: r["n"] for r in await _rows(
        db, "SELECT event_id, count(*) AS n FROM decisions WHERE event_id = ANY($1::text[]) GROUP BY event_id", ids)})
    report.decisions = sum(per_event.values())
    wrong = {e: (per_event[e], remits[e].expected_decisions) for e in applied_remits
             if per_event[e] != remits[e].expected_decisions}
    assert not wrong, f"decisions per event differ from one per adjustment (got, want): {_some(wrong)}"
    assert set(per_event) <= set(applied_remits), "decisions written for events that were not applied"
    stored = await db.fetchval("SELECT count(*) FROM remittances WHERE event_id = ANY($1::text[])", ids)
    assert stored == len([r for r in inbox if r["event_id"] in remits]), "remittance rows != remittances in the inbox"
    timeline = await _rows(db, "SELECT event_id, count(*) AS n FROM claim_events WHERE event_id = ANY($1::text[]) "
                               "GROUP BY event_id", applied_remits)
    assert len(timeline) == len(applied_remits) and all(r["n"] == 1 for r in timeline), \
        "each applied remittance must have exactly one timeline entry"

    prefix = claim_prefix.encode()
    letters = await db.fetch("SELECT * FROM dead_letters WHERE substr(key, 1, $2) = $1", prefix, len(prefix))
    letters_at = await dead_letters_at(db, published)
    report.dead_letters = len(letters)
    assert {r["dead_letter_id"] for r in letters_at} == {r["dead_letter_id"] for r in letters}, \
        "dead letters exist for records this test never published"
    by_position = Counter((r["source_topic"], r["source_partition"], r["source_offset"]) for r in letters)
    assert all(by_position[p.position] == 1 for p in malformed), "each malformed record must be one dead letter"
    on_valid = [r for r in letters if (r["source_topic"], r["source_partition"], r["source_offset"])
                in {p.position for p in valid}]
    why = [(r["error_class"], r["reason"]) for r in on_valid]
    assert not on_valid, f"valid events were dead-lettered: {_some(why)}"
    in_inbox_and_lettered = {r["source_event_id"] for r in letters if r["source_event_id"]} & set(ids)
    assert not in_inbox_and_lettered, "an event is both applied and dead-lettered"

    # -- 3. no dead letter from a transient failure ---------------------------------------------------------------
    for r in letters:
        assert r["error_class"] in PERMANENT_ERROR_CLASSES, f"dead letter of class {r['error_class']}: {r['reason']}"
        assert not any(name in r["reason"] for name in TRANSIENT_NAMES), f"transient cause: {r['reason']}"

    # -- 4. tasks: one per (claim, payer, category), exactly the causes asked for ------------------------------------
    tasks = await _rows(db, "SELECT task_id, claim_id, payer_id, category FROM appeal_tasks WHERE claim_id LIKE $1",
                        f"{claim_prefix}%")
    report.tasks = len(tasks)
    causes = Counter((t["claim_id"], t["payer_id"], t["category"]) for t in tasks)
    assert all(n == 1 for n in causes.values()), "duplicate tasks for one (claim, payer, category)"
    assert all(t["task_id"] == task_id_for(t["claim_id"], t["payer_id"], t["category"]) for t in tasks)
    denied = {(r["claim_id"], r["payer_id"], r["category"]) for r in await _rows(
        db, "SELECT DISTINCT claim_id, payer_id, category FROM decisions WHERE claim_id LIKE $1 AND is_denial",
        f"{claim_prefix}%")}
    status_caused = {(r["claim_id"], r["payer_id"], r["category"]) for r in await _rows(
        db, """SELECT DISTINCT t.claim_id, t.payer_id, t.category FROM appeal_tasks t
               JOIN task_events e USING (task_id) JOIN inbox i ON i.event_id = e.causation_id
               WHERE t.claim_id LIKE $1 AND i.topic = 'claims.status.v1'""", f"{claim_prefix}%")}
    # A late, older denial of a line a newer remittance paid opens no task (DESIGN: newest wins), so completeness is
    # checked on the claims whose events arrived in order.
    complete = [c for c in denied if c[0].startswith(tasks_complete_for if tasks_complete_for is not None
                                                     else claim_prefix)]
    assert set(complete) <= set(causes), f"denials without a task: {_some(sorted(set(complete) - set(causes)))}"
    stray = set(causes) - denied - status_caused
    assert not stray, f"tasks that no denial or payer status asked for: {_some(sorted(stray))}"
    audit = await _rows(db, """SELECT e.task_id, e.causation_id, e.change, e.to_state, count(*) AS n
                               FROM task_events e JOIN appeal_tasks t USING (task_id) WHERE t.claim_id LIKE $1
                               GROUP BY 1, 2, 3, 4""", f"{claim_prefix}%")
    report.task_events = sum(r["n"] for r in audit)
    repeated = [(r["causation_id"], r["change"]) for r in audit if r["n"] > 1]
    assert not repeated, f"task changes applied twice by one event: {_some(repeated)}"

    # -- 2. follow-ups: at least once on the broker, exactly once after dedupe, in outbox order per claim -------------
    outbox = await _rows(db, "SELECT id, event_id, topic, key, payload, causation_id FROM outbox "
                             "WHERE causation_id = ANY($1::text[]) ORDER BY id", ids)
    report.outbox = len(outbox)
    classified = Counter(r["causation_id"] for r in outbox if r["topic"] == "denials.classified.v1")
    assert all(classified[e] == 1 for e in applied_remits), "each applied remittance needs one classified record"
    wanted = {r["event_id"]: r for r in outbox}
    keys = {r["key"] for r in outbox}
    seen: Counter[str] = Counter()
    first_order: dict[tuple[str, bytes], list[str]] = defaultdict(list)
    for topic in sorted({r["topic"] for r in outbox}):
        records = sorted((m for m in await read_topic(bootstrap, topic, timeout_s=60) if m.key in keys),
                         key=lambda m: (m.partition, m.offset))
        for m in records:
            event_id = _event_id(m)
            causation = json.loads(m.value).get("causation_id")
            if causation not in ids:
                continue  # another input's follow-up on the same claim key (none in these tests)
            assert event_id in wanted, f"{topic}: a follow-up no committed transaction wrote ({event_id})"
            assert m.value == wanted[event_id]["payload"], f"{event_id}: redelivered with different bytes"
            if not seen[event_id]:
                first_order[(topic, m.key)].append(event_id)
            seen[event_id] += 1
    missing = set(wanted) - set(seen)
    assert not missing, f"{len(missing)} committed follow-ups never reached the broker: {_some(sorted(missing))}"
    report.on_broker = sum(seen.values())
    report.redelivered_on_broker = report.on_broker - len(seen)
    if check_order:
        expected_order: dict[tuple[str, bytes], list[str]] = defaultdict(list)
        for r in outbox:
            expected_order[(r["topic"], r["key"])].append(r["event_id"])
        out_of_order = [(k[0], k[1].decode(), v, first_order[k]) for k, v in expected_order.items()
                        if first_order[k] != v]
        assert not out_of_order, \
            f"{len(out_of_order)} claims saw follow-ups out of outbox order (topic, key, outbox order, first seen " \
            f"order): {_some(out_of_order, 2)}"

    if letters:
        wanted_letters = {r["dead_letter_id"] for r in letters}
        on_topic = Counter(_event_id(m) for m in await read_topic(bootstrap, "deadletter.v1", timeout_s=60))
        absent = wanted_letters - set(on_topic)
        assert not absent, f"{len(absent)} dead letters are in the table but not on deadletter.v1"
        report.dead_letters_on_broker = sum(on_topic[i] for i in wanted_letters)
    return report


def _event_id(message) -> str:
    for name, value in message.headers or ():
        if name == "event_id":
            return value.decode()
    return json.loads(message.value)["event_id"]


def _some(items, n: int = 5) -> str:
    items = list(items.items()) if isinstance(items, dict) else list(items)
    return f"{items[:n]}{' ...' if len(items) > n else ''} ({len(items)} in all)"
