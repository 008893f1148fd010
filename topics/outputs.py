"""Records we emit: `denials.classified.v1`, `appeals.tasks.v1`, `followups.*.v1`, `deadletter.v1`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field

from topics.common import Contract, Date, EventId, Identifier, Money, OutputEnvelope, Payer, Procedure

Category = Literal[
    "patient_responsibility", "contractual", "informational",
    "authorization", "medical_necessity", "coding", "bundling", "eligibility", "coordination_of_benefits",
    "timely_filing", "duplicate", "missing_information", "documentation", "frequency_limit", "non_covered",
    "provider_enrollment", "pricing", "unclassified",
]
Action = Literal[
    "appeal", "reopening", "corrected_claim", "new_claim", "submit_records", "obtain_authorization",
    "verify_eligibility", "rebill_other_payer", "bill_patient", "contract_review", "review", "wait", "write_off",
    "none",
]
Queue = Literal["appeals", "coding", "authorization", "eligibility", "billing", "credentialing", "patient_accounts",
                "contracts"]
TaskState = Literal["open", "in_progress", "submitted", "won", "lost", "written_off", "resolved", "expired"]


class ChecklistItem(Contract):
    id: str
    text: str
    done: bool = False


class DecisionRecord(Contract):
    """One decision: one adjustment (group + CARC + remarks) in the context of its line, claim, payer, history."""

    line_id: Identifier | None
    adjustment_index: int
    group: str
    reason: str
    amount: Money
    remarks: list[str] = []
    procedure: Procedure | None = None
    category: Category
    is_denial: bool
    action: Action
    queue: Queue | None
    appealable: bool
    recoverability: Annotated[float, Field(ge=0, le=1)]
    deadline: Date | None = None
    deadline_basis: str | None = None
    filing_deadline: Date | None = None
    filing_deadline_basis: str | None = None
    explanation: str
    rule_id: str
    rules_version: str
    checklist: list[ChecklistItem] = []


class ClassifiedEvent(OutputEnvelope):
    """`denials.classified.v1`: the decisions for every adjustment of one remittance."""

    claim_id: Identifier
    payer: Payer
    payer_claim_number: Identifier | None = None
    status_code: str
    production_date: Date
    decisions: list[DecisionRecord]


class TaskLine(Contract):
    line_id: Identifier | None
    procedure: Procedure | None = None
    service_date: Date | None = None
    amount: Money
    reasons: list[str] = []


class TaskSnapshot(Contract):
    task_id: str
    claim_id: Identifier
    payer_id: Identifier
    category: Category
    action: Action
    queue: Queue
    state: TaskState
    amount_at_risk: Money
    appealable: bool
    deadline: Date | None = None
    deadline_basis: str | None = None
    filing_deadline: Date | None = None
    filing_deadline_basis: str | None = None
    priority: float = 0.0
    lines: list[TaskLine] = []
    checklist: list[ChecklistItem] = []


class TaskEvent(OutputEnvelope):
    """`appeals.tasks.v1`: a task opened, updated or closed."""

    change: Literal["opened", "updated", "closed"]
    actor: str = "system"
    task: TaskSnapshot


FollowupKind = Literal[
    "corrected-claim", "records-request", "eligibility-check", "authorization", "rebill", "patient-billing",
    "status-inquiry", "underpayment",
]


class FollowupLine(Contract):
    line_id: Identifier | None
    procedure: Procedure | None = None
    service_date: Date | None = None
    amount: Money
    reasons: list[str] = []


class FollowupEvent(OutputEnvelope):
    """`followups.<kind>.v1`: work for a downstream worker. `details` holds kind-specific facts."""

    kind: FollowupKind
    claim_id: Identifier
    payer: Payer
    task_id: str | None = None
    category: Category | None = None
    action: Action
    amount: Money
    due_date: Date | None = None
    reason: str
    lines: list[FollowupLine] = []
    documents: list[str] = []
    details: dict[str, Any] = {}


class DeadLetterEvent(Contract):
    """`deadletter.v1`: an input that could not be processed, with the reason and the original bytes (base64)."""

    event_id: EventId
    schema_version: Literal[1] = 1
    occurred_at: AwareDatetime
    source_topic: str
    source_partition: int
    source_offset: int
    source_event_id: str | None = None
    key_b64: str | None = None
    value_b64: str
    value_truncated: bool = False  # the whole value is in the dead_letters table (oversize: on the input topic)
    value_size: int = 0
    value_digest: str | None = None  # sha256:<hex> of the whole original value
    error_class: str
    reason: str
    attempts: int = 1
    first_failed_at: AwareDatetime
    detail: dict[str, Any] | None = None  # e.g. conflicting_duplicate: first_digest and digest


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


__all__ = [
    "Action", "Category", "ChecklistItem", "ClassifiedEvent", "DeadLetterEvent", "DecisionRecord", "FollowupEvent",
    "FollowupKind", "FollowupLine", "Queue", "TaskEvent", "TaskLine", "TaskSnapshot", "TaskState", "EventId",
]
