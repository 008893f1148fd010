"""Use cases of the appeal work queues: list and read tasks, change them (state, checklist, notes, assignee,
queue), bulk write-off, lease the next task, read the audit; plus the timers' expiry and priority refresh.

Every change goes through the domain (TRANSITIONS, task rules), in one transaction of the `TaskWriter` port that
locks the claim rows first (LOCKING RULE) and writes the task, its `task_events` audit rows and its
`appeals.tasks.v1` outbox rows together. Scopes are checked here: a token sees only its queues, a supervisor all.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import lru_cache
from typing import Any, Protocol

from service.domain.clocks import Clocks, filing_deadline
from service.domain.events import TaskChanged
from service.domain.model import Payer
from service.domain.ruledata import RuleFiles
from service.domain.tasks import (
    CLOSED_STATES,
    Task,
    TaskRuleError,
    TransitionError,
    apply_user_transition,
    expire_if_past_deadline,
    expiry_note,
)
from service.service_layer.outbox import build_records
from service.service_layer.unit_of_work import AuditEntry, OutboxRecord

TIMER_ACTOR = "system:deadline-timer"


# -- who is asking -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Scope:
    """What a bearer token may see and who it acts as."""

    team: str
    queues: frozenset[str]
    supervisor: bool = False
    user: str | None = None
    token_id: int | None = None

    @property
    def actor(self) -> str:
        """The audit name: `team/user`, or the team for a team-wide token."""
        return f"{self.team}/{self.user}" if self.user else self.team

    def sees(self, queue: str) -> bool:
        return self.supervisor or queue in self.queues

    @property
    def visible_queues(self) -> frozenset[str] | None:
        """None: every queue (supervisor)."""
        return None if self.supervisor else self.queues


# -- what can go wrong (the API maps each class to a status) ---------------------------------------------------

class Problem(Exception):
    def __init__(self, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


class NotFound(Problem):
    pass


class Forbidden(Problem):
    pass


class Conflict(Problem):
    pass


class Invalid(Problem):
    pass


# -- read models -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ClaimSummary:
    claim_id: str
    state: str
    payer_id: str | None
    payer_type: str | None
    total_charge: Decimal | None
    service_date_from: dt.date | None
    service_date_to: dt.date | None
    submitted_at: dt.datetime | None = None
    last_event_at: dt.datetime | None = None
    adjudicated_payers: tuple[str, ...] = ()
    payer_claim_numbers: tuple[str, ...] = ()
    forwarded: bool = False
    submission: dict[str, Any] | None = None  # billed facts without patient identifiers


@dataclass(frozen=True, slots=True)
class TaskView:
    task: Task
    claim: ClaimSummary | None


@dataclass(frozen=True, slots=True)
class TimelineItem:
    event_id: str
    kind: str
    occurred_at: dt.datetime
    payer_id: str | None
    summary: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TaskDetail:
    view: TaskView
    timeline: list[TimelineItem]


@dataclass(frozen=True, slots=True)
class ClaimDetail:
    claim: ClaimSummary
    timeline: list[TimelineItem]
    tasks: list[Task]


# amount_at_risk: the denied amount the task covers; at_risk: what it can still bring back (`Task.at_risk`)
SORTS = ("priority", "deadline", "amount_at_risk", "at_risk", "opened_at")


@dataclass(frozen=True, slots=True)
class TaskQuery:
    queues: frozenset[str] | None = None  # the scope: None = every queue
    queue: str | None = None
    states: tuple[str, ...] = ()
    payer_id: str | None = None
    category: str | None = None
    cpt: str | None = None
    deadline_before: dt.date | None = None
    claim_id: str | None = None
    assignee: str | None = None
    sort: str = "priority"
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class ChecklistMark:
    id: str
    done: bool


@dataclass(frozen=True, slots=True)
class TaskUpdate:
    state: str | None = None
    note: str | None = None  # appended to the task's notes; also the audit note (the reason of a write-off)
    recovered_amount: Decimal | None = None
    checklist: tuple[ChecklistMark, ...] = ()
    version: int | None = None  # optimistic concurrency: refuse when the task moved on


_KEEP = object()


# -- ports -------------------------------------------------------------------------------------------------------------

class TaskWriter(Protocol):
    """One transaction. Every method that returns tasks has locked their claim rows first (LOCKING RULE)."""

    async def __aenter__(self) -> TaskWriter: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def lock_tasks(self, task_ids: Sequence[str]) -> dict[str, Task]:
        """Lock the claims of these tasks (claim-id order), then load the tasks; unknown ids are absent."""

    async def lease_next(self, queue: str, *, now: dt.datetime) -> Task | None:
        """The highest-priority open task of `queue` with no live lease, its claim and task rows locked with
        SKIP LOCKED (never waits, never hands one task to two callers); None when none is free."""

    async def save(self, tasks: Sequence[Task], audit: Sequence[AuditEntry], outbox: Sequence[OutboxRecord]) -> None:
        """Write the tasks' API-owned columns, the audit rows and the outbox rows (then NOTIFY the relay)."""

    async def save_priorities(self, tasks: Sequence[Task]) -> None: ...

    async def commit(self) -> None: ...


class WorkQueueStore(Protocol):
    def writer(self) -> TaskWriter: ...

    async def find_tasks(self, query: TaskQuery) -> list[TaskView]: ...

    async def task_view(self, task_id: str) -> TaskView | None: ...

    async def claim(self, claim_id: str) -> ClaimSummary | None: ...

    async def claim_tasks(self, claim_id: str) -> list[Task]: ...

    async def timeline(self, claim_id: str) -> list[TimelineItem]: ...

    async def task_audit(self, task_id: str, *, limit: int) -> list[AuditEntry]: ...

    async def actor_audit(self, actor: str | None, *, queues: frozenset[str] | None, since: dt.datetime | None,
                          until: dt.datetime | None, limit: int) -> list[AuditEntry]: ...

    async def queue_counts(self, queues: frozenset[str] | None, *, now: dt.datetime) -> dict[str, dict[str, int]]: ...


# -- helpers -----------------------------------------------------------------------------------------------------------

def new_causation_id() -> str:
    """Each API change gets its own id: the outbox event ids derive from it."""
    return f"api:{uuid.uuid4()}"


def _snapshot(task: Task) -> Task:
    snap = copy.copy(task)
    snap.changed = False
    return snap


@dataclass(slots=True)
class _Changes:
    """The audit rows and domain events of one transaction."""

    actor: str
    causation_id: str
    at: dt.datetime
    audit: list[AuditEntry] = field(default_factory=list)
    events: list[TaskChanged] = field(default_factory=list)

    def record(self, task: Task, change: str, from_state: str | None, note: str | None) -> None:
        self.audit.append(AuditEntry(task_id=task.task_id, at=self.at, actor=self.actor, change=change,
                                     from_state=from_state, to_state=task.state, note=note,
                                     causation_id=self.causation_id))
        wire_change = "closed" if task.state in CLOSED_STATES and from_state != task.state else "updated"
        self.events.append(TaskChanged(task=_snapshot(task), change=wire_change, from_state=from_state,
                                       to_state=task.state, causation_id=self.causation_id, at=self.at,
                                       actor=self.actor, note=note))

    def outbox(self) -> list[OutboxRecord]:
        return build_records(self.events)


def _require_visible(scope: Scope, task: Task) -> None:
    if not scope.sees(task.queue):
        raise Forbidden("forbidden", "this token does not cover the task's queue", {"queue": task.queue})


def _require_not_held(scope: Scope, task: Task, now: dt.datetime) -> None:
    if not scope.supervisor and task.held_by_other(scope.actor, now):
        raise Conflict("leased_to_another", "another user holds the lease on this task",
                       {"assignee": task.assignee, "lease_expires_at": task.lease_expires_at})


def _rule_problem(exc: TaskRuleError | TransitionError) -> Problem:
    if isinstance(exc, TransitionError):
        return Conflict("invalid_transition", str(exc), {"from": exc.from_state, "to": exc.to_state})
    if exc.code in ("task_closed", "leased_to_another", "not_leasable", "too_many_notes"):
        return Conflict(exc.code, str(exc))
    return Invalid(exc.code, str(exc))


def _renew(task: Task, scope: Scope, now: dt.datetime, ttl: dt.timedelta) -> None:
    """A change by the lease holder keeps the lease alive while the task stays in its queue."""
    if task.state == "open" and task.assignee == scope.actor and task.lease_active(now):
        task.lease_expires_at = now + ttl


@lru_cache(maxsize=1)
def _clocks() -> Clocks:
    return Clocks.load(RuleFiles())


def filing_deadline_basis(task: Task) -> str | None:
    """Where the task's filing deadline comes from. The stream keeps the date but not its basis, so it is derived
    again from the payer's policy and the earliest service date; when that does not give the stored date (another
    payer's policy, an institutional through-date) the basis is reported as not recorded rather than guessed."""
    if task.filing_deadline is None:
        return None
    if task.filing_deadline_basis:
        return task.filing_deadline_basis
    dates = [line.service_date for line in task.lines if line.service_date]
    if dates:
        clocks = _clocks()
        policy = clocks.policies.for_payer(Payer(id=task.payer_id, type=task.payer_type))  # type: ignore[arg-type]
        clock = filing_deadline(policy, min(dates), clocks.holidays)
        if clock.date == task.filing_deadline:
            return clock.basis
    return "timely-filing deadline set by the classifier (its basis was not recorded)"


# -- reads -------------------------------------------------------------------------------------------------------------

async def list_tasks(store: WorkQueueStore, scope: Scope, query: TaskQuery) -> list[TaskView]:
    if query.queue is not None and not scope.sees(query.queue):
        raise Forbidden("forbidden", "this token does not cover that queue", {"queue": query.queue})
    return await store.find_tasks(_scoped(query, scope))


def _scoped(query: TaskQuery, scope: Scope) -> TaskQuery:
    return replace(query, queues=scope.visible_queues)


async def _visible_view(store: WorkQueueStore, scope: Scope, task_id: str) -> TaskView:
    view = await store.task_view(task_id)
    if view is None:
        raise NotFound("task_not_found", "no task with that id")
    _require_visible(scope, view.task)
    return view


async def get_task(store: WorkQueueStore, scope: Scope, task_id: str) -> TaskDetail:
    view = await _visible_view(store, scope, task_id)
    return TaskDetail(view=view, timeline=await store.timeline(view.task.claim_id))


async def get_claim(store: WorkQueueStore, scope: Scope, claim_id: str) -> ClaimDetail:
    claim = await store.claim(claim_id)
    if claim is None:
        raise NotFound("claim_not_found", "no claim with that id")
    tasks = await store.claim_tasks(claim_id)
    visible = [t for t in tasks if scope.sees(t.queue)]
    if not scope.supervisor and not visible:
        raise Forbidden("forbidden", "this token covers none of the claim's tasks")
    return ClaimDetail(claim=claim, timeline=await store.timeline(claim_id), tasks=visible)


async def task_audit(store: WorkQueueStore, scope: Scope, task_id: str, *, limit: int) -> list[AuditEntry]:
    await _visible_view(store, scope, task_id)
    return await store.task_audit(task_id, limit=limit)


async def actor_audit(store: WorkQueueStore, scope: Scope, actor: str | None, *, since: dt.datetime | None,
                      until: dt.datetime | None, limit: int) -> list[AuditEntry]:
    """Who changed what and when, for one actor (or everyone): limited to the tasks the token's queues hold."""
    return await store.actor_audit(actor, queues=scope.visible_queues, since=since, until=until, limit=limit)


async def queue_summary(store: WorkQueueStore, scope: Scope, *, now: dt.datetime) -> dict[str, dict[str, int]]:
    return await store.queue_counts(scope.visible_queues, now=now)


# -- changes -----------------------------------------------------------------------------------------------------------

async def _locked_task(writer: TaskWriter, scope: Scope, task_id: str, now: dt.datetime) -> Task:
    task = (await writer.lock_tasks([task_id])).get(task_id)
    if task is None:
        raise NotFound("task_not_found", "no task with that id")
    _require_visible(scope, task)
    _require_not_held(scope, task, now)
    return task


async def update_task(store: WorkQueueStore, scope: Scope, task_id: str, update: TaskUpdate, *, now: dt.datetime,
                      lease_ttl: dt.timedelta) -> Task:
    """Change state, checklist and/or add a note, as one change set (all or nothing)."""
    if update.state is None and update.note is None and not update.checklist and update.recovered_amount is None:
        raise Invalid("empty_update", "give at least one of state, checklist, note")
    changes = _Changes(scope.actor, new_causation_id(), now)
    async with store.writer() as w:
        task = await _locked_task(w, scope, task_id, now)
        loaded = task.version
        if update.version is not None and update.version != task.version:
            raise Conflict("version_conflict", "the task changed since it was read",
                           {"expected": update.version, "current": task.version})
        try:
            for mark in update.checklist:
                if task.mark_checklist(mark.id, mark.done):
                    changes.record(task, "checklist", task.state,
                                   f"checklist item {mark.id!r} marked {'done' if mark.done else 'not done'}")
            if update.state is not None:
                previous = apply_user_transition(task, update.state, at=now, reason=update.note,
                                                 recovered_amount=update.recovered_amount)
                if previous != task.state:
                    changes.record(task, "closed" if task.state in CLOSED_STATES else "state", previous,
                                   update.note)
            elif update.recovered_amount is not None:
                raise TaskRuleError("recovered_amount_needs_won", "a recovered amount goes with state 'won'")
            if update.note is not None:
                task.add_note(update.note, author=scope.actor, at=now)
                if update.state is None:
                    changes.record(task, "note", task.state, update.note.strip())
        except (TaskRuleError, TransitionError) as exc:
            raise _rule_problem(exc) from None
        if changes.audit:
            _renew(task, scope, now, lease_ttl)
            task.settle_version(loaded)
            await w.save([task], changes.audit, changes.outbox())
            await w.commit()
    return task


async def reassign_task(store: WorkQueueStore, scope: Scope, task_id: str, *, assignee: Any = _KEEP,
                        queue: str | None = None, note: str | None = None, now: dt.datetime,
                        lease_ttl: dt.timedelta) -> Task:
    """Give the task to someone (leased to them for `lease_ttl`), release it (assignee None), and/or move it to
    another queue the token also covers."""
    if assignee is _KEEP and queue is None:
        raise Invalid("empty_update", "give an assignee (or null to release) and/or a queue")
    if queue is not None and not scope.sees(queue):
        raise Forbidden("forbidden", "this token does not cover the target queue", {"queue": queue})
    changes = _Changes(scope.actor, new_causation_id(), now)
    async with store.writer() as w:
        task = await _locked_task(w, scope, task_id, now)
        loaded = task.version
        said: list[str] = []
        if queue is not None and queue != task.queue:
            said.append(f"queue {task.queue} -> {queue}")
            task.move_to_queue(queue)
        if assignee is None:
            moves = task.assignee is not None or task.lease_expires_at is not None
        else:
            moves = assignee is not _KEEP and (assignee != task.assignee or not task.lease_active(now))
        if moves:
            said.append(f"assignee {task.assignee or 'none'} -> {assignee or 'none (back to the queue)'}")
            task.assign(assignee, until=now + lease_ttl if assignee else None)
        try:
            if note is not None:
                task.add_note(note, author=scope.actor, at=now)
        except TaskRuleError as exc:
            raise _rule_problem(exc) from None
        if said or note is not None:
            if said:
                changes.record(task, "reassigned", task.state,
                               "; ".join(said + ([f"note: {note.strip()}"] if note else [])))
            else:
                changes.record(task, "note", task.state, note.strip())
            task.settle_version(loaded)
            await w.save([task], changes.audit, changes.outbox())
            await w.commit()
    return task


async def write_off(store: WorkQueueStore, scope: Scope, task_ids: Sequence[str], reason: str, *,
                    now: dt.datetime) -> list[Task]:
    """Write off several tasks with one reason, all or none: any unknown, hidden, held or final task refuses all."""
    ids = list(dict.fromkeys(task_ids))
    reason = reason.strip()
    if not reason:
        raise Invalid("reason_required", "a write-off needs a reason")
    changes = _Changes(scope.actor, new_causation_id(), now)
    async with store.writer() as w:
        tasks = await w.lock_tasks(ids)
        missing = [tid for tid in ids if tid not in tasks]
        if missing:
            raise NotFound("task_not_found", "some tasks do not exist", {"task_ids": missing})
        hidden = [tid for tid in ids if not scope.sees(tasks[tid].queue)]
        if hidden:
            raise Forbidden("forbidden", "this token does not cover some of the tasks' queues", {"task_ids": hidden})
        held = [tid for tid in ids if not scope.supervisor and tasks[tid].held_by_other(scope.actor, now)]
        if held:
            raise Conflict("leased_to_another", "another user holds the lease on some of the tasks",
                           {"task_ids": held})
        refused = []
        for tid in ids:
            task = tasks[tid]
            loaded = task.version
            try:
                previous = apply_user_transition(task, "written_off", at=now, reason=reason)
                task.add_note(reason, author=scope.actor, at=now)
            except TransitionError:
                refused.append({"task_id": tid, "state": task.state})
                continue
            except TaskRuleError as exc:
                raise _rule_problem(exc) from None
            if previous != task.state:
                changes.record(task, "closed", previous, reason)
            task.settle_version(loaded)
        if refused:
            raise Conflict("invalid_transition", "some tasks cannot be written off from their state",
                           {"tasks": refused})
        await w.save([tasks[tid] for tid in ids], changes.audit, changes.outbox())
        await w.commit()
    return [tasks[tid] for tid in ids]


async def lease_next(store: WorkQueueStore, scope: Scope, queue: str, *, now: dt.datetime,
                     lease_ttl: dt.timedelta) -> Task | None:
    """Lease the queue's highest-priority free open task to the caller; None when the queue has none free."""
    if not scope.sees(queue):
        raise Forbidden("forbidden", "this token does not cover that queue", {"queue": queue})
    changes = _Changes(scope.actor, new_causation_id(), now)
    async with store.writer() as w:
        task = await w.lease_next(queue, now=now)
        if task is None:
            return None
        until, loaded = now + lease_ttl, task.version
        try:
            task.lease_to(scope.actor, now=now, until=until)
            task.settle_version(loaded)
        except TaskRuleError as exc:  # the store's selection and the domain disagree: a bug, not a user error
            raise Conflict(exc.code, str(exc)) from None
        changes.record(task, "leased", task.state, f"leased until {until.isoformat()}")
        await w.save([task], changes.audit, changes.outbox())
        await w.commit()
    return task


# -- timers ------------------------------------------------------------------------------------------------------------

async def expire_tasks(writer: TaskWriter, task_ids: Iterable[str], *, today: dt.date,
                       now: dt.datetime) -> list[Task]:
    """Expire the given candidates whose clocks have all passed (re-checked under the claim locks, so a task the
    stream or a user just moved is left alone). Returns the tasks expired now; commits."""
    tasks = await writer.lock_tasks(sorted(set(task_ids)))
    expired: list[Task] = []
    changes = _Changes(TIMER_ACTOR, "", now)
    for task in tasks.values():
        previous = expire_if_past_deadline(task, today=today, at=now)
        if previous is None:
            continue
        # deterministic causation: even a second run (it cannot happen under the lock) would not publish twice
        changes.causation_id = f"timer:expired:{task.task_id}:{today.isoformat()}"
        changes.record(task, "closed", previous, expiry_note(task))
        expired.append(task)
    if expired:
        await writer.save(expired, changes.audit, changes.outbox())
    await writer.commit()
    return expired


async def refresh_priorities(writer: TaskWriter, task_ids: Iterable[str], *, today: dt.date) -> list[Task]:
    """Recompute the derived priority of open tasks for `today` (a sort key, not a task change: no audit row)."""
    tasks = await writer.lock_tasks(sorted(set(task_ids)))
    fresh = [t for t in tasks.values() if t.is_open]
    for task in fresh:
        task.refresh_priority(today)
    if fresh:
        await writer.save_priorities(fresh)
    await writer.commit()
    return fresh
