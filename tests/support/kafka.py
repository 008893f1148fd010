"""Publish records to and read records back from the real broker."""

from __future__ import annotations

import json
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer

from service.adapters.kafka import read_topic


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


async def read_all(bootstrap: str, topic: str, *, timeout: float = 15) -> list:
    return await read_topic(bootstrap, topic, timeout_s=timeout)


async def read_json(bootstrap: str, topic: str, *, timeout: float = 15) -> list[dict]:
    return [json.loads(r.value) for r in await read_all(bootstrap, topic, timeout=timeout)]
