"""The `appeal_tasks` row of a domain Task, both ways: the one place that knows which column holds what.

Every writer of the table (the stream's unit of work, the silent-claim timer, the work queue's writer) takes its
parameters from `task_params` with its own column set, so a column the domain gains is mapped once; the statements
are built here from the fixed column tuples (no request value ever becomes SQL text).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

import asyncpg

from service.domain import model
from service.domain.tasks import Task, TaskLine, TaskNote

# What the stream decides (and the silent-claim timer opens): the whole task as the domain knows it.
STREAM_COLUMNS = ("task_id", "claim_id", "payer_id", "payer_type", "category", "action", "queue", "state",
                  "appealable", "amount_at_risk", "recovered_amount", "recoverability", "deadline", "deadline_basis",
                  "filing_deadline", "explanation", "rule_ids", "lines", "checklist", "source_event_id", "opened_at",
                  "last_event_at", "closed_at", "version", "priority", "priority_parts", "appeal_level",
                  "recouped_amount", "origin", "filing_deadline_basis")
# What the work queue (API and task timers) owns; `last_event_at` stays the stream's event-time guard.
WORK_COLUMNS = ("task_id", "state", "queue", "checklist", "notes", "assignee", "lease_expires_at",
                "recovered_amount", "closed_at", "version")
PRIORITY_COLUMNS = ("task_id", "priority", "priority_parts")


def json_text(value: Any) -> str | None:
    """A date or amount as JSON text (None stays None)."""
    return None if value is None else str(value)


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def task_lines_to_json(lines: Iterable[TaskLine]) -> list[dict[str, Any]]:
    return [{"line_id": x.line_id, "amount": str(x.amount), "reasons": list(x.reasons),
             "procedure_code": x.procedure_code, "modifiers": list(x.modifiers),
             "service_date": json_text(x.service_date), "paid": json_text(x.paid),
             **({"value": str(x.value)} if x.value is not None else {})} for x in lines]


def task_lines_from_json(items: list[dict[str, Any]]) -> tuple[TaskLine, ...]:
    return tuple(TaskLine(line_id=x["line_id"], amount=Decimal(x["amount"]), reasons=tuple(x["reasons"]),
                          procedure_code=x.get("procedure_code"), modifiers=tuple(x.get("modifiers", ())),
                          service_date=_date(x.get("service_date")),
                          paid=Decimal(x["paid"]) if x.get("paid") is not None else None,
                          value=Decimal(x["value"]) if x.get("value") is not None else None) for x in items)


def checklist_to_json(items: Iterable[model.ChecklistItem]) -> list[dict[str, Any]]:
    if isinstance(items, tuple):
        return _checklist_json_cached(items)
    return [{"id": i.id, "text": i.text, "done": i.done} for i in items]


@lru_cache(maxsize=2048)
def _checklist_json_cached(items: tuple[model.ChecklistItem, ...]) -> list[dict[str, Any]]:
    # Decisions share a few checklists (per category and procedure family); the encoder only reads the list.
    return [{"id": i.id, "text": i.text, "done": i.done} for i in items]


def checklist_from_json(items: list[dict[str, Any]]) -> tuple[model.ChecklistItem, ...]:
    return tuple(model.ChecklistItem(id=i["id"], text=i["text"], done=bool(i.get("done"))) for i in items)


def notes_to_json(notes: Sequence[TaskNote]) -> list[dict[str, Any]]:
    return [{"at": n.at.isoformat(), "author": n.author, "text": n.text} for n in notes]


def notes_from_json(items: list[dict[str, Any]] | None) -> tuple[TaskNote, ...]:
    return tuple(TaskNote(at=dt.datetime.fromisoformat(n["at"]), author=n["author"], text=n["text"])
                 for n in items or ())


_COLUMN_VALUE = {
    "task_id": lambda t: t.task_id, "claim_id": lambda t: t.claim_id, "payer_id": lambda t: t.payer_id,
    "payer_type": lambda t: t.payer_type, "category": lambda t: t.category, "action": lambda t: t.action,
    "queue": lambda t: t.queue, "state": lambda t: t.state, "appealable": lambda t: t.appealable,
    "amount_at_risk": lambda t: t.amount_at_risk, "recovered_amount": lambda t: t.recovered_amount,
    "recoverability": lambda t: t.recoverability, "deadline": lambda t: t.deadline,
    "deadline_basis": lambda t: t.deadline_basis, "filing_deadline": lambda t: t.filing_deadline,
    "explanation": lambda t: t.explanation, "rule_ids": lambda t: list(t.rule_ids),
    "lines": lambda t: task_lines_to_json(t.lines), "checklist": lambda t: checklist_to_json(t.checklist),
    "source_event_id": lambda t: t.source_event_id, "opened_at": lambda t: t.opened_at,
    "last_event_at": lambda t: t.last_event_at, "closed_at": lambda t: t.closed_at, "version": lambda t: t.version,
    "priority": lambda t: t.priority, "priority_parts": lambda t: t.priority_parts,
    "appeal_level": lambda t: t.appeal_level, "recouped_amount": lambda t: t.recouped_amount,
    "origin": lambda t: t.origin, "filing_deadline_basis": lambda t: t.filing_deadline_basis,
    "notes": lambda t: notes_to_json(t.notes), "assignee": lambda t: t.assignee,
    "lease_expires_at": lambda t: t.lease_expires_at,
}


def task_params(tasks: Iterable[Task], columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """One parameter tuple per task, its values in `columns` order (the statements below bind them as $1..$n)."""
    getters = [_COLUMN_VALUE[c] for c in columns]
    return [tuple(get(t) for get in getters) for t in tasks]


def insert_sql(columns: Sequence[str], conflict: str = "") -> str:
    """`INSERT INTO appeal_tasks (columns) VALUES ($1, ...)`, then `conflict` (an ON CONFLICT clause) if any."""
    values = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
    return f"INSERT INTO appeal_tasks ({', '.join(columns)}) VALUES ({values}) {conflict}".rstrip()


def update_sql(columns: Sequence[str], *, touch: bool = True) -> str:
    """`UPDATE appeal_tasks SET column = $n, ... WHERE task_id = $1` (columns[0] is task_id); `touch` also sets
    updated_at (a priority refresh is a sort key, not a change of the task, and leaves it)."""
    assert columns[0] == "task_id"
    sets = ", ".join(f"{c} = ${n}" for n, c in enumerate(columns[1:], start=2))
    return f"UPDATE appeal_tasks SET {sets}{', updated_at = now()' if touch else ''} WHERE task_id = $1"


def task_from_row(r: asyncpg.Record) -> Task:
    return Task(
        task_id=r["task_id"], claim_id=r["claim_id"], payer_id=r["payer_id"], payer_type=r["payer_type"],
        category=r["category"], action=r["action"], queue=r["queue"], state=r["state"], appealable=r["appealable"],
        amount_at_risk=r["amount_at_risk"], recoverability=r["recoverability"], explanation=r["explanation"],
        rule_ids=tuple(r["rule_ids"]), opened_at=r["opened_at"], last_event_at=r["last_event_at"],
        source_event_id=r["source_event_id"], deadline=r["deadline"], deadline_basis=r["deadline_basis"],
        filing_deadline=r["filing_deadline"], lines=task_lines_from_json(r["lines"]),
        checklist=checklist_from_json(r["checklist"]), recovered_amount=r["recovered_amount"],
        closed_at=r["closed_at"], version=r["version"], origin=r["origin"],
        filing_deadline_basis=r["filing_deadline_basis"],
        appeal_level=r.get("appeal_level") or 1, recouped_amount=r.get("recouped_amount"),
    )


def work_task_from_row(r: asyncpg.Record) -> Task:
    """The task with the work queue's columns too (notes, assignee, lease, priority)."""
    task = task_from_row(r)
    task.notes = notes_from_json(r["notes"])
    task.assignee = r["assignee"]
    task.lease_expires_at = r["lease_expires_at"]
    task.priority = float(r["priority"])
    task.priority_parts = dict(r["priority_parts"] or {})
    return task
