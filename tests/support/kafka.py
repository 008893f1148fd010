"""Publish records to and read records back from the real broker."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition


async def publish(bootstrap: str, topic: str, records: Iterable[tuple[bytes | None, bytes]]) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all", request_timeout_ms=15000)
    await producer.start()
    try:
        futures = [await producer.send(topic, key=k, value=v) for k, v in records]
        for fut in futures:
            await fut
        return len(futures)
    finally:
        await producer.stop()


async def publish_json(bootstrap: str, topic: str, events: Iterable[dict], key_of=lambda e: e["claim"]["claim_id"]):
    return await publish(bootstrap, topic, [(key_of(e).encode(), json.dumps(e).encode()) for e in events])


async def read_all(bootstrap: str, topic: str, *, timeout: float = 10) -> list:
    """Every record currently on `topic` (all partitions, from the beginning), without joining a group."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                auto_offset_reset="earliest", request_timeout_ms=15000)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        deadline = time.monotonic() + timeout
        while partitions is None and time.monotonic() < deadline:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic)
            if partitions is None:
                await asyncio.sleep(0.1)
        if not partitions:
            return []
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        out = []
        while True:
            positions = [await consumer.position(tp) for tp in tps]
            if all(pos >= end[tp] for pos, tp in zip(positions, tps, strict=True)):
                break
            if time.monotonic() > deadline:
                break
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                out.extend(records)
        return out
    finally:
        await consumer.stop()


async def read_json(bootstrap: str, topic: str, *, timeout: float = 10) -> list[dict]:
    return [json.loads(r.value) for r in await read_all(bootstrap, topic, timeout=timeout)]
