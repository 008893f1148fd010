"""Batches from a faust stream, gathered while the previous batch is being processed.

faust's `noack_take` stops reading the stream while the caller holds a batch: events are only gathered during the
`within` wait after it, so a worker waiting on PostgreSQL for one batch gathers nothing for the next (measured: ~77
events a batch under a 20,000-event backlog, with the stream idle during every commit). Here the stream is read in
the background all the time, up to `max_` events ahead, and the next batch is whatever arrived meanwhile (plus at most
`within` more). Nothing is acked here: the caller acks each batch after its commit, in order, as before. Events of
partitions this worker no longer holds (a rebalance while they waited) are dropped, unacked: their new owner reads
them from the committed offset.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from service.adapters.faust_compat import read_in_background, remove_processor


async def take_ahead(stream: Any, max_: int, within: float) -> AsyncIterator[list[Any]]:
    """Yield lists of at most `max_` faust events (`event.message` holds the record), unacked, in stream order."""
    buffer: list[Any] = []
    arrived = asyncio.Event()
    full = asyncio.Event()
    room = asyncio.Event()
    room.set()

    async def add_to_buffer(value: Any) -> Any:
        # Runs in the stream's background iteration, once per event. Blocking here (buffer full) stops the
        # iteration, which is what bounds memory: faust's flow control then stops fetching.
        while len(buffer) >= max_:
            if stream.should_stop:
                return value  # stopping: left unacked, read again from the committed offset
            room.clear()
            await stream.wait(room)
        event = stream.current_event
        if event is None:
            raise RuntimeError("take_ahead found no current event")
        buffer.append(event)
        arrived.set()
        if len(buffer) >= max_:
            full.set()
        return value

    enable_acks = stream.enable_acks
    stream.enable_acks = False  # acks are the caller's, after its commit
    stream.add_processor(add_to_buffer)
    read_in_background(stream)  # the same background reader noack_take uses
    try:
        while not stream.should_stop:
            if not buffer:
                # Idle: sleep until an event arrives, and only then give the batch its `within` to fill. A timed wait
                # here woke every agent every `within` (5 ms) with nothing to do: ~0.1 s of CPU a second on an idle
                # worker, paid by each of four workers on two cores (four workers spent 26 % more CPU an event than
                # one before this, 7 % after, on the mean of five pairs: docs/performance.md, "Idle workers").
                arrived.clear()
                await stream.wait_for_stopped(arrived)
                continue
            if len(buffer) < max_:
                await stream.wait_for_stopped(full, timeout=within)
            if not buffer:
                continue
            batch = buffer.copy()  # all of it: add_to_buffer never lets it grow past max_
            buffer.clear()
            full.clear()
            room.set()
            held = _assignment(stream)
            if held is not None:
                batch = [e for e in batch if e.message.tp in held]
            if batch:
                yield batch
    finally:
        stream.enable_acks = enable_acks
        remove_processor(stream, add_to_buffer)


def _assignment(stream: Any) -> set[Any] | None:
    """The partitions the consumer holds now; None when it cannot be asked (then nothing is filtered)."""
    try:
        return set(stream.app.consumer.assignment())
    except Exception:  # noqa: BLE001 - no consumer yet (tests of the stream alone): keep every event
        return None
