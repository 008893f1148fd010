"""Pre-submission routes: check a claim before it goes out, the authorization register, the check's rules (built-in
and prevention rules a user enabled) and how the claims it passed fared against those it flagged.

`POST /api/check` takes one `claims.status.v1` submitted event (the contract's JSON) and answers its findings, read
against the database (the patient's history and earlier submissions, the authorization register, the imported NCCI
tables, the enabled prevention rules); the claim's outcome is recorded for the dashboard. `POST /api/authorizations`
adds one authorization to the register: the member id is digested at once and never stored, logged or echoed.

Registered through the route table (`routes.py`): bearer auth, the error shape and the OpenAPI document are shared.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from aiohttp import web
from pydantic import Field, SecretStr, StringConstraints

from service.adapters.authorizations import save_authorizations
from service.adapters.clock import FixedClock
from service.adapters.presubmission import PostgresCheckStore, PostgresPreventionStore, outcome_rates, rule_counts
from service.domain.authorizations import Authorization, check_fields, normalize_scope
from service.domain.presubmission import load_checker
from service.entrypoints.api import schemas as s
from service.entrypoints.api.csv_export import csv_response
from service.entrypoints.api.views import Ctx, Reply
from service.service_layer import mapping
from service.service_layer.presubmission import check_submissions, disable_prevention, enable_prevention
from service.service_layer.tasks_api import Forbidden, Invalid
from topics.status import StatusEvent

AUTHORIZATION_QUEUE = "authorization"
RULES_QUEUE = "billing"  # who may turn prevention feedback into check rules (and supervisors)


# -- models ------------------------------------------------------------------------------------------------------------

class FindingOut(s.Out):
    claim_id: str
    line_id: str | None = Field(description="the line; null: the whole claim")
    rule_id: str = Field(description="the check rule (check_rules.toml), or prevention.<condition>")
    category: str = Field(description="the denial it would be (the classifier's categories)")
    severity: Literal["deny", "warn"] = Field(description="deny: likely denied; warn: may be")
    message: str = Field(description="what and why, with the policy cited")
    fix: str = Field(description="what to change before submitting")


class CheckOut(s.Out):
    claim_id: str
    event_id: str
    outcome: Literal["passed", "warned", "flagged"] = Field(
        description="flagged: a deny finding; warned: warnings only; passed: nothing found")
    history: Literal["database"] = Field(description="where the patient's history came from")
    findings: list[FindingOut]


class AuthorizationIn(s.Body):
    payer: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="the payer id as on the claims")
    member: SecretStr = Field(description="the member id (digested at once; never stored, logged or returned)")
    auth_number: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    cpt_or_family: Annotated[str, StringConstraints(min_length=2, max_length=40)] = Field(
        description="a procedure code (64483), a family (facet_rfa), a group (esi, facet, rfa, si, scs, vertebral) "
                    "or a service authorized on its own (scs_trial, scs_implant)")
    side: Literal["left", "right", "bilateral"] | None = Field(default=None, description="null: any side")
    levels: int | None = Field(default=None, ge=1, le=999, description="levels per session (null: not limited)")
    units: int | None = Field(default=None, ge=1, le=999, description="units per date (null: not limited)")
    sessions: int | None = Field(default=None, ge=1, le=999,
                                 description="sessions (dates of service) in all (null: not limited)")
    valid_from: dt.date
    valid_to: dt.date


class AuthorizationOut(s.Out):
    payer_id: str
    auth_number: str
    scope: str
    side: str | None
    levels: int | None
    units: int | None
    sessions: int | None
    valid_from: dt.date
    valid_to: dt.date
    added: bool = Field(description="false: an authorization with the same payer, member, number, scope and start "
                                    "was on file and is updated")


class OutcomeRateOut(s.Out):
    outcome: Literal["passed", "warned", "flagged"]
    claims: int = Field(description="claims whose latest check had this outcome")
    adjudicated: int = Field(description="of them, claims a payer has answered (a remittance)")
    denied: int = Field(description="of the adjudicated, claims with a denied line")
    denial_rate: float | None = Field(description="denied / adjudicated; null when none is adjudicated yet")
    denied_amount: s.Money


class RuleCountOut(s.Out):
    rule_id: str
    claims: int


class CheckOutcomesOut(s.Out):
    passed: OutcomeRateOut = Field(description="claims the check passed (warnings allowed)")
    flagged: OutcomeRateOut = Field(description="claims the check flagged as likely denied")
    outcomes: list[OutcomeRateOut]
    rules: list[RuleCountOut] = Field(description="claims per rule in their latest check, most first")
    queues: list[str] | None = Field(default=None, description="a team token's queues: the figures count only the "
                                                                "claims with a task in them; null: every checked claim "
                                                                "(a supervisor or billing-queue token)")


class CheckRuleOut(s.Out):
    id: str
    category: str
    severity: str
    title: str
    enabled: bool


class EnabledRuleOut(s.Out):
    key: str = Field(description="payer:code:condition")
    rule_id: str
    payer_id: str
    procedure_code: str
    category: str
    text: str
    check: str


class CheckRulesOut(s.Out):
    version: str = Field(description="version of check_rules.toml")
    rules: list[CheckRuleOut]
    prevention: list[EnabledRuleOut] = Field(description="prevention feedback enabled as check rules")


class EnableRuleIn(s.Body):
    key: Annotated[str, StringConstraints(min_length=3, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")] = Field(
        description="payer:code:condition, as GET /api/prevention lists it (`id`)")
    days: int = Field(default=90, ge=1, le=730, description="the window the cause is looked up in")


# -- views -------------------------------------------------------------------------------------------------------------

def _digest(ctx: Ctx):
    assert ctx.parts is not None  # every route behind a token is given bootstrap's parts
    return ctx.parts.member_digest


async def check(ctx: Ctx) -> CheckOut:
    event: StatusEvent = ctx.body
    if event.kind != "submitted":
        raise Invalid("not_a_submission", "the check takes a submitted claim (kind `submitted`)",
                      [{"field": "kind", "problem": "must be submitted"}])
    sub = mapping.submission(event)
    run = await check_submissions([sub], load_checker(), store=PostgresCheckStore(ctx.pool),
                                  clock=FixedClock(ctx.now), member_digest=_digest(ctx), origin="api")
    result = run.claims[0]
    return CheckOut(claim_id=sub.claim_id, event_id=sub.event_id, outcome=result.outcome.outcome, history="database",
                    findings=[FindingOut(**f.as_json()) for f in result.findings])


async def add_authorization(ctx: Ctx) -> Reply:
    if not ctx.scope.sees(AUTHORIZATION_QUEUE):
        raise Forbidden("forbidden", "the authorization register is the authorization queue's: this token does not "
                                     "cover it", {"queue": AUTHORIZATION_QUEUE})
    body: AuthorizationIn = ctx.body
    member = body.member.get_secret_value()
    scope = normalize_scope(body.cpt_or_family)
    try:
        check_fields(payer=body.payer, member=member, auth_number=body.auth_number, scope=scope, side=body.side,
                     valid_from=body.valid_from, valid_to=body.valid_to,
                     known_scopes=load_checker().rules.scope_known)
    except ValueError as exc:
        field, _, problem = str(exc).partition(": ")
        raise Invalid("validation_error", "invalid request body", [{"field": field, "problem": problem}]) from None
    auth = Authorization(payer_id=body.payer, member_digest=_digest(ctx)(member), auth_number=body.auth_number,
                         scope=scope, valid_from=body.valid_from, valid_to=body.valid_to, side=body.side,
                         levels=body.levels, units=body.units, sessions=body.sessions)
    added, _ = await save_authorizations(ctx.pool, [auth], f"api:{ctx.scope.actor}")
    out = AuthorizationOut(payer_id=auth.payer_id, auth_number=auth.auth_number, scope=auth.scope, side=auth.side,
                           levels=auth.levels, units=auth.units, sessions=auth.sessions, valid_from=auth.valid_from,
                           valid_to=auth.valid_to, added=bool(added))
    return Reply(201 if added else 200, out)


def _rate(outcome: str, claims: int, adjudicated: int, denied: int, amount: Decimal) -> OutcomeRateOut:
    return OutcomeRateOut(outcome=outcome, claims=claims, adjudicated=adjudicated, denied=denied,
                          denial_rate=round(denied / adjudicated, 4) if adjudicated else None, denied_amount=amount)


class OutcomesQuery(s.Query):
    format: Literal["json", "csv"] = Field(default="json", description="csv: the outcomes table as text/csv")


def _outcomes_csv(out: CheckOutcomesOut) -> web.Response:
    header = ["outcome", "claims", "adjudicated", "denied", "denial_rate", "denied_amount"]
    rows = [[r.outcome, r.claims, r.adjudicated, r.denied, r.denial_rate, r.denied_amount]
            for r in (out.passed, out.flagged)]
    return csv_response("check-outcomes.csv", header, rows)


async def outcomes(ctx: Ctx) -> CheckOutcomesOut | web.Response:
    out = await _outcomes(ctx)
    return _outcomes_csv(out) if ctx.query is not None and ctx.query.format == "csv" else out


async def _outcomes(ctx: Ctx) -> CheckOutcomesOut:
    # The check is the billing queue's work (it runs before a claim has a task): billing and supervisors see every
    # checked claim; another team only the claims its queues work (those with a task in them).
    visible = None if ctx.scope.sees(RULES_QUEUE) else ctx.scope.visible_queues
    queues = sorted(visible) if visible is not None else None
    rows = {r.outcome: r for r in await outcome_rates(ctx.pool, queues)}
    each = [_rate(o, r.claims, r.adjudicated, r.denied, r.denied_amount) for o in ("passed", "warned", "flagged")
            if (r := rows.get(o)) is not None]
    passing = [r for o, r in rows.items() if o in ("passed", "warned")]
    flagged = rows.get("flagged")
    return CheckOutcomesOut(
        passed=_rate("passed", sum(r.claims for r in passing), sum(r.adjudicated for r in passing),
                     sum(r.denied for r in passing), sum((r.denied_amount for r in passing), Decimal("0.00"))),
        flagged=_rate("flagged", flagged.claims if flagged else 0, flagged.adjudicated if flagged else 0,
                      flagged.denied if flagged else 0, flagged.denied_amount if flagged else Decimal("0.00")),
        outcomes=each, rules=[RuleCountOut(rule_id=r, claims=n) for r, n in await rule_counts(ctx.pool, queues=queues)],
        queues=queues)


async def list_rules(ctx: Ctx) -> CheckRulesOut:
    rules = load_checker().rules
    enabled = await PostgresPreventionStore(ctx.pool).enabled()
    return CheckRulesOut(
        version=rules.version,
        rules=[CheckRuleOut(id=r.id, category=r.category, severity=r.severity, title=r.title, enabled=r.enabled)
               for r in rules.rules.values()],
        prevention=[EnabledRuleOut(key=p.key, rule_id=f"prevention.{p.condition}", payer_id=p.payer_id,
                                      procedure_code=p.procedure_code, category=p.category, text=p.text,
                                      check=p.check) for p in enabled])


def _may_change_rules(ctx: Ctx) -> None:
    if not ctx.scope.sees(RULES_QUEUE):
        raise Forbidden("forbidden", "check rules are changed by the billing queue or a supervisor",
                        {"queue": RULES_QUEUE})


async def enable_rule(ctx: Ctx) -> Reply:
    _may_change_rules(ctx)
    body: EnableRuleIn = ctx.body
    rule, added = await enable_prevention(PostgresPreventionStore(ctx.pool), body.key, ctx.scope.actor,
                                          now=ctx.now, days=body.days)
    out = EnabledRuleOut(key=rule.key, rule_id=f"prevention.{rule.condition}", payer_id=rule.payer_id,
                            procedure_code=rule.procedure_code, category=rule.category, text=rule.text,
                            check=rule.check)
    return Reply(201 if added else 200, out)


async def disable_rule(ctx: Ctx) -> Reply:
    _may_change_rules(ctx)
    await disable_prevention(PostgresPreventionStore(ctx.pool), ctx.path("key"))
    return Reply(204, None)
