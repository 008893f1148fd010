"""Appeal tasks: one per (claim, payer, cause), grouping the lines denied for that cause, with a state machine."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field, replace
from decimal import Decimal

from service.domain.model import ZERO, ChecklistItem, Decision

OPEN_STATES = frozenset({"open", "in_progress", "submitted"})
CLOSED_STATES = frozenset({"won", "lost", "written_off", "resolved", "expired"})

# Allowed transitions (from -> to). `lost` may reopen when a next appeal level exists; closed states are final
# otherwise. The work-queue API and the stream both go through `Task.transition`.
TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"in_progress", "submitted", "won", "written_off", "resolved", "expired"}),
    "in_progress": frozenset({"open", "submitted", "won", "written_off", "resolved", "expired"}),
    "submitted": frozenset({"won", "lost", "in_progress", "resolved", "written_off"}),
    "lost": frozenset({"open", "written_off"}),
    "won": frozenset(),
    "written_off": frozenset(),
    "resolved": frozenset(),
    "expired": frozenset({"written_off"}),
}

_TASK_NS = uuid.UUID("0b7f4a52-5d1e-4c55-9d55-2f6c9a1d3e10")


class TransitionError(ValueError):
    def __init__(self, from_state: str, to_state: str) -> None:
        super().__init__(f"a task in state {from_state!r} cannot move to {to_state!r}")
        self.from_state = from_state
        self.to_state = to_state


def task_id_for(claim_id: str, payer_id: str, category: str) -> str:
    """Deterministic, so a replayed event or a second worker can never open a second task for the same cause."""
    return str(uuid.uuid5(_TASK_NS, f"{claim_id}\x1f{payer_id}\x1f{category}"))


@dataclass(frozen=True, slots=True)
class TaskLine:
    line_id: str | None
    amount: Decimal
    reasons: tuple[str, ...]
    procedure_code: str | None = None
    modifiers: tuple[str, ...] = ()
    service_date: dt.date | None = None


@dataclass(slots=True)
class Task:
    task_id: str
    claim_id: str
    payer_id: str
    payer_type: str
    category: str
    action: str
    queue: str
    state: str
    appealable: bool
    amount_at_risk: Decimal
    recoverability: float
    explanation: str
    rule_ids: tuple[str, ...]
    opened_at: dt.datetime
    last_event_at: dt.datetime
    source_event_id: str
    deadline: dt.date | None = None
    deadline_basis: str | None = None
    filing_deadline: dt.date | None = None
    lines: tuple[TaskLine, ...] = ()
    checklist: tuple[ChecklistItem, ...] = ()
    recovered_amount: Decimal | None = None
    closed_at: dt.datetime | None = None
    version: int = 1
    changed: bool = field(default=False, compare=False)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def transition(self, to_state: str, *, at: dt.datetime) -> str:
        """Move to `to_state` (raises TransitionError when not allowed); returns the previous state."""
        previous = self.state
        if to_state == previous:
            return previous
        if to_state not in TRANSITIONS.get(previous, frozenset()):
            raise TransitionError(previous, to_state)
        self.state = to_state
        self.closed_at = at if to_state in CLOSED_STATES else None
        self.version += 1
        self.changed = True
        return previous


def open_task(claim_id: str, payer_id: str, payer_type: str, decisions: list[Decision], *, source_event_id: str,
              at: dt.datetime) -> Task:
    """A new task from the denial decisions of one cause (all share category)."""
    lead = max(decisions, key=lambda d: (d.amount, -d.adjustment_index))
    task = Task(
        task_id=task_id_for(claim_id, payer_id, lead.category),
        claim_id=claim_id, payer_id=payer_id, payer_type=payer_type,
        category=lead.category, action=lead.action, queue=lead.queue or "billing", state="open",
        appealable=lead.appealable, amount_at_risk=ZERO, recoverability=lead.recoverability,
        explanation=lead.explanation, rule_ids=(), opened_at=at, last_event_at=at, source_event_id=source_event_id,
        changed=True,
    )
    merge_decisions(task, decisions, at=at)
    return task


def merge_decisions(task: Task, decisions: list[Decision], *, at: dt.datetime) -> None:
    """Fold one remittance's denial decisions of this cause into the task. A line denied again (a re-adjudication)
    replaces its earlier amount rather than adding to it; the task's clocks are the nearest of its decisions."""
    fresh: dict[str | None, list[Decision]] = {}
    for d in decisions:
        fresh.setdefault(d.line_id, []).append(d)
    by_line: dict[str | None, TaskLine] = {line.line_id: line for line in task.lines}
    for line_id, group in fresh.items():
        first = group[0]
        by_line[line_id] = TaskLine(
            line_id=line_id,
            amount=sum((d.amount for d in group), ZERO),
            reasons=tuple(dict.fromkeys(f"{d.group}-{d.reason}" for d in group)),
            procedure_code=first.procedure.code if first.procedure else None,
            modifiers=first.procedure.modifiers if first.procedure else (),
            service_date=first.service_date,
        )
    task.lines = tuple(by_line.values())
    task.amount_at_risk = sum((line.amount for line in task.lines), ZERO)
    deadlines = [d.deadline for d in decisions if d.deadline] + ([task.deadline] if task.deadline else [])
    if deadlines:
        nearest = min(deadlines)
        if nearest != task.deadline:
            task.deadline = nearest
            task.deadline_basis = next((d.deadline_basis for d in decisions if d.deadline == nearest),
                                       task.deadline_basis)
    filing = [d.filing_deadline for d in decisions if d.filing_deadline] + (
        [task.filing_deadline] if task.filing_deadline else [])
    if filing:
        task.filing_deadline = min(filing)
    known = {item.id for item in task.checklist}
    extra = tuple(item for d in decisions for item in d.checklist if item.id not in known)
    task.checklist = task.checklist + tuple(dict((i.id, i) for i in extra).values())
    task.rule_ids = tuple(dict.fromkeys(task.rule_ids + tuple(d.rule_id for d in decisions)))
    task.recoverability = min([task.recoverability] + [d.recoverability for d in decisions]) \
        if task.lines else task.recoverability
    task.last_event_at = max(task.last_event_at, at)
    task.changed = True


def with_state(task: Task, state: str) -> Task:
    return replace(task, state=state)
