"""The reference outbox builder: every record built and validated as its pydantic contract (topics.outputs). The
service's `build_records` writes the same records as plain JSON; test_outbox_records proves they are equal."""

from __future__ import annotations

from collections.abc import Iterable

from service.domain.events import DomainEvent, FollowupRequested, RemittanceClassified, TaskChanged
from service.domain.model import ChecklistItem, Decision, Payer, Procedure
from service.domain.tasks import Task, TaskLine
from service.service_layer.outbox import outbox_event_id
from service.service_layer.unit_of_work import OutboxRecord
from topics import outputs as o
from topics.catalogue import APPEALS_TASKS, DENIALS_CLASSIFIED, followup_topic
from topics.codec import encode
from topics.common import Payer as PayerRecord
from topics.common import Procedure as ProcedureRecord


def _payer(p: Payer) -> PayerRecord:
    return PayerRecord(id=p.id, name=p.name, type=p.type)


def _procedure(p: Procedure | None) -> ProcedureRecord | None:
    return ProcedureRecord(code=p.code, modifiers=list(p.modifiers)) if p else None


def _checklist(items: Iterable[ChecklistItem]) -> list[o.ChecklistItem]:
    return [o.ChecklistItem(id=i.id, text=i.text, done=i.done) for i in items]


def decision_record(d: Decision) -> o.DecisionRecord:
    return o.DecisionRecord(
        line_id=d.line_id, adjustment_index=d.adjustment_index, group=d.group, reason=d.reason, amount=d.amount,
        remarks=list(d.remarks), procedure=_procedure(d.procedure), category=d.category, is_denial=d.is_denial,
        action=d.action, queue=d.queue, appealable=d.appealable, recoverability=d.recoverability,
        deadline=d.deadline, deadline_basis=d.deadline_basis, filing_deadline=d.filing_deadline,
        filing_deadline_basis=d.filing_deadline_basis,
        explanation=d.explanation, rule_id=d.rule_id, rules_version=d.rules_version, checklist=_checklist(d.checklist),
    )


def _task_line(line: TaskLine) -> o.TaskLine:
    proc = ProcedureRecord(code=line.procedure_code, modifiers=list(line.modifiers)) if line.procedure_code else None
    return o.TaskLine(line_id=line.line_id, procedure=proc, service_date=line.service_date, amount=line.amount,
                      reasons=list(line.reasons))


def task_snapshot(task: Task, priority: float = 0.0) -> o.TaskSnapshot:
    return o.TaskSnapshot(
        task_id=task.task_id, claim_id=task.claim_id, payer_id=task.payer_id, category=task.category,
        action=task.action, queue=task.queue, state=task.state, amount_at_risk=task.amount_at_risk,
        appealable=task.appealable, deadline=task.deadline, deadline_basis=task.deadline_basis,
        filing_deadline=task.filing_deadline, filing_deadline_basis=task.filing_deadline_basis, priority=priority,
        lines=[_task_line(x) for x in task.lines],
        checklist=_checklist(task.checklist),
    )


def build_records_validated(events: Iterable[DomainEvent]) -> list[OutboxRecord]:
    """Every record constructed and validated as its pydantic contract."""
    records: list[OutboxRecord] = []
    seq: dict[tuple[str, str], int] = {}

    def add(topic: str, causation_id: str, key: str, make) -> None:
        n = seq.get((causation_id, topic), 0)
        seq[(causation_id, topic)] = n + 1
        event_id = outbox_event_id(causation_id, topic, n)
        records.append(OutboxRecord(event_id=event_id, topic=topic, key=key.encode(),
                                    payload=encode(make(event_id)), causation_id=causation_id))

    for ev in events:
        if isinstance(ev, RemittanceClassified):
            r = ev.remittance
            add(DENIALS_CLASSIFIED, r.event_id, r.claim_id, lambda eid, r=r, ev=ev: o.ClassifiedEvent(
                event_id=eid, occurred_at=r.occurred_at, causation_id=r.event_id, claim_id=r.claim_id,
                payer=_payer(r.payer), payer_claim_number=r.payer_claim_number, status_code=r.status_code,
                production_date=r.production_date, decisions=[decision_record(d) for d in ev.decisions]))
        elif isinstance(ev, TaskChanged):
            add(APPEALS_TASKS, ev.causation_id, ev.task.claim_id, lambda eid, ev=ev: o.TaskEvent(
                event_id=eid, occurred_at=ev.at, causation_id=ev.causation_id, change=ev.change, actor=ev.actor,
                task=task_snapshot(ev.task, ev.task.priority)))
        elif isinstance(ev, FollowupRequested):
            add(followup_topic(ev.kind), ev.causation_id, ev.claim_id, lambda eid, ev=ev: o.FollowupEvent(
                event_id=eid, occurred_at=ev.at, causation_id=ev.causation_id, kind=ev.kind, claim_id=ev.claim_id,
                payer=_payer(ev.payer), task_id=ev.task_id, category=ev.category, action=ev.action, amount=ev.amount,
                due_date=ev.due_date, reason=ev.reason, lines=[
                    o.FollowupLine(**_task_line(line).model_dump()) for line in ev.lines],
                documents=list(ev.documents), details=ev.details))
    return records
