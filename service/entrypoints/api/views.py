"""One handler per route: take the validated request (`Ctx`), call one use case, map the result to a response
model. No rules here: scopes, transitions and leases are decided in the service layer and the domain."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from service.bootstrap import Parts
from service.config import Settings
from service.domain.classification.vocabulary import QUEUES
from service.domain.tasks import Task
from service.entrypoints.api import schemas as s
from service.entrypoints.api.errors import ApiError
from service.service_layer import tasks_api as uc
from service.service_layer.tasks_api import (
    AuditEntry,
    ChecklistMark,
    ClaimSummary,
    Scope,
    TaskQuery,
    TaskUpdate,
    TaskView,
    TimelineItem,
    WorkQueueStore,
)

# Keys of claim-timeline summaries that hold money (the stream keeps them as decimal strings).
_MONEY_KEYS = frozenset({"total_charge", "total_paid", "denied_amount", "amount", "amount_at_risk",
                         "expected_recovery", "patient_responsibility"})


@dataclass(slots=True)
class Ctx:
    request: web.Request
    scope: Scope
    store: WorkQueueStore
    settings: Settings
    query: Any
    body: Any
    now: dt.datetime
    pool: Any = None  # the asyncpg pool, for views whose reads live in their own adapter (workbench)
    parts: Parts | None = None  # what service.bootstrap built (the member digest, ...)

    def path(self, name: str) -> str:
        return self.request.match_info[name]

    @property
    def lease_ttl(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.settings.api_lease_s)


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: BaseModel | dict[str, Any] | None


# -- mapping -----------------------------------------------------------------------------------------------------------

def _money_values(data: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in data.items():
        if key == "recoverability" and isinstance(value, float):
            value = round(value, 4)  # a PostgreSQL real: 0.6000000238 is 0.6
        elif key in _MONEY_KEYS and isinstance(value, str):
            try:
                value = Decimal(value)
            except InvalidOperation:
                pass
        out[key] = value
    return out


def claim_summary_out(c: ClaimSummary | None) -> s.ClaimSummaryOut | None:
    if c is None:
        return None
    return s.ClaimSummaryOut(
        claim_id=c.claim_id, state=c.state, payer_id=c.payer_id, payer_type=c.payer_type,
        total_charge=c.total_charge, service_date_from=c.service_date_from, service_date_to=c.service_date_to,
        submitted_at=c.submitted_at, last_event_at=c.last_event_at, adjudicated_payers=list(c.adjudicated_payers),
        payer_claim_numbers=list(c.payer_claim_numbers), forwarded=c.forwarded)


def _task_fields(t: Task, claim: ClaimSummary | None, now: dt.datetime) -> dict[str, Any]:
    return dict(
        id=t.task_id, claim_id=t.claim_id, payer_id=t.payer_id, payer_type=t.payer_type, state=t.state,
        queue=t.queue, category=t.category, action=t.action, appealable=t.appealable,
        amount_at_risk=t.amount_at_risk, at_risk=t.at_risk, recovered_amount=t.recovered_amount,
        recoverability=round(t.recoverability, 4),
        deadline=t.deadline, deadline_basis=t.deadline_basis, filing_deadline=t.filing_deadline,
        filing_deadline_basis=uc.filing_deadline_basis(t), explanation=t.explanation, rule_ids=list(t.rule_ids),
        priority=round(t.priority, 2),  # a PostgreSQL real: 19.81999969 is the score 19.82 of priority_parts
        priority_parts=_money_values(t.priority_parts),
        checklist=[s.ChecklistItemOut(id=i.id, text=i.text, done=i.done) for i in t.checklist],
        notes=[s.NoteOut(at=n.at, author=n.author, text=n.text) for n in t.notes],
        lines=[s.TaskLineOut(line_id=x.line_id, procedure_code=x.procedure_code, modifiers=list(x.modifiers),
                             service_date=x.service_date, amount=x.amount, reasons=list(x.reasons))
               for x in t.lines],
        assignee=t.assignee, lease_expires_at=t.lease_expires_at, leased=t.lease_active(now),
        opened_at=t.opened_at, last_event_at=t.last_event_at, closed_at=t.closed_at, version=t.version,
        claim=claim_summary_out(claim),
    )


def task_out(t: Task, claim: ClaimSummary | None, now: dt.datetime) -> s.TaskOut:
    return s.TaskOut(**_task_fields(t, claim, now))


def timeline_out(items: list[TimelineItem]) -> list[s.TimelineItemOut]:
    return [s.TimelineItemOut(event_id=i.event_id, kind=i.kind, occurred_at=i.occurred_at, payer_id=i.payer_id,
                              summary=_money_values(i.summary)) for i in items]


def audit_out(entries: list[AuditEntry]) -> s.AuditListOut:
    return s.AuditListOut(entries=[s.AuditOut(
        id=e.id, task_id=e.task_id, at=e.at, actor=e.actor, change=e.change, from_state=e.from_state,
        to_state=e.to_state, note=e.note, causation_id=e.causation_id) for e in entries])


async def _view_out(ctx: Ctx, task: Task) -> s.TaskOut:
    """The task as saved, with its claim facts."""
    view: TaskView | None = await ctx.store.task_view(task.task_id)
    return task_out(view.task if view else task, view.claim if view else None, ctx.now)


# -- handlers ----------------------------------------------------------------------------------------------------------

async def me(ctx: Ctx) -> s.MeOut:
    queues = list(QUEUES) if ctx.scope.supervisor else [q for q in QUEUES if q in ctx.scope.queues]
    return s.MeOut(team=ctx.scope.team, user=ctx.scope.user, actor=ctx.scope.actor,
                   supervisor=ctx.scope.supervisor, queues=queues)


async def list_queues(ctx: Ctx) -> s.QueuesOut:
    counts = await uc.queue_summary(ctx.store, ctx.scope, now=ctx.now)
    names = [q for q in QUEUES if ctx.scope.sees(q)]
    zero = {"open": 0, "leased": 0, "in_progress": 0, "submitted": 0}
    return s.QueuesOut(queues=[s.QueueOut(name=q, **counts.get(q, zero)) for q in names])


async def lease_next(ctx: Ctx) -> Reply:
    queue = ctx.path("queue")
    if queue not in QUEUES:
        raise ApiError(404, "unknown_queue", "no queue by that name", {"queues": list(QUEUES)})
    task = await uc.lease_next(ctx.store, ctx.scope, queue, now=ctx.now, lease_ttl=ctx.lease_ttl)
    if task is None:
        return Reply(204, None)
    return Reply(200, await _view_out(ctx, task))


async def list_tasks(ctx: Ctx) -> s.TaskListOut:
    q: s.TaskListQuery = ctx.query
    limit = min(q.limit, ctx.settings.api_page_max)
    views = await uc.list_tasks(ctx.store, ctx.scope, TaskQuery(
        queue=q.queue, states=tuple(q.state.split(",")) if q.state else (), payer_id=q.payer, category=q.category,
        cpt=q.cpt, deadline_before=q.deadline_before, claim_id=q.claim_id, assignee=q.assignee, sort=q.sort,
        limit=limit, offset=q.offset))
    return s.TaskListOut(tasks=[task_out(v.task, v.claim, ctx.now) for v in views], count=len(views), limit=limit,
                         offset=q.offset, next_offset=q.offset + len(views) if len(views) == limit else None)


async def get_task(ctx: Ctx) -> s.TaskDetailOut:
    detail = await uc.get_task(ctx.store, ctx.scope, ctx.path("task_id"))
    return s.TaskDetailOut(**_task_fields(detail.view.task, detail.view.claim, ctx.now),
                           timeline=timeline_out(detail.timeline))


async def update_task(ctx: Ctx) -> s.TaskOut:
    b: s.TaskPatch = ctx.body
    task = await uc.update_task(ctx.store, ctx.scope, ctx.path("task_id"), TaskUpdate(
        state=b.state, note=b.note, recovered_amount=b.recovered_amount, version=b.version,
        checklist=tuple(ChecklistMark(m.id, m.done) for m in b.checklist)), now=ctx.now, lease_ttl=ctx.lease_ttl)
    return await _view_out(ctx, task)


async def reassign_task(ctx: Ctx) -> s.TaskOut:
    b: s.ReassignIn = ctx.body
    kwargs: dict[str, Any] = {}
    if "assignee" in b.model_fields_set:
        kwargs["assignee"] = b.assignee
    task = await uc.reassign_task(ctx.store, ctx.scope, ctx.path("task_id"), queue=b.queue, note=b.note,
                                  now=ctx.now, lease_ttl=ctx.lease_ttl, **kwargs)
    return await _view_out(ctx, task)


async def write_off(ctx: Ctx) -> s.WriteOffOut:
    b: s.WriteOffIn = ctx.body
    if len(b.task_ids) > ctx.settings.api_bulk_max:
        raise ApiError(422, "validation_error", f"at most {ctx.settings.api_bulk_max} tasks per write-off",
                       [{"field": "task_ids", "problem": f"more than {ctx.settings.api_bulk_max} items"}])
    tasks = await uc.write_off(ctx.store, ctx.scope, b.task_ids, b.reason, now=ctx.now)
    return s.WriteOffOut(tasks=[await _view_out(ctx, t) for t in tasks])


async def task_audit(ctx: Ctx) -> s.AuditListOut:
    q: s.TaskAuditQuery = ctx.query
    return audit_out(await uc.task_audit(ctx.store, ctx.scope, ctx.path("task_id"), limit=q.limit))


async def audit(ctx: Ctx) -> s.AuditListOut:
    q: s.AuditQuery = ctx.query
    return audit_out(await uc.actor_audit(ctx.store, ctx.scope, q.actor, since=q.since, until=q.until,
                                          limit=min(q.limit, ctx.settings.api_page_max)))


async def get_claim(ctx: Ctx) -> s.ClaimOut:
    detail = await uc.get_claim(ctx.store, ctx.scope, ctx.path("claim_id"))
    submission = detail.claim.submission
    if submission is not None:
        submission = {**_money_values(submission),
                      "lines": [{**x, "charge": _decimal(x.get("charge"))} for x in submission.get("lines") or []]}
    return s.ClaimOut(claim=claim_summary_out(detail.claim), submission=submission,
                      timeline=timeline_out(detail.timeline),
                      tasks=[task_out(t, detail.claim, ctx.now) for t in detail.tasks])


def _decimal(value: Any) -> Any:
    try:
        return Decimal(value) if isinstance(value, str) else value
    except InvalidOperation:
        return value
