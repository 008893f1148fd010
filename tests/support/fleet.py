"""Worker processes a test starts (and is sure to stop), progress probes, and the consumer group's committed offsets."""

from __future__ import annotations

import asyncio
import signal

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from service.adapters.faust_compat import force_metadata_update
from tests.support.invariants import dead_letters_at
from tests.support.ports import eventually
from tests.support.worker import WorkerProcess


class Fleet:
    """Starts `denials worker` processes on a stack; whatever is still running at teardown is stopped."""

    def __init__(self, stack) -> None:
        self.stack = stack
        self.started: list[WorkerProcess] = []

    async def start(self, name: str, *, ready_timeout: float = 120, wait: bool = True, **env: str) -> WorkerProcess:
        worker = self.stack.worker(name, **env).start()
        self.started.append(worker)
        if wait:
            await asyncio.to_thread(worker.wait_ready, ready_timeout)
        return worker

    async def stop(self, worker: WorkerProcess, sig: int = signal.SIGTERM, timeout: float = 60) -> int | None:
        return await asyncio.to_thread(worker.stop, sig, timeout)

    def stop_all(self) -> None:
        for worker in self.started:
            if worker.proc is not None and worker.proc.poll() is None:
                worker.stop(signal.SIGTERM, timeout=30)
            elif worker.proc is not None and not worker._log.closed:
                worker._log.close()


async def applied(db: asyncpg.Pool, event_ids: list[str]) -> int:
    return await db.fetchval("SELECT count(*) FROM inbox WHERE event_id = ANY($1::text[])", event_ids)


async def at_least(db: asyncpg.Pool, event_ids: list[str], n: int) -> int | None:
    got = await applied(db, event_ids)
    return got if got >= n else None


async def until_applied(db: asyncpg.Pool, event_ids: list[str], n: int, message: str, *, timeout: float = 180,
                        interval: float = 0.05) -> int:
    """Wait until at least `n` of the events are applied; how many are."""
    return await eventually(lambda: at_least(db, event_ids, n), timeout=timeout, interval=interval, message=message)


async def committed_offsets(bootstrap: str, group_id: str, topic: str) -> dict[int, int]:
    """The group's committed offset per partition (-1 when none), asked as a group member would on start-up."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False,
                                request_timeout_ms=15_000)
    await asyncio.wait_for(consumer.start(), timeout=30)
    try:
        partitions = consumer.partitions_for_topic(topic)
        for _ in range(50):
            if partitions:
                break
            await force_metadata_update(consumer)
            partitions = consumer.partitions_for_topic(topic)
        out = {}
        for p in sorted(partitions or ()):
            offset = await asyncio.wait_for(consumer.committed(TopicPartition(topic, p)), timeout=30)
            out[p] = -1 if offset is None else offset
        return out
    finally:
        await asyncio.wait_for(consumer.stop(), timeout=15)


async def applied_beyond(db: asyncpg.Pool, event_ids: list[str], committed: dict[int, int], topic: str) -> int:
    """Events applied from offsets the group had not committed: what a restart will redeliver (and must skip)."""
    rows = await db.fetch('SELECT "partition", "offset" FROM inbox WHERE event_id = ANY($1::text[]) AND topic = $2',
                          event_ids, topic)
    return sum(1 for r in rows if r["offset"] >= committed.get(r["partition"], -1))


async def not_ready(worker: WorkerProcess) -> dict | None:
    """The /ready body while it reports not ready (503), else None."""
    state = await asyncio.to_thread(worker.ready_state)
    return state if state is not None and state.get("ready") is False else None


async def not_ready_for(worker: WorkerProcess, part: str, value: object = False) -> dict | None:
    """The /ready body while it reports not ready with `part` equal to `value` (the reason), else None."""
    state = await not_ready(worker)
    return state if state is not None and state.get(part) == value else None


async def is_ready(worker: WorkerProcess) -> dict | None:
    state = await asyncio.to_thread(worker.ready_state)
    return state if state is not None and state.get("ready") is True else None


async def alive(worker: WorkerProcess) -> bool:
    """/health answers 200 (the process serves requests), whatever /ready says."""
    import urllib.request

    def get() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{worker.port}/health", timeout=2) as resp:
                return resp.status == 200
        except Exception:  # noqa: BLE001
            return False

    return await asyncio.to_thread(get)


async def committed_not_done(db: asyncpg.Pool, records, committed: dict[int, int], topic: str) -> list:
    """Records below the group's committed offsets that are neither applied nor dead-lettered: lost, since no member
    will ever read them again. Must always be empty, whenever the worker died."""
    below = [p for p in records if p.topic == topic and 0 <= p.offset < committed.get(p.partition, -1)]
    applied = {(r["partition"], r["offset"]) for r in await db.fetch(
        'SELECT "partition", "offset" FROM inbox WHERE topic = $1 AND event_id = ANY($2::text[])', topic,
        sorted({p.event_id for p in below if p.valid}))}
    bad = [p for p in below if not p.valid]
    lettered = {(r["source_partition"], r["source_offset"]) for r in await dead_letters_at(db, bad)}
    return [p.position for p in below if (p.partition, p.offset) not in (applied if p.valid else lettered)]
