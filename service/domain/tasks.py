"""Appeal tasks: one per (claim, payer, cause), grouping the lines denied for that cause, with a state machine."""

from __future__ import annotations

import datetime as dt
import functools
import operator
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from typing import Any

from service.domain.identity import fast_uuid5
from service.domain.model import ZERO, ChecklistItem, Decision
from service.domain.policy import payer_terms
from service.domain.priority import DEFAULT_WEIGHTS, NOTHING_EXPECTED, PriorityParts, PriorityWeights, score_priority

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

# The payer itself can reopen work people closed: a corrected claim (resolved) or a paid appeal (won) that a newer
# remittance denies again for the same cause. Only the stream does this (`Task.reopen`); people cannot.
PAYER_REOPENS = frozenset({"resolved", "won", "lost"})

_TASK_NS = uuid.UUID("0b7f4a52-5d1e-4c55-9d55-2f6c9a1d3e10")
_TASK_NS_BYTES = _TASK_NS.bytes


class TransitionError(ValueError):
    def __init__(self, from_state: str, to_state: str) -> None:
        super().__init__(f"a task in state {from_state!r} cannot move to {to_state!r}")
        self.from_state = from_state
        self.to_state = to_state


def opens_task(decision: Decision) -> bool:
    """A denial becomes work for a team unless the classifier found nothing to do (a confirmed true duplicate)."""
    return decision.is_denial and decision.action != "none"


@functools.lru_cache(maxsize=1 << 12)
def task_id_for(claim_id: str, payer_id: str, category: str) -> str:
    """Deterministic, so a replayed event or a second worker can never open a second task for the same cause.
    Cached, a few thousand entries (a batch's worth, so the worker's memory stays flat): a batch asks for the id of
    each denial's cause several times (its decision row, the task)."""
    return fast_uuid5(_TASK_NS_BYTES, f"{claim_id}\x1f{payer_id}\x1f{category}")


@dataclass(frozen=True, slots=True)
class TaskLine:
    line_id: str | None
    amount: Decimal
    reasons: tuple[str, ...]
    procedure_code: str | None = None
    modifiers: tuple[str, ...] = ()
    service_date: dt.date | None = None
    paid: Decimal | None = None  # what the payer paid on the line when it was last denied (None: not known)
    value: Decimal | None = None  # what fixing the line can bring back when a rule valued it (None: `amount`)

    @property
    def at_stake(self) -> Decimal:
        return self.amount if self.value is None else self.value

    def with_paid(self, paid: Decimal | None) -> TaskLine:
        """`dataclasses.replace(self, paid=paid)`, without the generic replace's cost (once per denied line)."""
        return TaskLine(self.line_id, self.amount, self.reasons, self.procedure_code, self.modifiers,
                        self.service_date, paid, self.value)


@dataclass(frozen=True, slots=True)
class TaskNote:
    """A note a person typed on a task (free text: it may hold PHI, so it is never logged)."""

    at: dt.datetime
    author: str
    text: str


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
    filing_deadline_basis: str | None = None
    lines: tuple[TaskLine, ...] = ()
    checklist: tuple[ChecklistItem, ...] = ()
    recovered_amount: Decimal | None = None
    closed_at: dt.datetime | None = None
    version: int = 1
    changed: bool = field(default=False, compare=False)
    # Work-queue state, kept by the API and the timers (the stream leaves these columns alone).
    notes: tuple[TaskNote, ...] = field(default=(), compare=False)
    assignee: str | None = field(default=None, compare=False)
    lease_expires_at: dt.datetime | None = field(default=None, compare=False)
    priority: float = field(default=0.0, compare=False)
    priority_parts: dict[str, Any] = field(default_factory=dict, compare=False)
    # Revenue follow-through: the appeal level the work is at (1 = first appeal / Medicare
    # redetermination), and what provider-level recoupments took back from the claim after the task was won.
    appeal_level: int = 1
    recouped_amount: Decimal | None = None
    # what opened it: "remittance", "status:<bucket>" for a 277/277CA, or "silent_claim" (the silent-claim timer)
    origin: str = "remittance"

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
        return self._move(to_state, at)

    def reopen(self, *, at: dt.datetime) -> str:
        """The payer denied the same cause again after the task was closed (PAYER_REOPENS): back to `open`."""
        if self.state not in PAYER_REOPENS:
            raise TransitionError(self.state, "open")
        return self._move("open", at)

    def _move(self, to_state: str, at: dt.datetime) -> str:
        previous, self.state = self.state, to_state
        self.closed_at = at if to_state in CLOSED_STATES else None
        self.version += 1
        self.changed = True
        return previous

    # -- work-queue operations (the API) ---------------------------------------------------------------------------

    def lease_active(self, now: dt.datetime) -> bool:
        return self.lease_expires_at is not None and self.lease_expires_at > now

    def held_by_other(self, actor: str, now: dt.datetime) -> bool:
        """Someone else holds a live lease: they are working it, so others must not change it under them."""
        return self.lease_active(now) and self.assignee != actor

    def _touch_work(self) -> None:
        # the version moves once per saved change set (`settle_version`), not once per operation
        self.changed = True

    def settle_version(self, loaded: int) -> None:
        """One saved change set is one version step, however many operations (or a transition) it held."""
        self.version = loaded + 1

    def lease_to(self, holder: str, *, now: dt.datetime, until: dt.datetime) -> None:
        """Hand the task to `holder` until `until`; only an open task nobody else holds can be leased."""
        if self.state != "open":
            raise TaskRuleError("not_leasable", f"a task in state {self.state!r} is not in the queue")
        if self.held_by_other(holder, now):
            raise TaskRuleError("leased_to_another", "another user holds the lease on this task")
        if until <= now:
            raise TaskRuleError("invalid_lease", "a lease must end in the future")
        self.assignee, self.lease_expires_at = holder, until
        self._touch_work()

    def assign(self, assignee: str | None, *, until: dt.datetime | None) -> None:
        """Give the task to `assignee` (leased until `until`), or release it back to its queue (None)."""
        if assignee is None:
            self.assignee, self.lease_expires_at = None, None
        else:
            self.assignee, self.lease_expires_at = assignee, until if self.is_open else None
        self._touch_work()

    def move_to_queue(self, queue: str) -> None:
        if queue != self.queue:
            self.queue = queue
            self._touch_work()

    def mark_checklist(self, item_id: str, done: bool) -> bool:
        """Set one checklist item's done flag; True when it changed."""
        if not self.is_open:
            raise TaskRuleError("task_closed", f"the checklist of a {self.state} task is final")
        items = list(self.checklist)
        for i, item in enumerate(items):
            if item.id == item_id:
                if item.done == done:
                    return False
                items[i] = replace(item, done=done)
                self.checklist = tuple(items)
                self._touch_work()
                return True
        raise TaskRuleError("unknown_checklist_item", f"the task has no checklist item {item_id!r}")

    def add_note(self, text: str, *, author: str, at: dt.datetime) -> TaskNote:
        body = text.strip()
        if not body:
            raise TaskRuleError("empty_note", "a note needs some text")
        if len(body) > MAX_NOTE_CHARS:
            raise TaskRuleError("note_too_long", f"a note holds at most {MAX_NOTE_CHARS} characters")
        if len(self.notes) >= MAX_NOTES:
            raise TaskRuleError("too_many_notes", f"a task holds at most {MAX_NOTES} notes")
        note = TaskNote(at=at, author=author, text=body)
        self.notes = self.notes + (note,)
        self._touch_work()
        return note

    def refresh_priority(self, today: dt.date, weights: PriorityWeights = DEFAULT_WEIGHTS) -> PriorityParts:
        """Recompute the derived priority for `today` (not a task change: no version bump). Once every clock has
        passed, the payer's late remedy (a good-cause late appeal) still ranks the task above nothing."""
        terms = payer_terms(self.payer_type, self.payer_id)
        late = terms.late_appeal_basis if terms.late_appeal == "good_cause" else None
        parts = score_priority(self.amount_at_risk, self.recoverability, self.deadline, self.filing_deadline,
                               today=today, weights=weights, action=self.action, late_option=late)
        self.priority, self.priority_parts = parts.score, parts.as_dict()
        return parts

    def priority_inputs(self) -> tuple:
        """Everything `refresh_priority` reads of the task (with the date and weights, the whole of its input)."""
        return (self.payer_type, self.payer_id, self.amount_at_risk, self.recoverability, self.deadline,
                self.filing_deadline, self.action)

    @property
    def at_risk(self) -> Decimal:
        """The dollars this task can still bring back: its amount while it is open and recoverable; nothing for a
        write-off, a task with no recoverability, or a closed task."""
        if not self.is_open or self.action in NOTHING_EXPECTED or self.recoverability <= 0:
            return ZERO
        return self.amount_at_risk


def refresh_priorities(tasks: Iterable[Task], today: dt.date, weights: PriorityWeights = DEFAULT_WEIGHTS) -> None:
    """`refresh_priority` of each task, scoring each distinct input once: a batch scores every task it changed and
    the snapshot each change carries, which mostly hold the same inputs. Each task gets its own copy of the parts."""
    scored: dict[tuple, tuple[float, dict[str, Any]]] = {}
    for task in tasks:
        key = task.priority_inputs()
        found = scored.get(key)
        if found is None:
            task.refresh_priority(today, weights)
            scored[key] = (task.priority, task.priority_parts)
        else:
            task.priority, task.priority_parts = found[0], dict(found[1])


# Every field of a task, in the order `Task(...)` takes them (each is an init field, and there is no __post_init__).
_task_values = operator.attrgetter(*(f.name for f in fields(Task)))


def snapshot(task: Task) -> Task:
    """A shallow copy of the task with `changed` cleared (what `copy.copy` gives, built in one constructor call)."""
    out = Task(*_task_values(task))
    out.changed = False
    return out


TASK_STATES = frozenset(TRANSITIONS)
MAX_NOTE_CHARS = 4000
MAX_NOTES = 500


class TaskRuleError(ValueError):
    """A work-queue rule refused the change; `code` is stable (the API returns it)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def apply_user_transition(task: Task, to_state: str, *, at: dt.datetime, reason: str | None = None,
                          recovered_amount: Decimal | None = None) -> str:
    """A person moves the task (TRANSITIONS decides; raises TransitionError). A write-off needs a reason; a recovered
    amount belongs to a win; closing ends any lease. Returns the previous state (equal to `to_state`: no change)."""
    if to_state not in TASK_STATES:
        raise TaskRuleError("unknown_state", f"{to_state!r} is not a task state")
    if to_state == "written_off" and not (reason or "").strip():
        raise TaskRuleError("reason_required", "a write-off needs a reason")
    if recovered_amount is not None and to_state != "won":
        raise TaskRuleError("recovered_amount_needs_won", "a recovered amount is recorded only with state 'won'")
    if recovered_amount is not None and recovered_amount < 0:
        raise TaskRuleError("negative_amount", "a recovered amount cannot be negative")
    previous = task.transition(to_state, at=at)
    if previous == to_state:
        return previous
    if recovered_amount is not None:
        task.recovered_amount = recovered_amount
    if to_state in CLOSED_STATES:
        task.lease_expires_at = None
    return previous


def expiry_date(task: Task) -> dt.date | None:
    """The last day anything can still be filed: the later of the task's clocks (None: no clock, never expires).
    The later one, because a task with an appeal window left is not lost when only its filing window closed."""
    clocks = [d for d in (task.deadline, task.filing_deadline) if d is not None]
    return max(clocks) if clocks else None


def expire_if_past_deadline(task: Task, *, today: dt.date, at: dt.datetime) -> str | None:
    """Move the task to `expired` when every clock has passed and its state allows it; returns the previous state,
    or None when nothing changed (so running it twice changes nothing)."""
    last = expiry_date(task)
    if last is None or last >= today or "expired" not in TRANSITIONS.get(task.state, frozenset()):
        return None
    previous = task.transition("expired", at=at)
    task.lease_expires_at = None
    return previous


def expiry_note(task: Task) -> str:
    """Why the timer expired the task, in words without PHI (dates only)."""
    parts = []
    if task.deadline:
        parts.append(f"appeal deadline {task.deadline.isoformat()}")
    if task.filing_deadline:
        parts.append(f"filing deadline {task.filing_deadline.isoformat()}")
    return "every deadline has passed (" + ", ".join(parts) + ")"


def open_task(claim_id: str, payer_id: str, payer_type: str, decisions: list[Decision], *, source_event_id: str,
              at: dt.datetime, origin: str = "remittance") -> Task:
    """A new task from the denial decisions of one cause (all share category)."""
    lead = max(decisions, key=lambda d: (d.amount, -d.adjustment_index))
    task = Task(
        task_id=task_id_for(claim_id, payer_id, lead.category),
        claim_id=claim_id, payer_id=payer_id, payer_type=payer_type,
        category=lead.category, action=lead.action, queue=lead.queue or "billing", state="open",
        appealable=lead.appealable, amount_at_risk=ZERO, recoverability=lead.recoverability,
        explanation=lead.explanation, rule_ids=(), opened_at=at, last_event_at=at, source_event_id=source_event_id,
        changed=True, origin=origin,
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
        if len(group) == 1:  # the usual case, the same sums (ZERO + one amount) without the generators
            amount = ZERO + first.amount
            reasons: tuple[str, ...] = (f"{first.group}-{first.reason}",)
            value = None if first.value is None else ZERO + first.value
        else:
            amount = sum((d.amount for d in group), ZERO)
            reasons = tuple(dict.fromkeys(f"{d.group}-{d.reason}" for d in group))
            value = (sum((d.value if d.value is not None else d.amount for d in group), ZERO)
                     if any(d.value is not None for d in group) else None)
        by_line[line_id] = TaskLine(
            line_id=line_id,
            amount=amount,
            reasons=reasons,
            procedure_code=first.procedure.code if first.procedure else None,
            modifiers=first.procedure.modifiers if first.procedure else (),
            service_date=first.service_date,
            value=value,
        )
    task.lines = tuple(by_line.values())
    # what the work can bring back: a rule's valuation of a line where it has one (a bilateral false duplicate is
    # worth the bilateral add-on), else the denied amount
    task.amount_at_risk = sum((line.at_stake for line in task.lines), ZERO)
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
        nearest_filing = min(filing)
        if nearest_filing != task.filing_deadline:
            task.filing_deadline = nearest_filing
            task.filing_deadline_basis = next((d.filing_deadline_basis for d in decisions
                                               if d.filing_deadline == nearest_filing), task.filing_deadline_basis)
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
