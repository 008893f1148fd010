"""The unit-of-work port: one transaction in which a batch of events is read and written.

The asyncpg adapter (`service.adapters.store`) implements it; unit tests use an in-memory fake.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

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
