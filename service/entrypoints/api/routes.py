"""The route table: the one list `mount_api` registers and `/api/openapi.json` documents."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from service.entrypoints.api import kpis as kpis_routes
from service.entrypoints.api import presubmission as ps
from service.entrypoints.api import prevention as revenue_routes
from service.entrypoints.api import schemas as s
from service.entrypoints.api import views as v
from service.entrypoints.api import workbench as workbench_routes


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    name: str  # operationId, and the aiohttp route name
    summary: str
    view: Callable[[v.Ctx], Awaitable[Any]]
    response: type[BaseModel] | None
    query: type[s.Query] | None = None
    body: type[s.Body] | None = None
    errors: tuple[int, ...] = ()  # beyond 401 (every route), 413 (every route) and 422 (query/body)
    empty_status: int | None = None  # a success without a body (204)
    tag: str = "tasks"
    media_types: tuple[str, ...] = ()  # a success that is not JSON (the view returns a web.Response)
    bad_query_status: int = 422  # 400 where the issue says bad query values are a 400 (GET /api/kpis)
    public: bool = False  # no token needed: only for what holds no data (the OpenAPI document)


async def _openapi(ctx: v.Ctx) -> dict[str, Any]:
    from service.entrypoints.api.openapi import openapi_document

    return openapi_document()


ROUTES: tuple[Route, ...] = (
    Route("GET", "/api/openapi.json", "openapi", "This OpenAPI document (no token needed; browsable at /api/docs)",
          _openapi, None, tag="meta", public=True),
    Route("GET", "/api/me", "me", "The token's team, user, queues and supervisor flag", v.me, s.MeOut, tag="meta"),
    Route("GET", "/api/queues", "list_queues", "Open, leased, in-progress and submitted counts per visible queue",
          v.list_queues, s.QueuesOut, tag="queues"),
    Route("POST", "/api/queues/{queue}/next", "lease_next",
          "Lease the queue's highest-priority free open task to the caller (204 when none is free)",
          v.lease_next, s.TaskOut, errors=(403, 404), empty_status=204, tag="queues"),
    Route("GET", "/api/tasks", "list_tasks",
          "List tasks in the token's queues, filtered by queue, state, payer, category, CPT, deadline, claim, assignee",
          v.list_tasks, s.TaskListOut, query=s.TaskListQuery, errors=(403,)),
    # before /api/tasks/{task_id}: a literal segment must win over the variable one
    Route("POST", "/api/tasks/write-off", "write_off",
          "Write off several tasks with one reason (all or none)", v.write_off, s.WriteOffOut, body=s.WriteOffIn,
          errors=(400, 403, 404, 409)),
    Route("GET", "/api/tasks/{task_id}", "get_task", "One task with its claim facts and the claim's timeline",
          v.get_task, s.TaskDetailOut, errors=(403, 404)),
    Route("PATCH", "/api/tasks/{task_id}", "update_task",
          "Change the state, mark checklist items, add a note (one change set; `version` guards lost updates)",
          v.update_task, s.TaskOut, body=s.TaskPatch, errors=(400, 403, 404, 409)),
    Route("POST", "/api/tasks/{task_id}/reassign", "reassign_task",
          "Give the task to someone (leased to them), release it (assignee null) and/or move it to another queue",
          v.reassign_task, s.TaskOut, body=s.ReassignIn, errors=(400, 403, 404, 409)),
    Route("GET", "/api/tasks/{task_id}/audit", "task_audit", "Who changed the task, what and when",
          v.task_audit, s.AuditListOut, query=s.TaskAuditQuery, errors=(403, 404), tag="audit"),
    Route("GET", "/api/audit", "audit", "Audit rows of one actor (or everyone), newest first, in the token's queues",
          v.audit, s.AuditListOut, query=s.AuditQuery, tag="audit"),
    Route("GET", "/api/claims/{claim_id}", "get_claim",
          "A claim: its facts, what was billed, its timeline and its tasks in the token's queues",
          v.get_claim, s.ClaimOut, errors=(403, 404), tag="claims"),
    # the appeal team's web page: reads only
    Route("GET", "/api/worklist", "worklist",
          "The work list: the task filters plus CPT family and a claim (id or payer claim number), each task with how "
          "close its deadline is; `format=csv` for a spreadsheet",
          workbench_routes.worklist, workbench_routes.WorklistOut, query=workbench_routes.WorklistQuery,
          errors=(403,), tag="web", media_types=("text/csv",)),
    Route("GET", "/api/worklist/facets", "worklist_facets",
          "Filter choices: queues, states, and the payers, causes and CPT families of the open tasks the token sees",
          workbench_routes.facets, workbench_routes.FacetsOut, tag="web"),
    Route("GET", "/api/tasks/{task_id}/decisions", "task_decisions",
          "The decisions behind a task (codes, plain meanings, explanation, rule), its urgency and letter kind",
          workbench_routes.task_decisions, workbench_routes.TaskDecisionsOut, errors=(403, 404), tag="web"),
    Route("GET", "/api/tasks/{task_id}/letter", "task_letter",
          "The letter draft for the task's claim and payer (an appeal covering its appealable open tasks, a "
          "Medicare reopening request, or an authorization reconsideration), checked against the claim's facts; "
          "it names the patient when the service holds a key (each read is audited). 409 when the facts allow no "
          "letter, with the reason and what to do instead (e.g. write_off_recommended). Markdown or PDF",
          workbench_routes.letter, None, query=workbench_routes.LetterQuery, errors=(403, 404, 409), tag="letters",
          media_types=("text/markdown", "application/pdf")),
    # revenue follow-through: prevention feedback, recoupments for the contracts queue
    Route("GET", "/api/prevention", "prevention",
          "Recurring, avoidable denial causes as rules to check before submission, with counts, amounts and example "
          "claims (denials of the token's queues)",
          revenue_routes.prevention, revenue_routes.PreventionOut, query=revenue_routes.PreventionQuery, tag="revenue"),
    Route("GET", "/api/recoupments", "recoupments",
          "Provider-level recoupments (PLB WO, 72, FB ...): by default the unlinked ones, for the contracts queue",
          revenue_routes.recoupments, revenue_routes.RecoupmentListOut, query=revenue_routes.RecoupmentQuery,
          errors=(403,), tag="revenue"),
    # KPIs: any valid token; a team token's figures cover its own queues, a supervisor's the whole practice
    Route("GET", "/api/kpis", "kpis",
          "Revenue-cycle KPIs of a period (denial rates, first pass, clean claims, days in A/R with aging, net "
          "collection, overturns, recoveries, medians) with breakdowns by payer, CPT family, provider and cause; "
          "`format=csv&table=...` for one of the dashboard's tables",
          kpis_routes.kpis, kpis_routes.KpisOut, query=kpis_routes.KpiQueryIn, tag="kpis", bad_query_status=400,
          media_types=("text/csv",)),
    # before a claim goes out: the pre-submission check, the authorization register, the check's rules
    Route("POST", "/api/check", "check_claim",
          "Check one submitted claim (a claims.status.v1 `submitted` event) before it is sent: every finding with its "
          "rule, denial category, severity, message and fix, against the patient's history, the authorization "
          "register and the imported NCCI tables (the outcome is recorded)", ps.check, ps.CheckOut,
          body=ps.StatusEvent, tag="check"),
    Route("GET", "/api/check/outcomes", "check_outcomes",
          "Denial rate of the claims the check passed against those it flagged (each claim's latest check); "
          "`format=csv` for a spreadsheet", ps.outcomes, ps.CheckOutcomesOut, query=ps.OutcomesQuery, tag="check",
          media_types=("text/csv",)),
    Route("GET", "/api/check/rules", "check_rules",
          "The check's rules (check_rules.toml) and the prevention rules enabled as check rules", ps.list_rules,
          ps.CheckRulesOut, tag="check"),
    Route("POST", "/api/check/rules", "enable_check_rule",
          "Enable a recurring avoidable denial cause of GET /api/prevention as a check rule (billing queue or "
          "supervisor)", ps.enable_rule, ps.EnabledRuleOut, body=ps.EnableRuleIn, errors=(403, 404), tag="check"),
    Route("DELETE", "/api/check/rules/{key}", "disable_check_rule", "Stop testing an enabled prevention rule",
          ps.disable_rule, None, errors=(403, 404), empty_status=204, tag="check"),
    Route("POST", "/api/authorizations", "add_authorization",
          "Add an authorization to the register (the member id is kept only as a keyed digest; authorization queue "
          "or supervisor)", ps.add_authorization, ps.AuthorizationOut, body=ps.AuthorizationIn, errors=(403,),
          tag="check"),
)
