"""Thin aiokafka helpers shared by the relay, the CLI publishers and the tests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from service.adapters.faust_compat import force_metadata_update
from topics.catalogue import CATALOGUE, TopicSpec


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    key: bytes | None
    value: bytes


@asynccontextmanager
async def producer(bootstrap: str, *, linger_ms: int = 5, request_timeout_ms: int = 15_000,
                   max_request_size: int = 1_048_576):
    """A started producer. acks=all; not idempotent (the test broker has no InitProducerId): consumers dedupe by
    event_id, which is what makes at-least-once safe."""
    prod = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=linger_ms, request_timeout_ms=request_timeout_ms,
        max_request_size=max_request_size, enable_idempotence=False,
    )
    await asyncio.wait_for(prod.start(), timeout=request_timeout_ms / 1000 + 5)
    try:
        yield prod
    finally:
        await asyncio.wait_for(prod.stop(), timeout=request_timeout_ms / 1000 + 5)


def relay_producer(bootstrap: str, settings) -> AIOKafkaProducer:
    """The outbox relay's producer (not started). Idempotence keeps per-partition order through produce retries on
    Apache Kafka; the local test broker cannot grant producer ids, so it is a setting (on in the compose stack)."""
    return AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=10, max_batch_size=512 * 1024,
                            request_timeout_ms=15_000, enable_idempotence=settings.producer_idempotence,
                            max_request_size=max(1_048_576, settings.max_record_bytes + 65_536))


async def start_relay_producer(bootstrap: str, settings) -> AIOKafkaProducer:
    """A started relay producer; one that fails to start is closed again (aiokafka producers cannot be restarted)."""
    prod = relay_producer(bootstrap, settings)
    try:
        await asyncio.wait_for(prod.start(), timeout=30)
    except BaseException:
        await prod.stop()
        raise
    return prod


async def send_all(prod: AIOKafkaProducer, records: Iterable[Record]) -> int:
    """Send records and wait until the broker acknowledged every one (raises on the first failure)."""
    futures = [await prod.send(r.topic, key=r.key, value=r.value) for r in records]
    for fut in futures:
        await fut
    return len(futures)


def topic_configs(spec: TopicSpec) -> dict[str, str]:
    """The broker-side settings the catalogue gives a topic (record size limit, retention)."""
    configs = {}
    if spec.max_message_bytes:
        configs["max.message.bytes"] = str(spec.max_message_bytes)
    if spec.retention_ms is not None:
        configs["retention.ms"] = str(spec.retention_ms)
    return configs


def wanted_partitions(partitions: dict[str, int] | None = None) -> dict[str, int]:
    """Every catalogue topic with the partitions it is created with (`partitions` overrides the catalogue's)."""
    return {name: (partitions or {}).get(name, spec.partitions) for name, spec in CATALOGUE.items()}


async def ensure_topics(bootstrap: str, *, partitions: dict[str, int] | None = None, timeout_s: float = 20,
                        only: Iterable[str] | None = None) -> list[str]:
    """Create every catalogue topic (or those in `only`) that does not exist yet (idempotent); the ones created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000))
    await asyncio.wait_for(admin.start(), timeout=timeout_s)
    names = set(only) if only is not None else set(CATALOGUE)
    counts = wanted_partitions(partitions)
    created = []
    try:
        existing = set(await asyncio.wait_for(admin.list_topics(), timeout=timeout_s))
        wanted = [
            NewTopic(name=name, num_partitions=counts[name], replication_factor=1, topic_configs=topic_configs(spec))
            for name, spec in CATALOGUE.items()
            if name in names and name not in existing
        ]
        for topic in wanted:
            try:
                await asyncio.wait_for(admin.create_topics([topic]), timeout=timeout_s)
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()
    return created


async def broker_topics(prod: AIOKafkaProducer, timeout_s: float = 10) -> dict[str, int]:
    """Every topic the broker has now, with its partition count: a fresh metadata request for all topics (one that
    creates nothing), not the client's cache, which still lists the topics of a broker that was replaced."""
    cluster = await asyncio.wait_for(prod.client.fetch_all_metadata(), timeout=timeout_s)
    return {name: len(cluster.partitions_for_topic(name) or ()) for name in cluster.topics()}


async def read_topic(bootstrap: str, topic: str, *, timeout_s: float = 15) -> list:
    """Every record currently on `topic`, all partitions from the beginning, without joining a consumer group.

    "Currently" is judged by each partition's high watermark as reported in fetch responses: the Tansu test broker
    answers ListOffsets(latest) wrongly, so `end_offsets()` cannot be trusted there.
    """
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                auto_offset_reset="earliest", request_timeout_ms=15_000)
    await asyncio.wait_for(consumer.start(), timeout=timeout_s)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        partitions = consumer.partitions_for_topic(topic)
        while partitions is None and loop.time() < deadline:
            await force_metadata_update(consumer)
            partitions = consumer.partitions_for_topic(topic)
            if partitions is None:
                await asyncio.sleep(0.1)
        if not partitions:
            return []
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        out: list = []
        while loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            for records in batch.values():
                out.extend(records)
            caught_up = True
            for tp in tps:
                hw = consumer.highwater(tp)
                if hw is None or await consumer.position(tp) < hw:
                    caught_up = False
                    break
            if caught_up:
                return out
        raise TimeoutError(f"could not read {topic} to its end within {timeout_s}s")
    finally:
        await asyncio.wait_for(consumer.stop(), timeout=10)


async def read_record(bootstrap: str, topic: str, partition: int, offset: int, *, max_bytes: int,
                      timeout_s: float = 20) -> bytes | None:
    """The value of the record at `topic[partition]@offset`, read without joining a consumer group; None when the
    partition no longer holds that offset (retention removed it) or it cannot be read within the timeout."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    fetch = max(1_048_576, max_bytes + 65_536)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                auto_offset_reset="none", request_timeout_ms=15_000, fetch_max_bytes=fetch,
                                max_partition_fetch_bytes=fetch)
    await asyncio.wait_for(consumer.start(), timeout=timeout_s)
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            try:
                batch = await consumer.getmany(tp, timeout_ms=500, max_records=1)
            except Exception:  # noqa: BLE001 - offset out of range (retention) or the topic is gone
                return None
            for record in batch.get(tp, []):
                return record.value if record.offset == offset else None
        return None
    finally:
        await consumer.stop()
