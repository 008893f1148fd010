"""Domain events: what happened to a claim. The service layer turns each into an outbox record."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from service.domain.model import Decision, Payer, Remittance
from service.domain.tasks import Task, TaskLine


@dataclass(frozen=True, slots=True)
class RemittanceClassified:
    remittance: Remittance
    decisions: tuple[Decision, ...]


@dataclass(frozen=True, slots=True)
class TaskChanged:
    task: Task  # a snapshot (copied when the event is raised)
    change: str  # opened | updated | closed
    from_state: str | None
    to_state: str
    causation_id: str
    at: dt.datetime
    actor: str = "system"
    note: str | None = None


@dataclass(frozen=True, slots=True)
class FollowupRequested:
    kind: str  # corrected-claim, records-request, ...
    claim_id: str
    payer: Payer
    action: str
    amount: Decimal
    reason: str
    causation_id: str
    at: dt.datetime
    task_id: str | None = None
    category: str | None = None
    due_date: dt.date | None = None
    lines: tuple[TaskLine, ...] = ()
    documents: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    claim_id: str
    event_id: str
    kind: str  # submitted | acknowledgement | status | remittance | reversal | provider_adjustment | task
    occurred_at: dt.datetime
    payer_id: str | None
    summary: dict[str, Any]


DomainEvent = RemittanceClassified | TaskChanged | FollowupRequested
