"""Process one batch of records from an input topic: decode, apply in one unit of work, dead-letter the bad ones.

The retry decisions live here, around the service layer (dramatiq-style): driver errors become TransientError or
PermanentError at this edge; transient failures (PostgreSQL or the broker unavailable, timeouts) are retried with the
service's backoff (service.retry) and never dead-lettered; permanent ones (not JSON, schema violation, oversize, a
record the service cannot apply) become dead letters so the partition keeps moving.
`handle` never raises (except cancellation): an exception escaping a faust agent would ack and lose the event.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from agents.runtime import Runtime
from service.adapters import metrics
from service.adapters.deadletters import PostgresDeadLetters
from service.adapters.driver_errors import error_name, translate, translated
from service.domain.model import Event
from service.errors import BrokerUnreachable
from service.logs import get_logger
from service.retry import RetryAbandoned, RetryPolicy
from service.service_layer.conflicts import Conflict
from service.service_layer.dead_letters import dead_letter
from service.service_layer.handlers import Inbound, process_batch
from service.service_layer.unit_of_work import DeadLetterEntry
from topics.codec import ContractError, encode, readable_event_id, value_digest
from topics.outputs import DeadLetterEvent

log = get_logger("denials.agent")


@dataclass(frozen=True, slots=True)
class Done:
    """The operation succeeded (committed, or dead letters published and stored)."""


@dataclass(frozen=True, slots=True)
class Abandoned:
    """Still failing transiently when the worker began stopping or rebalancing: give the batch up, unacked."""


@dataclass(frozen=True, slots=True)
class Failed:
    """Failed for good (a PermanentError, or a bug): nothing of it was committed."""

    error: Exception


Outcome = Done | Abandoned | Failed

# A dead-letter record keeps at most this much of the original value; the table keeps all of it, except for an
# oversize value: of that, both keep only a prefix (with the size and digest of the whole); the whole value stays on
# the input topic, where `denials deadletters replay` reads it from. Storing it (and every replay's copy) made one
# 5 MB record a 5 MB row per attempt.
DEADLETTER_VALUE_CAP = 512 * 1024
OVERSIZE_PREFIX_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Source:
    """Where a record came from (faust's message, reduced to what we need)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    replay_of: str | None = None  # the dead letter `denials deadletters replay` re-published this record from


REPLAY_HEADER = "denials-replay-of"


def replay_of(headers: object) -> str | None:
    """The dead-letter id in a record's replay header (faust hands headers over as pairs or a mapping)."""
    pairs = headers.items() if isinstance(headers, dict) else (headers or ())
    for name, value in pairs:
        if name == REPLAY_HEADER and value:
            return value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
    return None


@dataclass(slots=True)
class Decoded:
    events: list[Event] = field(default_factory=list)
    errors: list[ContractError] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)  # event id -> content digest (topics.codec)


Decoder = Callable[[bytes | None], Decoded]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    source: Source
    error_class: str
    reason: str
    index: int = 0
    source_event_id: str | None = None
    detail: dict[str, Any] | None = None  # structured facts for operators (digests, sizes); never PHI
    first_failed_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    attempts: int = 1

    @property
    def dead_letter_id(self) -> str:
        s = self.source
        digest = hashlib.sha256(f"{s.topic}\x1f{s.partition}\x1f{s.offset}\x1f{self.index}".encode()).hexdigest()
        return f"dl-{digest[:32]}"

    @property
    def stored_value(self) -> bytes | None:
        """What the table keeps of the value: all of it, or of an oversize one a bounded prefix."""
        value = self.source.value
        if value is not None and self.error_class == "oversize" and len(value) > OVERSIZE_PREFIX_BYTES:
            return value[:OVERSIZE_PREFIX_BYTES]
        return value

    @property
    def value_truncated(self) -> bool:
        return len(self.stored_value or b"") < len(self.source.value or b"")

    @property
    def full_detail(self) -> dict[str, Any] | None:
        """`detail`, plus where the whole value is when only a prefix is kept."""
        if not self.value_truncated:
            return self.detail
        s = self.source
        return {**(self.detail or {}), "value_stored": f"the first {len(self.stored_value or b'')} bytes",
                "value_size": len(s.value or b""), "value_digest": value_digest(s.value),
                "original": f"the whole value stays on {s.topic} partition {s.partition} offset {s.offset} until "
                            "the topic's retention removes it (replay reads it from there)"}

    def record(self) -> DeadLetterEvent:
        value = self.source.value or b""
        kept = (self.stored_value or b"")[:DEADLETTER_VALUE_CAP]
        return DeadLetterEvent(
            event_id=self.dead_letter_id, occurred_at=dt.datetime.now(dt.UTC), source_topic=self.source.topic,
            source_partition=self.source.partition, source_offset=self.source.offset,
            source_event_id=self.source_event_id,
            key_b64=base64.b64encode(self.source.key).decode() if self.source.key is not None else None,
            value_b64=base64.b64encode(kept).decode(),
            value_truncated=len(kept) < len(value), value_size=len(value), value_digest=value_digest(value),
            error_class=self.error_class, reason=self.reason, attempts=self.attempts,
            first_failed_at=self.first_failed_at, detail=self.full_detail,
        )


class BatchProcessor:
    def __init__(self, runtime: Runtime, topic: str, decode: Decoder, *, decode_in_executor: bool = False) -> None:
        self.runtime = runtime
        self.topic = topic
        self.decode = decode
        self.decode_in_executor = decode_in_executor
        self._retry = RetryPolicy.from_settings(runtime.settings)
        self._conflicts: list[Conflict] = []  # found by the committed applications of the current batch

    async def handle(self, sources: Sequence[Source]) -> bool:
        """True when every record is committed or dead-lettered (ack them); False when the batch was given up
        because the worker is stopping or rebalancing (leave it unacked: it will be redelivered)."""
        if not self.runtime.begin():
            return False
        try:
            done = await self._handle(sources)
            metrics.events_consumed(self.topic, len(sources), done)  # never raises
            return done
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - last line of defence: never let an exception reach faust
            log.error("batch.unexpected", topic=self.topic, error=type(exc).__name__)
            return False
        finally:
            self.runtime.end()

    async def _decode(self, source: Source) -> Decoded:
        if self.decode_in_executor:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(None, self.decode, source.value)
        return self.decode(source.value)

    async def _handle(self, sources: Sequence[Source]) -> bool:
        self._conflicts = []
        pairs: list[tuple[Inbound, Source]] = []
        letters: list[DeadLetter] = []
        for source in sources:
            decoded = await self._decode_retrying(source)
            if decoded is None:
                return False
            for event in decoded.events:
                pairs.append((Inbound(self.topic, event, source.partition, source.offset,
                                      digest=decoded.digests.get(event.event_id)), source))
            if decoded.errors:  # whatever is wrong with it, a JSON record's readable event id names it
                event_id = readable_event_id(source.value, max_bytes=OVERSIZE_PREFIX_BYTES)
            for index, err in enumerate(decoded.errors):
                letters.append(DeadLetter(source, err.error_class, err.reason, index=index, source_event_id=event_id))

        if letters and not isinstance(await self._retrying(lambda: self._dead_letter(letters)), Done):
            return False
        if not pairs:
            return True
        items = [item for item, _ in pairs]
        match await self._retrying(lambda: self._apply(items)):
            case Done():
                if log.is_enabled_for(10):  # DEBUG: one line per event, with its context bound
                    for item in items:
                        with self.event_context(item):
                            log.debug("event.applied")
                return await self._dead_letter_conflicts(pairs)
            case Abandoned():
                return False
            case Failed(error=error):
                # Something in this batch cannot be applied (the transaction rolled back): apply one at a time to
                # find it.
                log.warning("batch.isolating", topic=self.topic, size=len(items), error=error_name(error))
                return await self._apply_one_by_one(pairs)

    def event_context(self, item: Inbound):
        """Per-event log context: where it came from, its id, and a keyed pseudonym of the claim (never the id)."""
        return structlog.contextvars.bound_contextvars(
            topic=item.topic, partition=item.partition, offset=item.offset, event_id=item.event_id,
            claim=self.runtime.pseudonyms.claim(getattr(item.event, "claim_id", None)))

    async def _decode_retrying(self, source: Source) -> Decoded | None:
        """Decode one record. A broken record is a contract error (dead letter); an environment failure while
        decoding (e.g. the X12 maps unreadable: OSError) is transient and retried. None: give the batch up."""

        async def decode() -> Decoded:
            try:
                return await self._decode(source)
            except asyncio.CancelledError:
                raise
            except OSError as exc:
                raise translate(exc) from exc  # a TransientError
            except Exception as exc:  # noqa: BLE001 - a decoder bug on one record must not block the partition
                return Decoded(errors=[ContractError("decode_error", f"{type(exc).__name__} while decoding")])

        try:
            return await self._retry.call(decode, stop=self.runtime.should_abandon, sleep=self.runtime.pause,
                                          on_retry=self._on_transient)
        except RetryAbandoned:
            return None

    async def _apply_one_by_one(self, pairs: list[tuple[Inbound, Source]]) -> bool:
        letters: list[DeadLetter] = []
        for item, source in pairs:
            with self.event_context(item):
                match await self._retrying(lambda item=item: self._apply([item])):
                    case Abandoned():
                        return False
                    case Done():
                        continue  # applied: only the events that cannot be applied become dead letters
                    case Failed(error=error):
                        log.error("event.unprocessable", error=error_name(error))
                        letters.append(DeadLetter(
                            source, "processing_error",
                            f"{error_name(error)} while applying the event (see the service logs)",
                            index=1000 + len(letters), source_event_id=item.event_id))
        if letters and not isinstance(await self._retrying(lambda: self._dead_letter(letters)), Done):
            return False
        return await self._dead_letter_conflicts(pairs)

    async def _dead_letter_conflicts(self, pairs: list[tuple[Inbound, Source]]) -> bool:
        """Dead-letter the records that reused a known event id with other content (the first version stays
        applied). Idempotent: redelivered, the same record is found conflicting again under the same letter id."""
        if not self._conflicts:
            return True
        source_of = {id(item): source for item, source in pairs}
        letters = []
        for n, conflict in enumerate(self._conflicts):
            item = conflict.item
            letters.append(DeadLetter(
                source_of[id(item)], "conflicting_duplicate",
                f"event_id already applied with other content (first {conflict.first_digest}, this "
                f"{conflict.digest}): an event id is immutable, send a correction under a new event_id",
                index=2000 + n, source_event_id=item.event_id,
                detail={"first_digest": conflict.first_digest, "digest": conflict.digest,
                        "first_version": "kept applied"}))
        for letter, conflict in zip(letters, self._conflicts, strict=True):
            log.warning("event.conflicting_duplicate", topic=letter.source.topic, partition=letter.source.partition,
                        offset=letter.source.offset, event_id=conflict.item.event_id,
                        first_digest=conflict.first_digest, digest=conflict.digest)
        if not isinstance(await self._retrying(lambda: self._dead_letter(letters)), Done):
            return False
        metrics.conflicting_duplicates(self.topic, len(letters))  # never raises
        self._conflicts = []
        return True

    async def _retrying(self, operation: Callable[[], Awaitable[object]]) -> Outcome:
        """Run `operation` until it succeeds (Done), fails for good (Failed) or the batch must be given up
        (Abandoned). Transient failures are retried with the service's backoff, each attempt under a timeout."""
        failed = 0

        def on_retry(exc: BaseException, attempt: int, delay: float) -> None:
            nonlocal failed
            failed = attempt
            self._on_transient(exc, attempt, delay)

        async def attempt() -> object:
            with translated():  # driver errors become TransientError or PermanentError here
                return await asyncio.wait_for(operation(), timeout=self._op_timeout)

        try:
            result = await self._retry.call(attempt, stop=self.runtime.should_abandon, sleep=self.runtime.pause,
                                            on_retry=on_retry)
        except asyncio.CancelledError:
            raise
        except RetryAbandoned:
            return Abandoned()
        except Exception as exc:  # noqa: BLE001 - not transient: PermanentError or a bug, the caller dead-letters
            return Failed(exc)
        if hasattr(result, "applied"):
            self.runtime.health.processed += result.applied
        self._recovered(failed)
        return Done()

    @property
    def _op_timeout(self) -> float:
        return self.runtime.settings.db_command_timeout_s * 4 + 20

    async def _apply(self, items: list[Inbound]):
        assert self.runtime.pool is not None
        # the store's unit of work, counting decisions, apply time and event-time-to-commit when it commits
        uow = metrics.MeteredUnitOfWork(self.topic, items, self.runtime.pool,
                                        acquire_timeout=self.runtime.settings.db_connect_timeout_s)
        parts = self.runtime.parts  # what service.bootstrap built: classifier, clock, pricing, member digest
        report = await process_batch(items, uow, parts.classifier, clock=parts.clock, pricing=parts.pricing,
                                     member_digest=parts.member_digest)
        self._conflicts.extend(report.conflicts)  # committed: these are known now, whatever happens next
        return report

    def _on_transient(self, exc: BaseException, attempt: int, delay: float) -> None:
        """A transient failure, about to be retried (unless the worker is stopping or rebalancing)."""
        health = self.runtime.health
        health.paused_by_failure = True
        health.retries += 1
        health.last_failure = error_name(exc)
        if isinstance(exc, BrokerUnreachable):
            health.broker = False
        else:
            health.database = False
        log.warning("batch.transient_failure", topic=self.topic, error=error_name(exc), attempt=attempt)

    def _recovered(self, attempt: int) -> None:
        health = self.runtime.health
        if attempt or health.paused_by_failure:
            log.info("batch.recovered", topic=self.topic, attempts=attempt)
        health.paused_by_failure = False
        health.database = True
        health.broker = True

    async def _dead_letter(self, letters: list[DeadLetter]) -> None:
        """Store each dead letter with its deadletter.v1 record in the outbox, in one transaction (idempotent): the
        relay publishes it like every other record the service emits."""
        pool = self.runtime.pool
        assert pool is not None
        await dead_letter(PostgresDeadLetters(pool=pool, acquire_timeout=self.runtime.settings.db_connect_timeout_s), [
            DeadLetterEntry(
                dead_letter_id=x.dead_letter_id, source_topic=x.source.topic, source_partition=x.source.partition,
                source_offset=x.source.offset, source_event_id=x.source_event_id, key=x.source.key,
                value=x.stored_value, error_class=x.error_class, reason=x.reason, attempts=x.attempts,
                first_failed_at=x.first_failed_at, value_size=len(x.source.value or b""),
                value_digest=value_digest(x.source.value), value_truncated=x.value_truncated, detail=x.full_detail,
                record=encode(x.record()), replay_of=x.source.replay_of)
            for x in letters])
        metrics.dead_lettered(self.topic, len(letters))  # never raises
        for letter in letters:
            self.runtime.health.dead_letters += 1
            log.warning("event.dead_lettered", topic=letter.source.topic, partition=letter.source.partition,
                        offset=letter.source.offset, error_class=letter.error_class, reason=letter.reason,
                        dead_letter_id=letter.dead_letter_id)
