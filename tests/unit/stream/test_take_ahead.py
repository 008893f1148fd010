"""agents.take.take_ahead over a real faust Stream fed from an in-memory channel (no broker): batch size, time window,
order, read-ahead while the caller holds a batch (bounded), acks left to the caller, records of partitions no longer
held dropped unacked, and a clean end when the stream stops."""

from __future__ import annotations

import asyncio
import time

import pytest
from faust.types import TP

from agents.take import take_ahead
from tests.unit.stream.streams import event, in_memory_stream

A0, A1 = TP("topic-a", 0), TP("topic-a", 1)


@pytest.fixture
async def stream_parts():
    app, channel, stream = in_memory_stream()
    app.consumer  # noqa: B018 - made now (its first creation imports faust's Kafka driver) rather than mid-test
    yield app, channel, stream
    await stream.stop()
    app.consumer._thread.thread_loop.close()  # noqa: SLF001 - the loop faust's consumer thread made and never ran


async def put(channel, records):
    for tp, offset in records:
        await channel.put(await event(channel, tp.topic, tp.partition, offset))


def positions(batch):
    return [(e.message.partition, e.message.offset) for e in batch]


async def next_batch(batches, timeout=5.0):
    return await asyncio.wait_for(anext(batches), timeout=timeout)


async def test_batches_hold_at_most_max_events_in_stream_order(stream_parts):
    _app, channel, stream = stream_parts
    records = [(A0 if i % 3 else A1, i) for i in range(9)]
    await put(channel, records)
    batches = take_ahead(stream, 3, 5.0)  # a long window: each batch is full before it ends
    got = [await next_batch(batches) for _ in range(3)]
    await batches.aclose()
    assert [len(b) for b in got] == [3, 3, 3]
    assert [p for b in got for p in positions(b)] == [(tp.partition, offset) for tp, offset in records]


async def test_a_full_batch_comes_at_once_and_a_partial_one_after_the_window(stream_parts):
    _app, channel, stream = stream_parts
    await put(channel, [(A0, 0), (A0, 1), (A0, 2)])
    batches = take_ahead(stream, 3, 2.0)
    started = time.monotonic()
    assert positions(await next_batch(batches)) == [(0, 0), (0, 1), (0, 2)]
    assert time.monotonic() - started < 1.5, "a full batch does not wait for the 2 s window"

    await put(channel, [(A0, 3)])
    started = time.monotonic()
    assert positions(await next_batch(batches)) == [(0, 3)]
    assert time.monotonic() - started >= 1.9, "a partial batch waits for the window"
    await batches.aclose()


async def test_nothing_comes_while_the_stream_is_idle(stream_parts):
    _app, _channel, stream = stream_parts
    batches = take_ahead(stream, 3, 0.05)
    with pytest.raises(TimeoutError):
        await next_batch(batches, timeout=0.5)  # empty windows yield nothing


async def test_the_stream_is_read_while_the_caller_holds_a_batch_up_to_one_more_batch(stream_parts):
    _app, channel, stream = stream_parts
    read: list[int] = []

    def count(value):  # runs before take_ahead's own processor, once per event the stream reads
        read.append(value)
        return value

    stream.add_processor(count)
    await put(channel, [(A0, i) for i in range(10)])
    batches = take_ahead(stream, 3, 5.0)
    assert positions(await next_batch(batches)) == [(0, 0), (0, 1), (0, 2)]
    await asyncio.sleep(0.3)  # the caller "commits" batch one
    # read ahead: the next three are buffered and the 7th is read, its buffering blocked until there is room
    assert read == list(range(7))
    started = time.monotonic()
    assert positions(await next_batch(batches)) == [(0, 3), (0, 4), (0, 5)]
    assert time.monotonic() - started < 2.5, "the read-ahead batch is ready without waiting for the window"
    assert positions(await next_batch(batches)) == [(0, 6), (0, 7), (0, 8)]
    await batches.aclose()


async def test_events_are_yielded_unacked_and_the_caller_acks_them(stream_parts):
    _app, channel, stream = stream_parts
    assert stream.enable_acks
    before = len(stream._processors)  # noqa: SLF001
    await put(channel, [(A0, i) for i in range(5)])
    batches = take_ahead(stream, 2, 0.1)
    first = await next_batch(batches)
    assert stream.enable_acks is False, "the stream's own iteration must not ack: the caller acks after its commit"
    await asyncio.sleep(0.2)  # the background reader has moved past the first batch
    assert [e.message.acked for e in first] == [False, False]
    for e in first:
        await stream.ack(e)
    assert [e.message.acked for e in first] == [True, True]
    second = await next_batch(batches)
    assert [e.message.acked for e in second] == [False, False]
    await batches.aclose()
    assert stream.enable_acks is True, "restored when take_ahead ends"
    assert len(stream._processors) == before, "take_ahead's buffering processor is removed"  # noqa: SLF001


async def test_events_of_partitions_no_longer_held_are_dropped_unacked(stream_parts, monkeypatch):
    app, channel, stream = stream_parts
    held = {A0, A1}
    monkeypatch.setattr(app.consumer, "assignment", lambda: set(held))  # the broker's assignment, as faust reports it
    await put(channel, [(A0, 0), (A1, 0), (A0, 1), (A1, 1), (A1, 2)])
    batches = take_ahead(stream, 2, 0.2)
    assert positions(await next_batch(batches)) == [(0, 0), (1, 0)]
    await asyncio.sleep(0.2)  # (A0, 1) and (A1, 1) are read ahead meanwhile
    held.discard(A1)  # a rebalance while the caller held the first batch
    second = await next_batch(batches)
    assert positions(second) == [(0, 1)], "partition 1's records are its new owner's, from the committed offset"
    await asyncio.sleep(0.4)  # (A1, 2) is read and dropped too: nothing more comes
    with pytest.raises(TimeoutError):
        await next_batch(batches, timeout=0.5)
    await batches.aclose()


async def test_without_a_running_consumer_nothing_is_filtered(stream_parts):
    _app, channel, stream = stream_parts
    await put(channel, [(A1, 7)])
    batches = take_ahead(stream, 5, 0.1)
    assert positions(await next_batch(batches)) == [(1, 7)]  # assignment() unavailable: every event kept
    await batches.aclose()


async def test_cancelling_the_caller_mid_batch_restores_the_stream_and_acks_nothing(stream_parts):
    # how faust stops an agent: it cancels the actor's task, here while a batch is held and the buffer is full
    _app, channel, stream = stream_parts
    before = len(stream._processors)  # noqa: SLF001
    await put(channel, [(A0, i) for i in range(10)])
    held = asyncio.Event()
    taken = []

    async def agent():
        async for batch in take_ahead(stream, 2, 5.0):
            taken.append(batch)
            held.set()
            await asyncio.sleep(60)  # the commit the worker never finishes

    task = asyncio.ensure_future(agent())
    await asyncio.wait_for(held.wait(), timeout=5)
    await asyncio.sleep(0.2)  # buffer full, the reader blocked on the next event
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):  # the abandoned generator is closed by the loop's finalizer hook, a few ticks later
        if stream.enable_acks:
            break
        await asyncio.sleep(0.01)
    assert stream.enable_acks is True
    assert len(stream._processors) == before  # noqa: SLF001
    assert [e.message.acked for e in taken[0]] == [False, False], "redelivered from the committed offset"


async def test_an_idle_stream_is_waited_on_not_polled(stream_parts):
    _app, channel, stream = stream_parts
    waits = 0
    wait_for_stopped = stream.wait_for_stopped

    async def counted(*args, **kwargs):
        nonlocal waits
        waits += 1
        return await wait_for_stopped(*args, **kwargs)

    stream.wait_for_stopped = counted
    batches = take_ahead(stream, 3, 0.005)
    pending = asyncio.ensure_future(next_batch(batches))
    await asyncio.sleep(0.5)  # a 5 ms window polled would have woken ~100 times
    assert not pending.done()
    assert waits <= 2, f"idle, the batch loop woke {waits} times"

    await put(channel, [(A0, 0)])
    started = time.monotonic()
    assert positions(await pending) == [(0, 0)], "an event after an idle spell comes in a batch of its own"
    assert time.monotonic() - started < 0.5, "and within its window, not an idle poll's"
    await batches.aclose()
