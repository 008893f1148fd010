"""Request and response models of the API. They validate input (unknown fields refused, values never echoed) and
document the output: the OpenAPI document is generated from them and the route table."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema, field_validator

from service.domain.tasks import MAX_NOTE_CHARS
from service.service_layer.tasks_api import SORTS
from topics.outputs import Category, Queue, TaskState

# Money leaves as a JSON number with exactly 2 decimals (see jsonio); it arrives as a number with at most 2.
Money = Annotated[Decimal, WithJsonSchema({"type": "number", "multipleOf": 0.01,
                                           "description": "US dollars, 2 decimals"})]
MoneyIn = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2),
                    WithJsonSchema({"type": "number", "minimum": 0, "multipleOf": 0.01})]
# Free text in filters: any printable text (parameterised SQL makes quotes harmless), no control characters.
FilterText = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]
NoteText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NOTE_CHARS,
                                            pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+$")]
# team or team/user, as tokens name them
ActorName = Annotated[str, StringConstraints(
    pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}(/[A-Za-z0-9][A-Za-z0-9._-]{0,63})?$")]
TaskId = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")]


class Query(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, frozen=True)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, frozen=True)


class Out(BaseModel):
    model_config = ConfigDict(frozen=True)


# -- queries -----------------------------------------------------------------------------------------------------------

class TaskListQuery(Query):
    queue: Queue | None = None
    state: str | None = Field(default=None, description="one state or several, comma-separated",
                              examples=["open,in_progress"], max_length=200)
    payer: FilterText | None = Field(default=None, description="payer id")
    category: Category | None = None
    cpt: FilterText | None = Field(default=None, description="procedure code on one of the task's lines")
    deadline_before: dt.date | None = Field(default=None, description="either clock falls before this date")
    claim_id: FilterText | None = None
    assignee: FilterText | None = None
    sort: Literal[SORTS] = "priority"  # type: ignore[valid-type]
    limit: int = Field(default=50, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=1_000_000)

    @field_validator("state")
    @classmethod
    def _states(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from service.domain.tasks import TASK_STATES

        items = [s.strip() for s in value.split(",") if s.strip()]
        if not items or any(s not in TASK_STATES for s in items):
            raise ValueError(f"states are: {', '.join(sorted(TASK_STATES))}")
        return ",".join(dict.fromkeys(items))


class AuditQuery(Query):
    actor: ActorName | None = Field(default=None, description="team or team/user as tokens name them")
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: int = Field(default=100, ge=1, le=1000)


class TaskAuditQuery(Query):
    limit: int = Field(default=500, ge=1, le=1000)


# -- bodies ------------------------------------------------------------------------------------------------------------

class ChecklistMarkIn(Body):
    id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    done: bool


class TaskPatch(Body):
    """Any of: a new state, checklist marks, a note (appended to the notes; the reason of a write-off)."""

    state: TaskState | None = None
    note: NoteText | None = None
    checklist: list[ChecklistMarkIn] = Field(default_factory=list, max_length=100)
    recovered_amount: MoneyIn | None = Field(default=None, description="with state 'won'")
    version: int | None = Field(default=None, ge=1, description="refuse (409) unless the task is at this version")


class ReassignIn(Body):
    """`assignee`: who gets the task (leased to them), or null to release it to its queue; `queue`: move it."""

    assignee: ActorName | None = None
    queue: Queue | None = None
    note: NoteText | None = None


class WriteOffIn(Body):
    task_ids: list[TaskId] = Field(min_length=1, max_length=5000)
    reason: Annotated[str, StringConstraints(min_length=3, max_length=1000,
                                             pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+$")]


# -- responses ---------------------------------------------------------------------------------------------------------

class ErrorOut(Out):
    error: str = Field(description="a stable code")
    message: str
    details: Any = None


class ChecklistItemOut(Out):
    id: str
    text: str
    done: bool


class NoteOut(Out):
    at: dt.datetime
    author: str
    text: str


class TaskLineOut(Out):
    line_id: str | None
    procedure_code: str | None
    modifiers: list[str]
    service_date: dt.date | None
    amount: Money
    reasons: list[str] = Field(description="group-reason codes, e.g. CO-197")


class ClaimSummaryOut(Out):
    claim_id: str
    state: str
    payer_id: str | None
    payer_type: str | None
    total_charge: Money | None
    service_date_from: dt.date | None
    service_date_to: dt.date | None
    submitted_at: dt.datetime | None
    last_event_at: dt.datetime | None
    adjudicated_payers: list[str]
    payer_claim_numbers: list[str]
    forwarded: bool


class TaskOut(Out):
    id: str
    claim_id: str
    payer_id: str
    payer_type: str
    state: TaskState
    queue: str
    category: str
    action: str
    appealable: bool
    amount_at_risk: Money = Field(description="the denied amount the task covers (a write-off's included)")
    at_risk: Money = Field(description="what the task can still bring back: its amount while it is open and "
                                       "recoverable; 0 for a write-off, a task with no recoverability or a closed "
                                       "task (what the demo summary totals as at risk)")
    recovered_amount: Money | None
    recoverability: float
    deadline: dt.date | None = Field(description="appeal or reopening window")
    deadline_basis: str | None
    filing_deadline: dt.date | None = Field(description="timely filing for a corrected or new claim")
    filing_deadline_basis: str | None
    explanation: str
    rule_ids: list[str]
    priority: float
    priority_parts: dict[str, Any] = Field(description="the score's parts and their explanation")
    checklist: list[ChecklistItemOut]
    notes: list[NoteOut]
    lines: list[TaskLineOut]
    assignee: str | None
    lease_expires_at: dt.datetime | None
    leased: bool = Field(description="a live lease holds the task")
    opened_at: dt.datetime
    last_event_at: dt.datetime
    closed_at: dt.datetime | None
    version: int
    claim: ClaimSummaryOut | None


class TaskListOut(Out):
    tasks: list[TaskOut]
    count: int
    limit: int
    offset: int
    next_offset: int | None


class TimelineItemOut(Out):
    event_id: str
    kind: str
    occurred_at: dt.datetime
    payer_id: str | None
    summary: dict[str, Any]


class TaskDetailOut(TaskOut):
    timeline: list[TimelineItemOut]


class ClaimOut(Out):
    claim: ClaimSummaryOut
    submission: dict[str, Any] | None = Field(description="what was billed, without patient identifiers")
    timeline: list[TimelineItemOut]
    tasks: list[TaskOut] = Field(description="the claim's tasks in the token's queues")


class AuditOut(Out):
    id: int | None
    task_id: str
    at: dt.datetime
    actor: str
    change: str = Field(description="opened, updated, closed (stream); state, checklist, note, reassigned, "
                                    "leased, closed (API and timers)")
    from_state: str | None
    to_state: str
    note: str | None
    causation_id: str | None


class AuditListOut(Out):
    entries: list[AuditOut]


class WriteOffOut(Out):
    tasks: list[TaskOut]


class QueueOut(Out):
    name: str
    open: int
    leased: int
    in_progress: int
    submitted: int


class QueuesOut(Out):
    queues: list[QueueOut]


class MeOut(Out):
    team: str
    user: str | None
    actor: str
    supervisor: bool
    queues: list[str]
