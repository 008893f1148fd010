"""The unit-of-work port: one transaction in which a batch of events is read and written.

The asyncpg adapter (`service.adapters.store`) implements it; unit tests use an in-memory fake.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from service.domain.authorizations import Authorization
from service.domain.claim import Claim
from service.domain.events import TimelineEntry
from service.domain.fee_schedule import FeeRate
from service.domain.model import (
    Decision,
    HistorySession,
    PatientIdentifiers,
    ProviderAdjustment,
    Remittance,
    StatusReport,
    Submission,
)
from service.domain.silent_claims import AwaitingClaim, Silence
from service.domain.tasks import Task


@dataclass(frozen=True, slots=True)
class InboxItem:
    event_id: str
    topic: str
    partition: int | None = None
    offset: int | None = None
    digest: str | None = None  # the record's content digest (None: unknown, never compared)


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    event_id: str
    topic: str
    key: bytes | None
    payload: bytes
    causation_id: str


@dataclass(frozen=True, slots=True)
class DecisionRow:
    remittance: Remittance
    decision: Decision
    task_id: str | None


@dataclass(frozen=True, slots=True)
class IdentifiersSeen:
    """The patient identifiers one record carried for a claim and payer (the store keeps them encrypted)."""

    claim_id: str
    payer_id: str
    at: dt.datetime  # business time: an older record never overwrites newer values
    patient: PatientIdentifiers


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of a task's audit trail: who changed what, when, and the event that caused it."""

    task_id: str
    at: dt.datetime
    actor: str
    change: str
    from_state: str | None
    to_state: str
    note: str | None
    causation_id: str | None
    id: int | None = None  # the row's id once stored


@dataclass(slots=True)
class Changes:
    """Everything one batch writes, gathered so the adapter can write each table with one set-based statement."""

    inbox_outcomes: dict[str, str] = field(default_factory=dict)  # event_id -> outcome, when not 'applied'
    claims: list[Claim] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    remittances: list[tuple[Remittance, str, str | None]] = field(default_factory=list)  # (remit, key, duplicate_of)
    decisions: list[DecisionRow] = field(default_factory=list)
    submissions: list[Submission] = field(default_factory=list)
    batch_statuses: list[StatusReport] = field(default_factory=list)
    provider_adjustments: list[tuple[ProviderAdjustment, bool]] = field(default_factory=list)  # (adj, linked)
    task_audit: list[AuditEntry] = field(default_factory=list)
    outbox: list[OutboxRecord] = field(default_factory=list)
    identifiers: list[IdentifiersSeen] = field(default_factory=list)


class UnitOfWork(Protocol):
    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def claim_inbox(self, items: Iterable[InboxItem]) -> set[str]:
        """Record the event ids (with their content digests); return those seen for the first time (the rest are
        redeliveries, or conflicting duplicates when their digest differs)."""

    async def inbox_digests(self, event_ids: Iterable[str]) -> dict[str, str | None]:
        """The content digest the inbox holds for each of these (known) event ids; None for rows from before
        digests were kept."""

    async def load_claims(self, claim_ids: Iterable[str]) -> dict[str, Claim]:
        """The claims, locked for this transaction and created empty when new, with their tasks."""

    async def known_claims(self, claim_ids: Iterable[str]) -> set[str]:
        """Which of these claims exist (without locking or creating them)."""

    async def load_history(self, patient_keys: Iterable[str], since: dt.date) -> dict[str, list[HistorySession]]:
        """Procedure sessions per patient on or after `since`."""

    async def find_originals(self, business_keys: Iterable[str]) -> dict[str, str]:
        """business key -> event id of the remittance first recorded with it."""

    async def load_fee_schedule(self, keys: Iterable[tuple[str, str]]) -> list[FeeRate]:
        """Every fee-schedule row of these (payer id, code) pairs, whatever its period (one read per batch)."""

    async def load_authorizations(self, member_digests: Iterable[str]) -> list[Authorization]:
        """Every authorization in the register for these member digests (one read per batch)."""

    async def save(self, changes: Changes) -> None: ...

    async def commit(self) -> None: ...


# -- the timers' and the dead letters' units of work ------------------------------------------------------------------

class SilentClaimsUnitOfWork(Protocol):
    """One transaction of the silent-claim timer (it may be entered again for the next page)."""

    async def __aenter__(self) -> SilentClaimsUnitOfWork: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def awaiting_claims(self, today: dt.date, min_days: int, after: str, limit: int) -> list[AwaitingClaim]:
        """Claims still waiting on their payer (submitted, acknowledged or accepted) about which nothing (status,
        remittance, reversal) arrived since their latest submission, submitted at least `min_days` office days before
        `today`; the first `limit` with a claim id after `after`, in claim-id order."""

    async def record_inquiries(self, due: Sequence[Silence], event_ids: Sequence[str]) -> set[tuple[str, str, int]]:
        """Record each inquiry (with the outbox event id of its request) under its key unless it is on file; the keys
        recorded now (a second pass in the same interval records, and so sends, nothing)."""

    async def lock_still_silent(self, claim_ids: Sequence[str]) -> set[str]:
        """Lock the claims (LOCKING RULE: claim-id order), then the ones still silent under the lock."""

    async def existing_tasks(self, task_ids: Sequence[str]) -> set[str]:
        """Which of these tasks exist."""

    async def add_tasks(self, tasks: Sequence[Task], audit: Sequence[AuditEntry]) -> None:
        """Write new tasks (a task already on file is left as it is) and their audit rows."""

    async def add_to_outbox(self, records: Sequence[OutboxRecord]) -> None:
        """Outbox rows, skipping event ids already on file (a re-run publishes nothing twice)."""

    async def commit(self) -> None: ...


class TaskTimersUnitOfWork(Protocol):
    """One transaction of the task timer (entered again per batch); a `TaskWriter` (service.service_layer.tasks_api)
    with the timer's own reads."""

    async def __aenter__(self) -> TaskTimersUnitOfWork: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def lock_tasks(self, task_ids: Sequence[str]) -> dict[str, Task]: ...

    async def lease_next(self, queue: str, *, now: dt.datetime) -> Task | None: ...

    async def save(self, tasks: Sequence[Task], audit: Sequence[AuditEntry],
                   outbox: Sequence[OutboxRecord]) -> None: ...

    async def save_priorities(self, tasks: Sequence[Task]) -> None: ...

    async def overdue_task_ids(self, today: dt.date, after: str, limit: int) -> list[str]:
        """Open or in-progress tasks whose every clock (deadline, filing deadline) is before `today`: the first
        `limit` with an id after `after`, in id order."""

    async def stale_priority_ids(self, today: dt.date, after: str, limit: int) -> list[str]:
        """Live tasks whose priority was scored for another day or from other inputs than the row holds now."""

    async def last_run(self, job: str) -> dt.datetime | None:
        """When the periodic job last ran (None: never)."""

    async def record_run(self, job: str, at: dt.datetime, today: dt.date) -> None: ...

    async def commit(self) -> None: ...


@dataclass(frozen=True, slots=True)
class DeadLetterEntry:
    """A record that cannot be applied, as the dead-letter table keeps it, with its `deadletter.v1` record.

    `value` is what the table keeps (of an oversize value only a prefix); `value_size` and `value_digest` describe the
    whole original value. `replay_of`: the letter an operator replayed this record from."""

    dead_letter_id: str
    source_topic: str
    source_partition: int
    source_offset: int
    source_event_id: str | None
    key: bytes | None
    value: bytes | None
    error_class: str
    reason: str
    attempts: int
    first_failed_at: dt.datetime
    value_size: int
    value_digest: str | None
    value_truncated: bool
    detail: dict[str, Any] | None
    record: bytes  # the encoded deadletter.v1 record
    replay_of: str | None = None


class DeadLetterUnitOfWork(Protocol):
    async def __aenter__(self) -> DeadLetterUnitOfWork: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def store_dead_letters(self, letters: Sequence[DeadLetterEntry]) -> None:
        """Store each letter (idempotent by its id; a replayed record that fails again unchanged counts one more
        attempt on the letter it was replayed from instead of adding a copy)."""

    async def add_to_outbox(self, records: Sequence[OutboxRecord]) -> None:
        """Outbox rows, skipping event ids already on file."""

    async def commit(self) -> None: ...
