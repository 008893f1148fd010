"""A batch that cannot be applied is retried one event at a time: only the events that fail become dead letters.

The agent's isolation path, without a database: `_apply` and `_dead_letter` are replaced by in-memory recorders
(the real ones are exercised by the integration tests); the control flow under test is BatchProcessor's own."""

from __future__ import annotations

import json

import asyncpg

from agents.batch import BatchProcessor, Source
from agents.decoders import json_decoders
from agents.runtime import Health
from service.config import Settings
from service.privacy import Pseudonymizer
from tests.support import events
from topics.catalogue import CLAIMS_REMITTANCE


class StubRuntime:
    def __init__(self) -> None:
        self.settings = Settings()
        self.health = Health()
        self.pseudonyms = Pseudonymizer("test-key")

    def begin(self) -> bool:
        return True

    def end(self) -> None:
        pass

    def should_abandon(self) -> bool:
        return False

    async def pause(self, seconds: float) -> None:
        pass


class Recording(BatchProcessor):
    """Applies everything except the poison event, which fails the way PostgreSQL rejects a value (SQLSTATE 22)."""

    def __init__(self, poison: str) -> None:
        super().__init__(StubRuntime(), CLAIMS_REMITTANCE, json_decoders(1 << 20)[CLAIMS_REMITTANCE])
        self.poison = poison
        self.applied: list[str] = []
        self.letters = []

    async def _apply(self, items):
        if any(i.event_id == self.poison for i in items):
            raise asyncpg.exceptions.UntranslatableCharacterError("unsupported Unicode escape sequence")
        self.applied += [i.event_id for i in items]

    async def _dead_letter(self, letters) -> None:
        self.letters += letters


async def test_only_the_event_that_cannot_be_applied_is_dead_lettered_the_rest_are_applied_once():
    sources = [Source(CLAIMS_REMITTANCE, 0, n, b"k", json.dumps(events.remittance(f"rm-{n}", f"PC-{n}")).encode())
               for n in range(5)]
    processor = Recording(poison="rm-2")
    assert await processor.handle(sources) is True
    assert processor.applied == ["rm-0", "rm-1", "rm-3", "rm-4"]
    assert [(x.source.offset, x.error_class, x.source_event_id) for x in processor.letters] == [
        (2, "processing_error", "rm-2")]
    assert processor.letters[0].reason.startswith("UntranslatableCharacterError")
