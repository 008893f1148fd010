"""A batch decides on the service's error types: transient failures (a driver's, translated at the boundary) are
retried and never dead-lettered, a worker that stops or rebalances gives the batch up unacked, and only permanent
failures become dead letters. Without a database or a broker: `_apply` and `_dead_letter` are replaced."""

from __future__ import annotations

import json

import asyncpg
from aiokafka.errors import KafkaConnectionError

from agents.batch import Abandoned, BatchProcessor, Done, Failed, Source
from agents.decoders import json_decoders
from agents.runtime import Health
from service.config import Settings
from service.errors import PermanentError
from service.privacy import Pseudonymizer
from tests.support import events
from topics.catalogue import CLAIMS_REMITTANCE


class StubRuntime:
    def __init__(self, abandon_after: int | None = None) -> None:
        self.settings = Settings()
        self.health = Health()
        self.pseudonyms = Pseudonymizer("test-key")
        self.pauses: list[float] = []
        self.abandon_after = abandon_after

    def begin(self) -> bool:
        return True

    def end(self) -> None:
        pass

    def should_abandon(self) -> bool:
        return self.abandon_after is not None and len(self.pauses) >= self.abandon_after

    async def pause(self, seconds: float) -> None:
        self.pauses.append(seconds)


class Flaky(BatchProcessor):
    """`_apply` fails with the given errors first, then applies."""

    def __init__(self, runtime: StubRuntime, errors: list[Exception]) -> None:
        super().__init__(runtime, CLAIMS_REMITTANCE, json_decoders(1 << 20)[CLAIMS_REMITTANCE])
        self.errors = errors
        self.applied: list[str] = []
        self.letters = []

    async def _apply(self, items):
        if self.errors:
            raise self.errors.pop(0)
        self.applied += [i.event_id for i in items]

    async def _dead_letter(self, letters) -> None:
        self.letters += letters


def sources(n: int) -> list[Source]:
    return [Source(CLAIMS_REMITTANCE, 0, i, b"k", json.dumps(events.remittance(f"rm-{i}", f"PC-{i}")).encode())
            for i in range(n)]


async def test_driver_outages_are_retried_until_the_batch_applies_and_nothing_is_dead_lettered():
    runtime = StubRuntime()
    errors = [ConnectionRefusedError(), asyncpg.exceptions.AdminShutdownError("x"), KafkaConnectionError()]
    processor = Flaky(runtime, errors)
    assert await processor.handle(sources(2)) is True
    assert processor.applied == ["rm-0", "rm-1"] and processor.letters == []
    assert len(runtime.pauses) == 3 and runtime.health.retries == 3
    assert runtime.health.last_failure == "KafkaConnectionError"
    assert runtime.health.paused_by_failure is False  # recovered


async def test_a_batch_still_failing_when_the_worker_stops_is_given_up_unacked():
    runtime = StubRuntime(abandon_after=2)
    processor = Flaky(runtime, [ConnectionRefusedError()] * 10)
    assert await processor.handle(sources(2)) is False
    assert processor.applied == [] and processor.letters == []
    assert len(runtime.pauses) == 2


async def test_the_outcomes_are_typed():
    processor = Flaky(StubRuntime(abandon_after=0), [])

    async def ok():
        return None

    async def outage():
        raise ConnectionRefusedError

    async def bad_data():
        raise asyncpg.exceptions.NumericValueOutOfRangeError("x")

    assert await processor._retrying(ok) == Done()
    assert await processor._retrying(outage) == Abandoned()
    failed = await processor._retrying(bad_data)
    assert isinstance(failed, Failed) and isinstance(failed.error, PermanentError)
