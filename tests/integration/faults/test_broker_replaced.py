"""The broker replaced by an empty one on the same address (the in-memory local broker restarted): every topic and
committed offset is gone, and the broker still acknowledges produces to topics it does not have.

The worker keeps running; it recreates its topics (DENIALS_RECREATE_TOPICS, on by default for a loopback broker) or
says in /ready which topics are missing; a new event after the replacement still yields its follow-up; no outbox
row is marked sent that the broker does not hold; `denials outbox republish` puts back what the broker lost.

These tests replace the broker, so they run on a stack of their own (not the fault package's).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from service.adapters.kafka import wanted_partitions
from tests.support import events
from tests.support.cli import denials
from tests.support.fleet import alive, is_ready, not_ready
from tests.support.kafka import publish_json, read_all
from tests.support.ports import eventually
from tests.support.stack import private_stack
from topics.catalogue import CATALOGUE

REMITTANCE = "claims.remittance.v1"
AUTHORIZATION = "followups.authorization.v1"
FAST = {"DENIALS_TOPIC_CHECK_INTERVAL_S": "2", "DENIALS_BROKER_FAILURE_THRESHOLD_S": "3"}


@pytest.fixture(scope="module")
def bstack(tmp_path_factory):
    with private_stack(tmp_path_factory.mktemp("brokerloss"), "brokerloss") as s:
        yield s


@pytest.fixture
async def bdb(bstack):
    pool = await asyncpg.create_pool(bstack.direct_database_url, min_size=1, max_size=2)
    yield pool
    await pool.close()


@pytest.fixture
def workers(bstack):
    started = []

    def start(name: str, **env: str):
        w = bstack.worker(f"{name}-{uuid.uuid4().hex[:4]}", **FAST, **env).start()
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop(timeout=30)


async def broker_topics(bootstrap: str) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        names = await admin.list_topics()
        described = await admin.describe_topics(names) if names else []
        return {d["topic"]: len(d["partitions"]) for d in described}
    finally:
        await admin.close()


async def catalogue_topics_present(bootstrap: str) -> bool:
    present = await broker_topics(bootstrap)
    return all(present.get(name) for name in CATALOGUE)


async def event_ids_on(bootstrap: str, topic: str) -> list[str]:
    return [json.loads(r.value)["event_id"] for r in await read_all(bootstrap, topic)]


async def sent_rows_not_on_broker(db: asyncpg.Pool, bootstrap: str, since: dt.datetime) -> list[tuple[str, str]]:
    """Outbox rows written since `since` and marked sent (no longer queued) whose record the broker does not hold."""
    rows = await db.fetch("SELECT topic, event_id FROM outbox o WHERE created_at >= $1 AND NOT EXISTS "
                          "(SELECT 1 FROM outbox_pending p WHERE p.id = o.id)", since)
    on_broker: dict[str, set[str]] = {}
    for topic in {r["topic"] for r in rows}:
        on_broker[topic] = set(await event_ids_on(bootstrap, topic))
    return [(r["topic"], r["event_id"]) for r in rows if r["event_id"] not in on_broker[r["topic"]]]


async def follow_up_of(bootstrap: str, event_id: str) -> list[dict]:
    return [r for r in (json.loads(x.value) for x in await read_all(bootstrap, AUTHORIZATION))
            if r["causation_id"] == event_id]


async def process_one(bstack, db, tag: str) -> str:
    """Publish one CO-197 remittance; wait for its authorization follow-up on the broker and the outbox drained."""
    event_id = f"rm-{tag}-{uuid.uuid4().hex[:8]}"
    await publish_json(bstack.bootstrap, REMITTANCE, [events.remittance(event_id, f"PC-{event_id}")])
    await eventually(lambda: follow_up_of(bstack.bootstrap, event_id), timeout=90,
                     message=f"the follow-up of {event_id} on the broker")
    await eventually(lambda: db.fetchval("SELECT count(*) = 0 FROM outbox_pending"), timeout=60,
                     message="the outbox drained")
    return event_id


def raw_commit_errors(worker) -> int:
    return worker.log_path.read_bytes().count(b"OffsetCommit failed")


async def test_broker_replaced_empty_topics_are_recreated_and_a_new_event_still_yields_its_follow_up(
        bstack, bdb, workers):
    worker = workers("recreate")  # a loopback broker: recreation is on by default
    await asyncio.to_thread(worker.wait_ready, 120)
    before = await process_one(bstack, bdb, "before")

    replaced_at = await bdb.fetchval("SELECT now()")
    bstack.replace_broker()

    await eventually(lambda: catalogue_topics_present(bstack.bootstrap), timeout=60,
                     message="the worker to recreate the catalogue topics")
    present = await broker_topics(bstack.bootstrap)
    wanted = wanted_partitions({n: 12 for n, s in CATALOGUE.items() if s.key == "claim_id"})
    assert {n: present[n] for n in CATALOGUE} == wanted, "recreated with the catalogue's partitions"
    await eventually(lambda: is_ready(worker), timeout=90, message="/ready after the topics were recreated")
    assert worker.proc.poll() is None and await alive(worker), "the worker keeps running"

    after = await process_one(bstack, bdb, "after")  # a new event after the replacement
    assert await follow_up_of(bstack.bootstrap, before) == [], "the old broker's records are gone (nothing faked)"
    assert await sent_rows_not_on_broker(bdb, bstack.bootstrap, replaced_at) == []
    assert await bdb.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", after) == 1
    log = worker.log_path.read_text(errors="replace")
    assert "broker.topics_recreated" in log
    # aiokafka's per-retry commit errors are counted and replaced by one line per condition change
    assert raw_commit_errors(worker) == 0, worker.tail()
    print(f"\nbroker replaced (recreate): topics={len(present)} worker_log_lines={log.count(chr(10))}")


async def test_broker_replaced_without_recreation_ready_says_why_and_nothing_unacknowledged_is_marked_sent(
        bstack, bdb, workers):
    worker = workers("norecreate", DENIALS_RECREATE_TOPICS="false")
    await asyncio.to_thread(worker.wait_ready, 120)
    await process_one(bstack, bdb, "norec")

    replaced_at = await bdb.fetchval("SELECT now()")
    bstack.replace_broker()
    state = await eventually(lambda: not_ready(worker), timeout=60, message="/ready false after the replacement")
    state = await eventually(lambda: _missing_reason(worker), timeout=60, message="/ready to name the missing topics")
    assert set(state["topics_missing"]) == set(CATALOGUE) and state["topics_recreate"] is False

    # A committed follow-up waiting in the outbox while the topic is gone: the broker would acknowledge it and
    # keep nothing, so the relay must leave it queued and say so.
    event_id = f"fu-norec-{uuid.uuid4().hex[:8]}"
    row_id = await bdb.fetchval(
        """WITH written AS (INSERT INTO outbox (event_id, topic, key, payload, causation_id)
                            VALUES ($1, $2, $3, $4, $5) RETURNING id, created_at)
           INSERT INTO outbox_pending (id, created_at) SELECT id, created_at FROM written RETURNING id""",
        event_id, AUTHORIZATION, b"PC-norec", json.dumps({"event_id": event_id, "claim_id": "PC-norec",
                                                           "causation_id": "manual"}).encode(), "manual")
    state = await eventually(lambda: _relay_waiting(worker), timeout=60, message="the relay to refuse the row")
    assert state["relay_healthy"] is False and AUTHORIZATION in state["reason"]
    assert await bdb.fetchval("SELECT count(*) FROM outbox_pending WHERE id = $1", row_id) == 1
    await asyncio.sleep(3)  # several relay attempts (a chosen duration, not a wait for a condition)
    assert await bdb.fetchval("SELECT count(*) FROM outbox_pending WHERE id = $1", row_id) == 1
    assert await sent_rows_not_on_broker(bdb, bstack.bootstrap, replaced_at) == []
    assert worker.proc.poll() is None and await alive(worker), "the worker keeps running"
    # sustained commit failures (the commit of the offsets read before the replacement) stay out of the log
    assert raw_commit_errors(worker) == 0, worker.tail()

    # The operator's way back: a worker start creates the topics; the queued row is then published.
    await asyncio.to_thread(worker.stop)
    restarted = workers("norecreate-2", DENIALS_RECREATE_TOPICS="false")
    await asyncio.to_thread(restarted.wait_ready, 120)
    await eventually(lambda: _on_broker(bstack.bootstrap, AUTHORIZATION, event_id), timeout=60,
                     message="the held row published once the topic exists")
    new = await process_one(bstack, bdb, "norec-after")
    assert await sent_rows_not_on_broker(bdb, bstack.bootstrap, replaced_at) == []
    assert await bdb.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", new) == 1


async def test_outbox_republish_puts_what_the_broker_lost_back_on_the_topic(bstack, bdb, workers):
    worker = workers("republish")
    await asyncio.to_thread(worker.wait_ready, 120)
    since = await bdb.fetchval("SELECT now()")
    lost = await process_one(bstack, bdb, "lost")
    rows = await bdb.fetch("SELECT topic, event_id FROM outbox WHERE created_at >= $1", since)
    assert rows

    bstack.replace_broker()
    await eventually(lambda: catalogue_topics_present(bstack.bootstrap), timeout=60, message="topics recreated")
    await eventually(lambda: is_ready(worker), timeout=90, message="/ready after the replacement")
    assert await follow_up_of(bstack.bootstrap, lost) == []

    bad = await denials(bstack, "outbox", "republish", "--since", "last tuesday")
    assert bad.code == 2 and bad.stderr.count("\n") == 1 and "--since" in bad.stderr, bad.stderr

    result = await denials(bstack, "outbox", "republish", "--since", since.isoformat(), "--topic", AUTHORIZATION)
    assert result.code == 0, result.stderr
    expected = sum(1 for r in rows if r["topic"] == AUTHORIZATION)
    assert result.stdout.splitlines() == [f"{AUTHORIZATION}\t{expected}"]
    republished = await eventually(lambda: follow_up_of(bstack.bootstrap, lost), timeout=60,
                                   message="the lost follow-up published again")
    assert {r["event_id"] for r in republished} == {r["event_id"] for r in rows if r["topic"] == AUTHORIZATION}

    # Every topic: the rest come back too; a second run publishes duplicates that consumers drop by event_id.
    result = await denials(bstack, "outbox", "republish", "--since", since.isoformat())
    assert result.code == 0, result.stderr
    per_topic = dict(line.split("\t") for line in result.stdout.splitlines())
    assert sum(int(n) for n in per_topic.values()) == len(rows)
    for topic in {r["topic"] for r in rows}:
        wanted = {r["event_id"] for r in rows if r["topic"] == topic}
        await eventually(lambda t=topic, w=wanted: _all_on_broker(bstack.bootstrap, t, w), timeout=60,
                         message=f"every row of {topic} on the broker")
    twice = await event_ids_on(bstack.bootstrap, AUTHORIZATION)
    assert len(twice) > len(set(twice)) and set(twice) >= {r["event_id"] for r in republished}
    await eventually(lambda: bdb.fetchval("SELECT count(*) = 0 FROM outbox_pending"), timeout=60,
                     message="the outbox drained")


async def _missing_reason(worker) -> dict | None:
    state = await not_ready(worker)
    return state if state and state.get("topics_missing") and "topics missing" in (state.get("reason") or "") \
        else None


async def _relay_waiting(worker) -> dict | None:
    state = await not_ready(worker)
    return state if state and "outbox relay waiting" in (state.get("reason") or "") else None


async def _on_broker(bootstrap: str, topic: str, event_id: str) -> bool:
    return event_id in await event_ids_on(bootstrap, topic)


async def _all_on_broker(bootstrap: str, topic: str, wanted: set[str]) -> bool:
    return wanted <= set(await event_ids_on(bootstrap, topic))
