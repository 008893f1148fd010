"""Turn domain events into output records (the `topics` contracts), ready for outbox rows.

Event ids are assigned here, when the row is written: deterministic (the causing event id, the topic and the
position), so even a reprocessed input would produce the same ids and downstream dedupe would hold.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import orjson

from service.domain.events import DomainEvent, FollowupRequested, RemittanceClassified, TaskChanged
from service.domain.identity import fast_uuid5
from service.domain.memo import Memo
from service.domain.model import ChecklistItem, Decision, Payer
from service.domain.tasks import Task, TaskLine
from service.service_layer.unit_of_work import OutboxRecord
from topics.catalogue import APPEALS_TASKS, DENIALS_CLASSIFIED, followup_topic

_OUTBOX_NS = uuid.UUID("5d0c2b8e-8a43-4f5e-bb0f-3a0f1f0d9a77").bytes


def outbox_event_id(causation_id: str, topic: str, seq: int) -> str:
    return fast_uuid5(_OUTBOX_NS, f"{causation_id}\x1f{topic}\x1f{seq}")


# -- the records as plain dicts, serialised once ---------------------------------------------------------------------
# Building and validating ~3.6 pydantic records (with nested decisions and checklists) per input event cost more than
# classifying it. The domain values are already typed and checked, so the outbox writes their JSON directly;
# tests/unit/service_layer/reference_outbox.py builds every record as its validated contract and the tests prove
# the two equal for every kind of record.

def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # money: a JSON number with at most 2 decimals
    if isinstance(value, (set, frozenset)):  # the records pass tuples of codes as they are (arrays); a set too
        return list(value)
    raise TypeError(type(value).__name__)


def _dumps(value: Any) -> bytes:
    # orjson writes dates as ISO 8601 and UTC datetimes with "Z", as the pydantic contracts do
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)


def _num(value: Any) -> Any:
    """A Decimal as the float `_json_default` would write, here rather than in orjson's callback (the amounts of
    every decision, line and task: ~11 callbacks per event); any other value as it is, for orjson."""
    return float(value) if type(value) is Decimal else value


class _Fragments:
    """The JSON of immutable values that repeat (a checklist: ~100 distinct ones over 15,000 decisions; a
    procedure), serialised once and spliced into every record that carries them as an `orjson.Fragment`: the bytes
    are those `_dumps` writes for the value in place, so the records are unchanged. Looked up by the value's
    identity first (a value kept in the cache keeps its id from being reused), then by the value; bounded."""

    __slots__ = ("_build", "_by_id", "_by_value")

    def __init__(self, build: Any, limit: int = 4096) -> None:
        self._build = build
        self._by_id = Memo(limit)  # id(value) -> (value, fragment)
        self._by_value = Memo(limit)  # value -> fragment

    def __call__(self, value: Any) -> orjson.Fragment:
        hit = self._by_id.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        try:
            fragment = self._by_value.get(value)
        except TypeError:  # not hashable (a list where a tuple was meant): serialised in place, every time
            return orjson.Fragment(_dumps(self._build(value)))
        if fragment is None:
            fragment = self._by_value.keep(value, orjson.Fragment(_dumps(self._build(value))))
        self._by_id.keep(id(value), (value, fragment))
        return fragment


def _payer_d(p: Payer) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "type": p.type}


def _procedure_d(code: str | None, modifiers: tuple[str, ...]) -> dict[str, Any] | None:
    return {"code": code, "modifiers": list(modifiers), "qualifier": None} if code else None


def _checklist_d(items: Iterable[ChecklistItem]) -> list[dict[str, Any]]:
    return [{"id": i.id, "text": i.text, "done": i.done} for i in items]


_checklist_f = _Fragments(_checklist_d)
_procedure_f = _Fragments(lambda proc: _procedure_d(proc.code, proc.modifiers))  # a decision's Procedure
_LINE_PROCEDURES = Memo(4096)  # a task line's (code, modifiers) -> fragment


def _line_procedure_f(code: str, modifiers: tuple[str, ...]) -> orjson.Fragment:
    key = (code, modifiers)
    fragment = _LINE_PROCEDURES.get(key)
    if fragment is None:
        fragment = _LINE_PROCEDURES.keep(key, orjson.Fragment(_dumps(_procedure_d(code, modifiers))))
    return fragment


def _decision_d(d: Decision) -> dict[str, Any]:
    proc = d.procedure
    return {
        "line_id": d.line_id, "adjustment_index": d.adjustment_index, "group": d.group, "reason": d.reason,
        "amount": _num(d.amount), "remarks": d.remarks,
        "procedure": _procedure_f(proc) if proc and proc.code else None,
        "category": d.category, "is_denial": d.is_denial, "action": d.action, "queue": d.queue,
        "appealable": d.appealable, "recoverability": d.recoverability, "deadline": d.deadline,
        "deadline_basis": d.deadline_basis, "filing_deadline": d.filing_deadline,
        "filing_deadline_basis": d.filing_deadline_basis, "explanation": d.explanation, "rule_id": d.rule_id,
        "rules_version": d.rules_version, "checklist": _checklist_f(d.checklist),
    }


def _line_d(line: TaskLine) -> dict[str, Any]:
    code = line.procedure_code
    return {"line_id": line.line_id,
            "procedure": _line_procedure_f(code, tuple(line.modifiers)) if code else None,
            "service_date": line.service_date, "amount": _num(line.amount), "reasons": line.reasons}


def _task_d(task: Task) -> dict[str, Any]:
    return {
        "task_id": task.task_id, "claim_id": task.claim_id, "payer_id": task.payer_id, "category": task.category,
        "action": task.action, "queue": task.queue, "state": task.state, "amount_at_risk": _num(task.amount_at_risk),
        "appealable": task.appealable, "deadline": task.deadline, "deadline_basis": task.deadline_basis,
        "filing_deadline": task.filing_deadline, "filing_deadline_basis": task.filing_deadline_basis,
        "priority": float(task.priority), "lines": [_line_d(x) for x in task.lines],
        "checklist": _checklist_f(task.checklist),
    }


def build_records(events: Iterable[DomainEvent]) -> list[OutboxRecord]:
    """One outbox record per domain event, in order (equal to the validated contracts: see the module notes)."""
    records: list[OutboxRecord] = []
    seq: dict[tuple[str, str], int] = {}
    for ev in events:
        if isinstance(ev, RemittanceClassified):
            r = ev.remittance
            topic, cause, key = DENIALS_CLASSIFIED, r.event_id, r.claim_id
        elif isinstance(ev, TaskChanged):
            topic, cause, key = APPEALS_TASKS, ev.causation_id, ev.task.claim_id
        elif isinstance(ev, FollowupRequested):
            topic, cause, key = followup_topic(ev.kind), ev.causation_id, ev.claim_id
        else:
            continue
        n = seq.get((cause, topic), 0)
        seq[(cause, topic)] = n + 1
        event_id = outbox_event_id(cause, topic, n)
        # the envelope's fields first, then the record's, in the contract's order (tuples are written as arrays)
        if topic == DENIALS_CLASSIFIED:
            body = {"event_id": event_id, "schema_version": 1, "occurred_at": r.occurred_at, "causation_id": cause,
                    "claim_id": r.claim_id, "payer": _payer_d(r.payer), "payer_claim_number": r.payer_claim_number,
                    "status_code": r.status_code, "production_date": r.production_date,
                    "decisions": [_decision_d(d) for d in ev.decisions]}
        elif topic == APPEALS_TASKS:
            body = {"event_id": event_id, "schema_version": 1, "occurred_at": ev.at, "causation_id": cause,
                    "change": ev.change, "actor": ev.actor, "task": _task_d(ev.task)}
        else:
            body = {"event_id": event_id, "schema_version": 1, "occurred_at": ev.at, "causation_id": cause,
                    "kind": ev.kind, "claim_id": ev.claim_id, "payer": _payer_d(ev.payer), "task_id": ev.task_id,
                    "category": ev.category, "action": ev.action, "amount": _num(ev.amount),
                    "due_date": ev.due_date, "reason": ev.reason, "lines": [_line_d(x) for x in ev.lines],
                    "documents": ev.documents, "details": ev.details}
        records.append(OutboxRecord(event_id=event_id, topic=topic, key=key.encode(), payload=_dumps(body),
                                    causation_id=cause))
    return records
