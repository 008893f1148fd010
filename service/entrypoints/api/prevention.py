"""Revenue follow-through routes: prevention feedback and the recoupments for the contracts queue.

`GET /api/prevention` lists recurring, avoidable denial causes as rules a billing platform can check before
submission, with their counts, amounts and example claims; a token sees the denials of its queues (a supervisor all).
`GET /api/recoupments` lists provider-level recoupments (PLB WO, 72, FB ...): by default the unlinked ones, which
name no claim on file and so reach no task; the `contracts` queue works them.

Registered through the route table (`routes.py`): bearer auth, the error shape and the OpenAPI document are shared.
Example claims are account numbers (PHI): they are returned to an authorised caller, never logged.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from service.adapters import prevention as store
from service.domain.appeals import load_appeal_rules
from service.domain.prevention import covered_categories, load_prevention_book, prevention_rules
from service.entrypoints.api import schemas as s
from service.entrypoints.api.views import Ctx
from service.service_layer.tasks_api import Forbidden

CONTRACTS = "contracts"


# -- models ------------------------------------------------------------------------------------------------------------

class PreventionQuery(s.Query):
    days: int = Field(default=90, ge=1, le=730, description="the window: denials of the last N days")
    min_denials: int = Field(default=3, ge=1, le=10_000, description="a cause is listed from this many denials")
    payer: s.FilterText | None = Field(default=None, description="only this payer id")
    cpt: s.FilterText | None = Field(default=None, description="only this procedure code")
    examples: int = Field(default=5, ge=0, le=20, description="example claims per rule (most recent first)")
    limit: int = Field(default=50, ge=1, le=500)


class PreventionRuleOut(s.Out):
    id: str = Field(description="payer:code:condition, stable across calls")
    rule: str = Field(description="the rule in words, e.g. 'payer X denies 64483 without prior authorization: "
                                  "14 denials, $20,300.00 in 90 days'")
    check: str = Field(description="what to check before submitting")
    payer_id: str
    payer_type: str
    procedure_code: str
    condition: str = Field(description="the avoidable cause (prevention.toml key)")
    category: str
    denials: int = Field(description="denied lines (one per line of a remittance)")
    claims: int
    amount: s.Money = Field(description="denied amount")
    first_seen: dt.datetime
    last_seen: dt.datetime
    codes: list[str] = Field(description="group-CARC of the denials, e.g. CO-197")
    rule_ids: list[str] = Field(description="the classifier rules that made the decisions")
    example_claims: list[str]


class PreventionOut(s.Out):
    since: dt.datetime
    until: dt.datetime
    days: int
    min_denials: int
    rules_version: str = Field(description="version of prevention.toml")
    truncated: bool = Field(description="the window held more denied lines than one answer reads")
    rules: list[PreventionRuleOut]


class RecoupmentQuery(s.Query):
    linked: Literal["false", "true", "all"] = Field(
        default="false", description="false: no claim on file (the contracts queue's list); true: linked to a "
                                     "claim; all")
    days: int = Field(default=365, ge=1, le=3650, description="production date within the last N days")
    payer: s.FilterText | None = None
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class RecoupmentOut(s.Out):
    event_id: str
    payer_id: str
    payee_npi: str
    reason: str
    meaning: str
    amount: s.Money = Field(description="taken back from the provider (negative: returned)")
    production_date: dt.date
    reference: str | None = Field(description="PLB03-2 as the payer sent it")
    claim_id: str | None
    trace_number: str | None
    linked: bool
    recorded_at: dt.datetime


class RecoupmentListOut(s.Out):
    recoupments: list[RecoupmentOut]
    count: int = Field(description="how many match in all")
    limit: int
    offset: int
    next_offset: int | None


# -- views -------------------------------------------------------------------------------------------------------------

async def prevention(ctx: Ctx) -> PreventionOut:
    q: PreventionQuery = ctx.query
    book = load_prevention_book()
    until = ctx.now
    since = until - dt.timedelta(days=q.days)
    visible = ctx.scope.visible_queues
    lines, truncated = await store.denied_lines(
        ctx.pool, since=since, until=until, categories=covered_categories(book),
        queues=sorted(visible) if visible is not None else None, payer_id=q.payer,
        procedure_code=q.cpt.upper() if q.cpt else None)
    rules = prevention_rules(lines, book, window_days=q.days, min_denials=q.min_denials, examples=q.examples)
    return PreventionOut(
        since=since, until=until, days=q.days, min_denials=q.min_denials, rules_version=book.version,
        truncated=truncated, rules=[PreventionRuleOut(
            id=r.key, rule=r.text, check=r.check, payer_id=r.payer_id, payer_type=r.payer_type,
            procedure_code=r.procedure_code, condition=r.condition, category=r.category, denials=r.denials,
            claims=r.claims, amount=r.amount, first_seen=r.first_seen, last_seen=r.last_seen, codes=list(r.codes),
            rule_ids=list(r.rule_ids), example_claims=list(r.example_claims)) for r in rules[:q.limit]])


async def recoupments(ctx: Ctx) -> RecoupmentListOut:
    if not ctx.scope.sees(CONTRACTS):
        raise Forbidden("forbidden", "recoupments are the contracts queue's work: this token does not cover it",
                        {"queue": CONTRACTS})
    q: RecoupmentQuery = ctx.query
    reasons = load_appeal_rules().recoupment_reasons
    linked = {"false": False, "true": True, "all": None}[q.linked]
    since = ctx.now.date() - dt.timedelta(days=q.days)
    items, total = await store.recoupments(ctx.pool, reasons=sorted(reasons), linked=linked, since=since,
                                           payer_id=q.payer, limit=q.limit, offset=q.offset)
    nxt = q.offset + len(items)
    return RecoupmentListOut(
        recoupments=[RecoupmentOut(
            event_id=x.event_id, payer_id=x.payer_id, payee_npi=x.payee_npi, reason=x.reason,
            meaning=reasons.get(x.reason, ""), amount=x.amount, production_date=x.production_date,
            reference=x.reference, claim_id=x.claim_id, trace_number=x.trace_number, linked=x.linked,
            recorded_at=x.recorded_at) for x in items],
        count=total, limit=q.limit, offset=q.offset, next_offset=nxt if nxt < total else None)
