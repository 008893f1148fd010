"""Routes for the appeal team's web page: the work list with a CPT-family filter and deadline urgency (also as CSV,
and found by a claim id or payer claim number), its filter choices, a task's decision explanations, and the letter
draft (Markdown or PDF).

Registered through the route table (`routes.py`), so they share the API's bearer auth, scopes, error shape and
OpenAPI document. A letter the facts do not support is a 409 whose `error` code and message say why and what to do
instead. Letters hold PHI: the patient's identifiers are decrypted only for a token whose queues include the task,
each read is written to the task's audit trail, letters are never logged, and every response says
`Cache-Control: no-store`."""

from __future__ import annotations

import asyncio
import datetime as dt
from functools import lru_cache
from typing import Annotated, Literal

from aiohttp import web
from pydantic import Field, StringConstraints, field_validator

from service.adapters.identifiers import PostgresIdentifiers, vault_from
from service.adapters.task_timers import business_today
from service.adapters.workbench_store import PostgresWorkbench
from service.domain.classification.vocabulary import QUEUES
from service.domain.letters import LetterBook, render_markdown
from service.domain.letters.compose import code_parts
from service.domain.tasks import TASK_STATES, TRANSITIONS
from service.domain.urgency import Urgency, task_urgency
from service.entrypoints.api import schemas as s
from service.entrypoints.api.csv_export import csv_response
from service.entrypoints.api.views import Ctx, _task_fields
from service.service_layer import workbench
from service.service_layer.tasks_api import SORTS
from topics.outputs import Category, Queue

CSV_MAX_ROWS = 1000  # a CSV is a download for a spreadsheet, not a page: more rows than the JSON page
FamilyName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]


@lru_cache(maxsize=1)
def letter_book() -> LetterBook:
    return LetterBook.load()


def _store(ctx: Ctx) -> PostgresWorkbench:
    return PostgresWorkbench(ctx.pool)


def _today(ctx: Ctx) -> dt.date:
    return business_today(ctx.settings)


# -- models ------------------------------------------------------------------------------------------------------------

class WorklistQuery(s.Query):
    queue: Queue | None = None
    state: str | None = Field(default=None, description="one state or several, comma-separated",
                              examples=["open,in_progress"], max_length=200)
    payer: s.FilterText | None = Field(default=None, description="payer id")
    category: Category | None = Field(default=None, description="the denial cause")
    family: FamilyName | None = Field(default=None, description="CPT family (see /api/worklist/facets)")
    cpt: s.FilterText | None = Field(default=None, description="one procedure code")
    deadline_before: dt.date | None = Field(default=None, description="either clock falls before this date")
    assignee: s.FilterText | None = None
    claim: s.FilterText | None = Field(default=None, description="a claim id or one of the claim's payer claim "
                                                                 "numbers (whole value, any letter case)")
    sort: Literal[SORTS] = "priority"  # type: ignore[valid-type]
    limit: int = Field(default=50, ge=1, le=1000,
                       description=f"at most DENIALS_API_PAGE_MAX as JSON, {CSV_MAX_ROWS} as CSV")
    offset: int = Field(default=0, ge=0, le=1_000_000)
    format: Literal["json", "csv"] = Field(default="json", description="csv: the same tasks as a spreadsheet "
                                                                       "(text/csv, one row per task)")

    @field_validator("state")
    @classmethod
    def _known_states(cls, value: str | None) -> str | None:
        if value is None:
            return None
        items = [x.strip() for x in value.split(",") if x.strip()]
        if not items or any(x not in TASK_STATES for x in items):
            raise ValueError(f"states are: {', '.join(sorted(TASK_STATES))}")
        return ",".join(dict.fromkeys(items))


class LetterQuery(s.Query):
    format: Literal["md", "pdf"] = Field(default="md", description="md: text/markdown; pdf: application/pdf")


class UrgencyOut(s.Out):
    level: Literal["passed", "urgent", "close", "approaching", "later", "none"] = Field(
        description="passed; urgent (3 days or less); close (14); approaching (30); later; none (no clock)")
    days_left: int | None
    clock: Literal["deadline", "filing_deadline"] | None
    due: dt.date | None
    text: str


class WorkItemOut(s.TaskOut):
    urgency: UrgencyOut
    families: list[str] = Field(description="CPT families of the task's lines")


class WorklistOut(s.Out):
    today: dt.date = Field(description="the billing office's date the urgency counts from")
    tasks: list[WorkItemOut]
    count: int
    limit: int
    offset: int
    next_offset: int | None


class FamilyOut(s.Out):
    id: str
    label: str
    codes: list[str]


class FacetsOut(s.Out):
    today: dt.date
    queues: list[str]
    states: list[str]
    payers: list[str] = Field(description="payers of the open tasks the token sees")
    categories: list[str] = Field(description="causes of the open tasks the token sees")
    families: list[FamilyOut] = Field(description="CPT families on the open tasks the token sees")


class CodeOut(s.Out):
    code: str
    meaning: str = Field(description="paraphrased meaning (not the official wording)")


class DecisionOut(s.Out):
    event_id: str
    occurred_at: dt.datetime
    line_id: str | None
    group: str
    reason: str
    remarks: list[str]
    amount: s.Money
    procedure_code: str | None
    modifiers: list[str]
    service_date: dt.date | None
    category: str
    action: str
    appealable: bool
    explanation: str
    rule_id: str
    rules_version: str
    codes: list[CodeOut]


class LetterInfoOut(s.Out):
    kind: Literal["appeal", "reopening", "reconsideration"] | None = Field(
        description="null: the task takes no letter (then `reason` says why and what to do instead)")
    reason: str | None = Field(default=None, description="why the task takes no letter: the letter route's 409 "
                                                          "message (a write-off or corrected-claim recommendation ...)")
    code: str | None = Field(default=None, description="the letter route's 409 error code")


class TaskDecisionsOut(s.Out):
    task_id: str
    today: dt.date
    urgency: UrgencyOut
    decisions: list[DecisionOut]
    letter: LetterInfoOut
    next_states: list[str] = Field(description="the states a person may move the task to from its current one")


# -- mapping -----------------------------------------------------------------------------------------------------------

def urgency_out(u: Urgency) -> UrgencyOut:
    return UrgencyOut(level=u.level, days_left=u.days_left, clock=u.clock, due=u.due, text=u.describe())


def _states(value: str | None) -> tuple[str, ...]:
    return tuple(value.split(",")) if value else ()


# -- handlers ----------------------------------------------------------------------------------------------------------

async def worklist(ctx: Ctx) -> WorklistOut | web.Response:
    q: WorklistQuery = ctx.query
    book = letter_book()
    limit = min(q.limit, CSV_MAX_ROWS if q.format == "csv" else ctx.settings.api_page_max)
    today = _today(ctx)
    codes: tuple[str, ...] = ()
    if q.family is not None:
        codes = workbench.family_codes(book, q.family)
    if q.cpt is not None:
        codes = tuple(c for c in codes if c == q.cpt.upper()) if codes else (q.cpt.upper(),)
    items: list[workbench.WorkItem] = []
    if q.cpt is None or codes:  # a code outside the chosen family: nothing can match both
        items = await workbench.worklist(_store(ctx), ctx.scope, workbench.WorklistQuery(
            queue=q.queue, states=_states(q.state), payer_id=q.payer, category=q.category, codes=codes,
            deadline_before=q.deadline_before, assignee=q.assignee, claim=q.claim, sort=q.sort, limit=limit,
            offset=q.offset), today=today, book=book)
    tasks = [WorkItemOut(**_task_fields(i.view.task, i.view.claim, ctx.now), urgency=urgency_out(i.urgency),
                         families=list(i.families)) for i in items]
    next_offset = q.offset + len(tasks) if len(tasks) == limit else None
    if q.format == "csv":
        return worklist_csv(tasks, today, next_offset)
    return WorklistOut(today=today, tasks=tasks, count=len(tasks), limit=limit, offset=q.offset,
                       next_offset=next_offset)


WORKLIST_CSV_HEADER = (
    "task_id", "claim_id", "payer_id", "payer_type", "queue", "category", "action", "state", "priority",
    "amount_at_risk", "recovered_amount", "deadline", "filing_deadline", "urgency", "days_left", "due",
    "procedures", "cpt_families", "service_date_from", "service_date_to", "payer_claim_numbers", "assignee", "leased",
    "opened_at", "explanation")


def worklist_csv(tasks: list[WorkItemOut], today: dt.date, next_offset: int | None) -> web.Response:
    """The work list as CSV: one row per task, the columns a spreadsheet sorts and filters on. `X-Next-Offset`
    says that more tasks match than the rows sent (ask again with that offset)."""
    rows = []
    for t in tasks:
        c = t.claim
        rows.append((
            t.id, t.claim_id, t.payer_id, t.payer_type, t.queue, t.category, t.action, t.state, t.priority,
            t.amount_at_risk, t.recovered_amount, t.deadline, t.filing_deadline, t.urgency.level,
            t.urgency.days_left, t.urgency.due,
            " ".join("-".join((x.procedure_code, *x.modifiers)) for x in t.lines if x.procedure_code),
            " ".join(t.families), c.service_date_from if c else None, c.service_date_to if c else None,
            " ".join(c.payer_claim_numbers) if c else None, t.assignee, t.leased, t.opened_at, t.explanation))
    extra = {"X-Next-Offset": str(next_offset)} if next_offset is not None else None
    return csv_response(f"worklist-{today.isoformat()}.csv", WORKLIST_CSV_HEADER, rows, extra)


async def facets(ctx: Ctx) -> FacetsOut:
    f = await workbench.facets(_store(ctx), ctx.scope, book=letter_book())
    return FacetsOut(today=_today(ctx), queues=[q for q in QUEUES if ctx.scope.sees(q)],
                     states=sorted(TASK_STATES), payers=list(f.payers), categories=list(f.categories),
                     families=[FamilyOut(id=x.id, label=x.label, codes=list(x.codes)) for x in f.families])


async def task_decisions(ctx: Ctx) -> TaskDecisionsOut:
    task_id = ctx.path("task_id")
    book, store, today = letter_book(), _store(ctx), _today(ctx)
    view, rows = await workbench.task_decisions(store, ctx.store, ctx.scope, task_id)
    facts = await store.letter_facts(task_id)
    info = workbench.letter_info(facts, ctx.scope, task_id, today, book) if facts else workbench.LetterInfo(None)
    t = view.task
    decisions = [DecisionOut(
        event_id=d.event_id, occurred_at=d.occurred_at, line_id=d.line_id, group=d.group, reason=d.reason,
        remarks=list(d.remarks), amount=d.amount, procedure_code=d.procedure_code, modifiers=list(d.modifiers),
        service_date=d.service_date, category=d.category, action=d.action, appealable=d.appealable,
        explanation=d.explanation, rule_id=d.rule_id, rules_version=d.rules_version,
        codes=[CodeOut(code=c, meaning=m) for c, m in code_parts(
            book, d.group, d.reason, d.remarks, d.service_date or d.occurred_at.date())]) for d in rows]
    return TaskDecisionsOut(task_id=task_id, today=today,
                            urgency=urgency_out(task_urgency(t.deadline, t.filing_deadline, today,
                                                             is_open=t.is_open)),
                            decisions=decisions,
                            letter=LetterInfoOut(kind=info.kind, reason=info.reason, code=info.code),
                            next_states=sorted(TRANSITIONS.get(t.state, ())))


async def letter(ctx: Ctx) -> web.Response:
    q: LetterQuery = ctx.query
    task_id = ctx.path("task_id")
    identifiers = PostgresIdentifiers(ctx.pool, vault_from(ctx.settings))
    drafted = await workbench.draft_letter(_store(ctx), ctx.store, ctx.scope, task_id, today=_today(ctx),
                                    book=letter_book(), identifiers=identifiers,
                                    purpose=f"for the letter ({q.format})", now=ctx.now)
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if q.format == "pdf":
        from service.adapters.letter_pdf import render_pdf  # fpdf2 is loaded only when a PDF is asked for

        body = await asyncio.to_thread(render_pdf, drafted)
        headers["Content-Disposition"] = f'inline; filename="letter-{task_id}.pdf"'
        return web.Response(body=body, content_type="application/pdf", headers=headers)
    headers["Content-Disposition"] = f'inline; filename="letter-{task_id}.md"'
    return web.Response(text=render_markdown(drafted), content_type="text/markdown", charset="utf-8",
                        headers=headers)

