"""Use cases behind the appeal team's web page: the work list (the API's filters plus CPT family, with how close
each deadline is), the filter choices, a task's decision explanations, and the appeal letter draft.

Reads, plus one write: a letter that names the patient records the read of the identifiers in the task's audit
trail. Scopes as in `tasks_api`: a token sees the tasks of its queues, a supervisor all; a letter covers only the
claim's tasks the token may see, and its identifiers are decrypted only for such a token."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Protocol

from service.domain.letters import (
    ClaimFactsForLetter,
    DatedDiagnoses,
    DenialForLetter,
    Letter,
    LetterBook,
    LetterError,
    LetterRequest,
    TaskForLetter,
    compose_letter,
)
from service.domain.model import HistorySession, PatientIdentifiers
from service.domain.tasks import Task
from service.domain.urgency import Urgency, task_urgency
from service.service_layer.tasks_api import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Scope,
    TaskView,
    WorkQueueStore,
)

# -- read models -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorklistQuery:
    queues: frozenset[str] | None = None  # the scope: None = every queue
    queue: str | None = None
    states: tuple[str, ...] = ()
    payer_id: str | None = None
    category: str | None = None
    codes: tuple[str, ...] = ()  # any of these procedure codes on one of the task's lines (a CPT family)
    deadline_before: dt.date | None = None
    assignee: str | None = None
    claim: str | None = None  # a claim id or a payer claim number, whole and in any letter case
    sort: str = "priority"
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class WorkItem:
    view: TaskView
    urgency: Urgency
    families: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Family:
    id: str
    label: str
    codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Facets:
    payers: tuple[str, ...]
    categories: tuple[str, ...]
    families: tuple[Family, ...]


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """One classified adjustment behind a task, with the classifier's explanation and rule."""

    event_id: str
    occurred_at: dt.datetime
    line_id: str | None
    group: str
    reason: str
    remarks: tuple[str, ...]
    amount: Decimal
    procedure_code: str | None
    modifiers: tuple[str, ...]
    service_date: dt.date | None
    category: str
    action: str
    appealable: bool
    explanation: str
    rule_id: str
    rules_version: str


@dataclass(frozen=True, slots=True)
class LetterFacts:
    """What the store holds for a letter: the claim, every task of the claim with this payer, their decisions, and
    the patient's procedure history."""

    claim: ClaimFactsForLetter
    tasks: tuple[Task, ...]
    decisions: tuple[DenialForLetter, ...] = ()
    history: tuple[HistorySession, ...] = ()
    other_diagnoses: tuple[DatedDiagnoses, ...] = ()  # the patient's other claims' diagnoses


@dataclass(frozen=True, slots=True)
class IdentifiersRead:
    """The patient identifiers for a letter (None when none are on file), or why they are withheld."""

    patient: PatientIdentifiers | None
    withheld: str | None = None


class PatientIdentifierStore(Protocol):
    """The encrypted identifiers: read (decrypt) one claim's for one payer, and audit every read."""

    async def read(self, claim_id: str, payer_id: str) -> IdentifiersRead: ...

    async def record_read(self, *, task_id: str, actor: str, state: str, fields: tuple[str, ...], purpose: str,
                          at: dt.datetime) -> None: ...


class WorkbenchStore(Protocol):
    async def find_worklist(self, query: WorklistQuery) -> list[TaskView]: ...

    async def facets(self, queues: frozenset[str] | None) -> tuple[list[str], list[str], list[str]]:
        """(payer ids, categories, procedure codes) of the open tasks in these queues (None: all)."""

    async def task_decisions(self, task_id: str) -> list[DecisionRow]: ...

    async def letter_facts(self, task_id: str) -> LetterFacts | None: ...


# -- use cases ---------------------------------------------------------------------------------------------------------

def _families_of(task: Task, book: LetterBook) -> tuple[str, ...]:
    return tuple(dict.fromkeys(f for f in (book.pain.catalog.family(x.procedure_code) for x in task.lines) if f))


def family_codes(book: LetterBook, family: str) -> tuple[str, ...]:
    codes = tuple(sorted(book.pain.catalog.codes_of({family})))
    if not codes:
        raise Invalid("unknown_family", "no CPT family by that name", {"family": family})
    return codes


async def worklist(store: WorkbenchStore, scope: Scope, query: WorklistQuery, *, today: dt.date,
                   book: LetterBook) -> list[WorkItem]:
    if query.queue is not None and not scope.sees(query.queue):
        raise Forbidden("forbidden", "this token does not cover that queue", {"queue": query.queue})
    views = await store.find_worklist(replace(query, queues=scope.visible_queues))
    return [WorkItem(view=v, urgency=task_urgency(v.task.deadline, v.task.filing_deadline, today,
                                                  is_open=v.task.is_open),
                     families=_families_of(v.task, book)) for v in views]


async def facets(store: WorkbenchStore, scope: Scope, *, book: LetterBook) -> Facets:
    payers, categories, codes = await store.facets(scope.visible_queues)
    by_family: dict[str, set[str]] = {}
    for code in codes:
        family = book.pain.catalog.family(code)
        if family:
            by_family.setdefault(family, set()).add(code)
    catalog = book.pain.catalog
    families = tuple(Family(id=f, label=catalog.label(f), codes=tuple(sorted(catalog.codes_of({f}))))
                     for f in sorted(by_family, key=catalog.label))
    return Facets(payers=tuple(sorted(payers)), categories=tuple(sorted(categories)), families=families)


async def _visible(queue_store: WorkQueueStore, scope: Scope, task_id: str) -> TaskView:
    view = await queue_store.task_view(task_id)
    if view is None:
        raise NotFound("task_not_found", "no task with that id")
    if not scope.sees(view.task.queue):
        raise Forbidden("forbidden", "this token does not cover the task's queue", {"queue": view.task.queue})
    return view


async def task_decisions(store: WorkbenchStore, queue_store: WorkQueueStore, scope: Scope,
                         task_id: str) -> tuple[TaskView, list[DecisionRow]]:
    view = await _visible(queue_store, scope, task_id)
    return view, await store.task_decisions(task_id)


def letter_request(facts: LetterFacts, scope: Scope, task_id: str, today: dt.date,
                   identifiers: IdentifiersRead | None = None) -> LetterRequest:
    """The composer's input: only the tasks the token may see (and the identifiers, when read for this letter)."""
    tasks = tuple(TaskForLetter(
        task_id=t.task_id, category=t.category, action=t.action, appealable=t.appealable, state=t.state,
        amount_at_risk=t.amount_at_risk, explanation=t.explanation, deadline=t.deadline,
        deadline_basis=t.deadline_basis, lines=t.lines, checklist=t.checklist,
        appeal_level=t.appeal_level, rule_ids=t.rule_ids) for t in facts.tasks if scope.sees(t.queue))
    visible = {t.task_id for t in tasks}
    return LetterRequest(claim=facts.claim, task_id=task_id, tasks=tasks,
                         decisions=tuple(d for d in facts.decisions if d.task_id in visible),
                         history=facts.history, today=today, other_diagnoses=facts.other_diagnoses,
                         patient=identifiers.patient if identifiers else None,
                         patient_withheld=identifiers.withheld if identifiers else None)


@dataclass(frozen=True, slots=True)
class LetterInfo:
    kind: str | None  # appeal | reopening | reconsideration; None: the task takes no letter
    reason: str | None = None  # why not (the 409's message)
    code: str | None = None


def letter_info(facts: LetterFacts, scope: Scope, task_id: str, today: dt.date, book: LetterBook) -> LetterInfo:
    """Which letter the task takes, or why none (what the page shows by its letter button). No identifier is read."""
    try:
        return LetterInfo(compose_letter(letter_request(facts, scope, task_id, today), book).kind)
    except LetterError as exc:
        return LetterInfo(None, exc.message, exc.code)


def letter_kind(facts: LetterFacts, scope: Scope, task_id: str, today: dt.date, book: LetterBook) -> str | None:
    """`appeal`, `reopening`, `reconsideration`, or None when the task takes no letter."""
    return letter_info(facts, scope, task_id, today, book).kind


def _conflict(exc: LetterError) -> Conflict | NotFound:
    if exc.code == "task_not_found":
        return NotFound(exc.code, exc.message)
    return Conflict(exc.code, exc.message, exc.details)


async def draft_letter(store: WorkbenchStore, queue_store: WorkQueueStore, scope: Scope, task_id: str, *,
                       today: dt.date, book: LetterBook, identifiers: PatientIdentifierStore | None = None,
                       now: dt.datetime, purpose: str = "for the letter") -> Letter:
    """The letter for the task's claim and payer, covering the appealable open tasks the token may see.

    The patient's identifiers are decrypted only once the facts allow a letter (a refusal reads none), only for a
    token that sees the task (checked first), and the read is written to the task's audit trail before the letter
    is returned: no letter leaves with identifiers whose read is not on record."""
    view = await _visible(queue_store, scope, task_id)
    facts = await store.letter_facts(task_id)
    if facts is None:
        raise NotFound("task_not_found", "no task with that id")
    try:
        letter = compose_letter(letter_request(facts, scope, task_id, today), book)
    except LetterError as exc:
        raise _conflict(exc) from None
    if identifiers is None:
        return letter
    read = await identifiers.read(facts.claim.claim_id, facts.claim.payer_id)
    if read.patient is None and read.withheld is None:
        return letter  # none on file: the letter keeps its blanks
    if read.patient is not None:
        await identifiers.record_read(task_id=task_id, actor=scope.actor, state=view.task.state,
                                      fields=read.patient.present, purpose=purpose,
                                      at=now)
    try:
        return compose_letter(letter_request(facts, scope, task_id, today, read), book)
    except LetterError as exc:  # the same facts: only the identifiers changed
        raise _conflict(exc) from None
