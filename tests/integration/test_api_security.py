"""Every API route, against the session's shared database: no token 401 (the OpenAPI document excepted: it is
public and holds no data), a wrong (revoked, expired) token 401, another
team's queue or task 403, oversized body 413, injection strings in every text filter harmless. A case table names
each route; a test fails when a route of the table has no case.

Token lifecycle and scoped reads: an expired or revoked token is told so (never echoed); refusals are
counted by route and reason in /metrics; KPIs, prevention and the check's outcomes of a team token cover only its
queues' claims (real denials through the session's worker), a supervisor's the whole practice."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest

from service.adapters.tokens import TokenStore, generate_token
from service.entrypoints.api.routes import ROUTES
from tests.integration.test_api_support import TODAY, Api, running_api, seed_task


@dataclass
class World:
    api: Api
    run: str
    owner: str  # team-a, queue appeals
    other: str  # team-b, queue coding only
    supervisor: str
    revoked: str
    expired: str
    task_id: str
    claim_id: str
    payer: str


@pytest.fixture(scope="module")
async def world(stack):
    import uuid

    run = uuid.uuid4().hex[:8]
    async with running_api(stack.direct_database_url) as api:
        payer = f"PAYER-{run}"
        claim_id = f"PC-SEC-{run}"
        task_id = await seed_task(api.pool, claim_id, queue="appeals", payer_id=payer, cpt="64483",
                                  deadline=TODAY + dt.timedelta(days=30))
        revoked = await api.token(f"gone-{run}", ["appeals"])
        store = TokenStore(api.pool)
        info = next(i for i in await store.list() if i.team == f"gone-{run}")
        await store.revoke(info.id)
        expired = await api.token(f"old-{run}", ["appeals"])
        await api.pool.execute("UPDATE api_tokens SET expires_at = now() - interval '1 minute' WHERE team = $1",
                               f"old-{run}")
        yield World(api=api, run=run, owner=await api.token(f"team-a-{run}", ["appeals"], user="ann"),
                    other=await api.token(f"team-b-{run}", ["coding"], user="bob"),
                    supervisor=await api.token(f"sup-{run}", [], supervisor=True), revoked=revoked,
                    expired=expired, task_id=task_id, claim_id=claim_id, payer=payer)


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # formatted with the world's task_id / claim_id
    body: Any = None
    forbidden: bool = True  # another team's token gets 403 (False: the route has no per-queue object)
    public: bool = False  # no token needed (the route holds no data)


CASES: dict[str, Case] = {
    "openapi": Case("GET", "/api/openapi.json", forbidden=False, public=True),
    "me": Case("GET", "/api/me", forbidden=False),
    "list_queues": Case("GET", "/api/queues", forbidden=False),
    "lease_next": Case("POST", "/api/queues/appeals/next"),
    "list_tasks": Case("GET", "/api/tasks?queue=appeals"),
    "write_off": Case("POST", "/api/tasks/write-off", {"task_ids": ["{task_id}"], "reason": "too small to pursue"}),
    "get_task": Case("GET", "/api/tasks/{task_id}"),
    "update_task": Case("PATCH", "/api/tasks/{task_id}", {"note": "called the payer"}),
    "reassign_task": Case("POST", "/api/tasks/{task_id}/reassign", {"assignee": None}),
    "task_audit": Case("GET", "/api/tasks/{task_id}/audit"),
    "audit": Case("GET", "/api/audit", forbidden=False),
    "get_claim": Case("GET", "/api/claims/{claim_id}"),
    # the web page's reads
    "worklist": Case("GET", "/api/worklist?queue=appeals"),
    "worklist_facets": Case("GET", "/api/worklist/facets", forbidden=False),
    "task_decisions": Case("GET", "/api/tasks/{task_id}/decisions"),
    "task_letter": Case("GET", "/api/tasks/{task_id}/letter"),
    # revenue follow-through
    "prevention": Case("GET", "/api/prevention", forbidden=False),
    "recoupments": Case("GET", "/api/recoupments"),
    # KPIs: any valid token (scoped to its queues)
    "kpis": Case("GET", "/api/kpis?from=2026-03-01&to=2026-03-31", forbidden=False),
    # the pre-submission check: any token may check a claim and read the rules and outcomes; enabling a rule is the
    # billing team's (or a supervisor's), registering an authorization the authorization team's
    "check_claim": Case("POST", "/api/check", {
        "event_id": "sec-check-1", "schema_version": 1, "kind": "submitted", "occurred_at": "2026-03-02T10:00:00Z",
        "payer": {"id": "SEC-PAYER", "type": "commercial"},
        "claim": {"claim_id": "PC-SEC-CHECK", "total_charge": 100.0, "lines": [
            {"line_id": "1", "procedure": {"code": "99213"}, "charge": 100.0, "service_date": "2026-03-01"}]}},
        forbidden=False),
    "check_outcomes": Case("GET", "/api/check/outcomes", forbidden=False),
    "check_rules": Case("GET", "/api/check/rules", forbidden=False),
    "enable_check_rule": Case("POST", "/api/check/rules", {"key": "SEC-PAYER:197:no_authorization"}),
    "disable_check_rule": Case("DELETE", "/api/check/rules/SEC-PAYER:197:no_authorization"),
    "add_authorization": Case("POST", "/api/authorizations", {
        "payer": "SEC-PAYER", "member": "M-SEC-1", "auth_number": "AUTH-SEC", "cpt_or_family": "64483",
        "valid_from": "2026-01-01", "valid_to": "2026-12-31"}),
}

INJECTIONS = [
    "' OR '1'='1",
    "'; DROP TABLE appeal_tasks; --",
    "\" OR \"\"=\"",
    "1) OR (1=1",
    "' UNION SELECT token_hash, 1, 1 FROM api_tokens --",
    "%",
    "_",
    "\\",
    "$1",
    "{\"procedure_code\": \"64483\"}",
    "]}' ; SELECT pg_sleep(5); --",
]


def _path(case: Case, w: World) -> str:
    return case.path.format(task_id=w.task_id, claim_id=quote(w.claim_id))


def _body(case: Case, w: World) -> Any:
    if case.body is None:
        return None
    import json

    return json.loads(json.dumps(case.body).replace("{task_id}", w.task_id))


def test_every_route_has_a_security_case():
    assert {r.name for r in ROUTES} == set(CASES)
    assert {r.name for r in ROUTES if r.public} == {n for n, c in CASES.items() if c.public} == {"openapi"}


PROTECTED = sorted(n for n, c in CASES.items() if not c.public)


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c.public))
async def test_a_public_route_answers_without_a_token_and_ignores_a_wrong_one(world, name):
    case = CASES[name]
    for token in (None, generate_token()):
        status, body = await world.api.call(case.method, _path(case, world), token=token)
        assert status == 200 and body["openapi"].startswith("3.")


@pytest.mark.parametrize("name", PROTECTED)
async def test_no_token_is_401(world, name):
    case = CASES[name]
    status, body = await world.api.call(case.method, _path(case, world), body=_body(case, world))
    assert (status, body["error"]) == (401, "missing_token")
    assert set(body) == {"error", "message", "details"}


@pytest.mark.parametrize("name", PROTECTED)
@pytest.mark.parametrize("kind", ["unknown", "malformed", "revoked", "expired", "not_bearer"])
async def test_a_wrong_token_is_401(world, name, kind):
    case = CASES[name]
    token = {"unknown": generate_token(), "malformed": "dnl_' OR '1'='1", "revoked": world.revoked,
             "expired": world.expired, "not_bearer": None}[kind]
    headers = {"Authorization": f"Basic {world.owner}"} if kind == "not_bearer" else None
    status, body = await world.api.call(case.method, _path(case, world), token=token, headers=headers,
                                        body=_body(case, world))
    assert (status, body["error"]) == (401, "invalid_token")


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c.forbidden))
async def test_another_teams_queue_or_task_is_403(world, name):
    case = CASES[name]
    _, before = await world.api.call("GET", f"/api/tasks/{world.task_id}", token=world.owner)
    status, body = await world.api.call(case.method, _path(case, world), token=world.other, body=_body(case, world))
    assert (status, body["error"]) == (403, "forbidden"), body
    # and nothing changed: the owner's task is untouched
    _, after = await world.api.call("GET", f"/api/tasks/{world.task_id}", token=world.owner)
    assert (after["version"], after["state"], after["assignee"]) == (before["version"], "open", None)


async def test_scoped_reads_show_another_team_nothing_of_ours(world):
    _, queues = await world.api.call("GET", "/api/queues", token=world.other)
    assert [q["name"] for q in queues["queues"]] == ["coding"]
    _, tasks = await world.api.call("GET", "/api/tasks", token=world.other, params={"payer": world.payer})
    assert tasks["tasks"] == []
    _, audit = await world.api.call("GET", "/api/audit", token=world.other)
    assert all(e["task_id"] != world.task_id for e in audit["entries"])
    _, me = await world.api.call("GET", "/api/me", token=world.other)
    assert (me["team"], me["queues"], me["supervisor"]) == (f"team-b-{world.run}", ["coding"], False)


@pytest.mark.parametrize("name", sorted(CASES))
async def test_an_oversized_body_is_413(world, name):
    case = CASES[name]
    limit = world.api.settings.api_max_body_bytes
    raw = b'{"note": "' + b"x" * limit + b'"}'
    status, body = await world.api.call(case.method, _path(case, world), token=world.owner, raw=raw)
    assert (status, body["error"]) == (413, "payload_too_large")
    assert body["details"] == {"limit": limit}


async def test_an_oversized_chunked_body_is_413_too(world):
    limit = world.api.settings.api_max_body_bytes

    async def chunks():
        for _ in range(limit // 1024 + 2):
            yield b" " * 1024

    async with world.api.session.patch(f"{world.api.base}/api/tasks/{world.task_id}", data=chunks(),
                                       headers={"Authorization": f"Bearer {world.owner}",
                                                "Content-Type": "application/json"}) as resp:
        assert resp.status == 413
        assert (await resp.json())["error"] == "payload_too_large"


async def _tables_intact(w: World) -> None:
    """The tables still exist and the control query still finds exactly our task."""
    status, body = await w.api.call("GET", "/api/tasks", token=w.supervisor, params={"payer": w.payer})
    assert status == 200 and [t["id"] for t in body["tasks"]] == [w.task_id]
    assert await w.api.pool.fetchval("SELECT to_regclass('appeal_tasks') IS NOT NULL")
    assert await w.api.pool.fetchval("SELECT count(*) FROM api_tokens WHERE team = $1", f"team-a-{w.run}") == 1


@pytest.mark.parametrize("field", ["payer", "cpt", "claim_id", "assignee"])
@pytest.mark.parametrize("text", INJECTIONS)
async def test_injection_strings_in_free_text_filters_match_nothing_and_harm_nothing(world, field, text):
    for token in (world.supervisor, world.owner):
        status, body = await world.api.call("GET", "/api/tasks", token=token, params={field: text})
        assert status == 200, body
        assert body["tasks"] == [] and body["count"] == 0
    await _tables_intact(world)


@pytest.mark.parametrize(("field", "extra"), [("queue", {}), ("state", {}), ("category", {}), ("sort", {}),
                                             ("deadline_before", {}), ("limit", {}), ("offset", {})])
async def test_injection_strings_in_enumerated_filters_are_refused_with_422(world, field, extra):
    for text in INJECTIONS:
        status, body = await world.api.call("GET", "/api/tasks", token=world.supervisor,
                                            params={field: text, **extra})
        assert (status, body["error"]) == (422, "validation_error"), (text, body)
        assert body["details"][0]["field"] == field
        assert text not in str(body) or text in ("%", "_", "\\", "$1")  # values are never echoed
    await _tables_intact(world)


@pytest.mark.parametrize("field", ["actor", "since", "until"])
async def test_injection_strings_in_audit_filters_are_refused_with_422(world, field):
    for text in INJECTIONS:
        status, body = await world.api.call("GET", "/api/audit", token=world.supervisor, params={field: text})
        assert (status, body["error"]) == (422, "validation_error")
    await _tables_intact(world)


async def test_control_characters_and_unknown_parameters_are_refused(world):
    for params in ({"payer": "a\x00b"}, {"claim_id": "x\ny"}, {"nope": "1"}):
        status, body = await world.api.call("GET", "/api/tasks", token=world.owner, params=params)
        assert (status, body["error"]) == (422, "validation_error")
    status, body = await world.api.call("GET", "/api/tasks?payer=a&payer=b", token=world.owner)
    assert (status, body["details"]) == (422, [{"field": "payer", "problem": "repeated"}])


@pytest.mark.parametrize("text", INJECTIONS)
async def test_injection_strings_in_path_parameters_are_not_found(world, text):
    q = quote(text, safe="")
    for path, code in ((f"/api/tasks/{q}", "task_not_found"), (f"/api/claims/{q}", "claim_not_found"),
                       (f"/api/tasks/{q}/audit", "task_not_found"), (f"/api/queues/{q}/next", "unknown_queue")):
        method = "POST" if path.endswith("/next") else "GET"
        status, body = await world.api.call(method, path, token=world.supervisor)
        # (aiohttp's `{name}` segments exclude braces: such a path matches no route at all, also a 404)
        assert status == 404 and body["error"] in (code, "not_found"), (path, body)
    status, body = await world.api.call("PATCH", f"/api/tasks/{q}", token=world.supervisor, body={"note": text})
    assert status == 404 and body["error"] in ("task_not_found", "not_found")
    status, body = await world.api.call("POST", "/api/tasks/write-off", token=world.supervisor,
                                        body={"task_ids": [text[:100]], "reason": text})
    assert status in (404, 422)
    await _tables_intact(world)


async def test_injection_text_typed_into_a_note_is_stored_verbatim(world):
    text = "'; DROP TABLE task_events; -- and \"quotes\""
    status, task = await world.api.call("PATCH", f"/api/tasks/{world.task_id}", token=world.supervisor,
                                        body={"note": text})
    assert status == 200 and task["notes"][-1]["text"] == text
    _, audit = await world.api.call("GET", f"/api/tasks/{world.task_id}/audit", token=world.supervisor)
    assert audit["entries"][-1]["note"] == text
    await _tables_intact(world)


async def test_malformed_json_and_unknown_fields_are_4xx_json(world):
    status, body = await world.api.call("PATCH", f"/api/tasks/{world.task_id}", token=world.owner, raw=b"{nope")
    assert (status, body["error"]) == (400, "invalid_json")
    status, body = await world.api.call("PATCH", f"/api/tasks/{world.task_id}", token=world.owner, raw=b"[1, 2]")
    assert (status, body["error"]) == (400, "invalid_json")
    status, body = await world.api.call("PATCH", f"/api/tasks/{world.task_id}", token=world.owner,
                                        body={"state": "open", "owner": "me"})
    assert (status, body["error"]) == (422, "validation_error")
    assert body["details"] == [{"field": "owner", "problem": "Extra inputs are not permitted"}]
    status, body = await world.api.call("GET", "/api/no-such-route", token=world.owner)
    assert (status, body["error"]) == (404, "not_found")
    status, body = await world.api.call("DELETE", f"/api/tasks/{world.task_id}", token=world.owner)
    assert (status, body["error"]) == (405, "method_not_allowed")


@pytest.mark.parametrize("text", INJECTIONS)
async def test_injection_strings_in_the_kpi_filters_match_nothing_and_harm_nothing(world, text):
    status, body = await world.api.call("GET", "/api/kpis", token=world.other, params={"payer": text})
    assert status == 200, body
    assert (body["claims_adjudicated"], body["claims_submitted"], body["breakdowns"]["payer"]) == (0, 0, [])
    assert body["filters"]["payer"] == text  # the caller's own filter, returned to the caller
    status, body = await world.api.call("GET", "/api/kpis", token=world.other, params={"provider": text})
    assert (status, body["error"], body["details"][0]["field"]) == (400, "invalid_parameter", "provider")
    await _tables_intact(world)


# -- token lifecycle ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "said"), [("expired", "the token expired at "), ("revoked", "the token was revoked")])
async def test_an_expired_or_revoked_token_is_told_why_without_echoing_it(world, kind, said):
    token = getattr(world, kind)
    async with world.api.session.get(world.api.base + "/api/me",
                                      headers={"Authorization": f"Bearer {token}"}) as resp:
        status, body, headers = resp.status, await resp.json(), dict(resp.headers)
    assert (status, body["error"], body["details"]["reason"]) == (401, "invalid_token", kind)
    assert body["message"].startswith(said)
    assert isinstance(body["details"]["token_id"], int)
    assert 'error="invalid_token"' in headers["WWW-Authenticate"]
    assert token not in str(body) and token not in str(headers) and token[4:20] not in str(body)


async def test_an_unknown_token_is_not_told_apart_from_a_malformed_one_beyond_the_reason(world):
    status, body = await world.api.call("GET", "/api/me", token=generate_token())
    assert (status, body["message"], body["details"]) == (401, "the token is unknown or malformed",
                                                          {"reason": "unknown"})


def _refusals(metrics_text: str) -> dict[tuple[str, str, str], float]:
    import re

    out = {}
    for m in re.finditer(r'^denials_api_refusals_total\{([^}]*)\} (\S+)$', metrics_text, re.M):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        out[(labels["route"], labels["reason"], labels["status"])] = float(m.group(2))
    return out


async def _metrics(world) -> str:
    async with world.api.session.get(world.api.base + "/metrics") as resp:
        assert resp.status == 200
        return await resp.text()


async def test_refusals_are_counted_by_route_and_reason_with_no_token_or_id_in_the_labels(world):
    before = _refusals(await _metrics(world))
    await world.api.call("GET", f"/api/tasks/{world.task_id}", token=world.revoked)
    await world.api.call("GET", f"/api/tasks/{world.task_id}", token=world.expired)
    await world.api.call("GET", f"/api/tasks/{world.task_id}", token=world.other)  # another team's task: 403
    await world.api.call("GET", f"/api/claims/{quote(world.claim_id)}")
    text = await _metrics(world)
    after = _refusals(text)
    for key in (("get_task", "revoked", "401"), ("get_task", "expired", "401"), ("get_task", "forbidden", "403"),
                ("get_claim", "missing", "401")):
        assert after.get(key, 0) == before.get(key, 0) + 1, key
    refusal_lines = "\n".join(line for line in text.splitlines() if line.startswith("denials_api_refusals"))
    for secret in (world.revoked, world.expired, world.other, world.task_id, world.claim_id, world.revoked[:10]):
        assert secret not in refusal_lines


# -- scoped reads: KPIs, prevention, the check's outcomes -----------------------------------------------

@dataclass
class Practice:
    api: Api
    payer: str
    auth_claims: list[str]  # CO-197 on 64483: the authorization queue
    coding_claims: list[str]  # CO-4 on 64493: the coding queue
    paid_claim: str
    auth_team: str
    coding_team: str
    supervisor: str


@pytest.fixture(scope="module")
async def practice(stack, worker, db):
    """Real denials through the session's worker: three claims for the authorization queue, three for the coding
    queue and one paid claim, all of one payer of this module's own."""
    import uuid

    from tests.support import events
    from tests.support.kafka import publish_json
    from tests.support.ports import eventually

    run = uuid.uuid4().hex[:8]
    payer = {"id": f"SCOPE-{run}", "name": "Scope plan", "type": "commercial"}
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def at(days: int) -> str:
        return (now - dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")

    auth = [events.line("1", "64483", ["RT"], charge=1200.00, paid=0.00,
                        adjustments=[{"group": "CO", "reason": "197", "amount": 1200.00}])]
    coding = [events.line("1", "64493", [], charge=900.00, paid=0.00,
                          adjustments=[{"group": "CO", "reason": "4", "amount": 900.00}])]
    auth_claims = [f"PC-{run}-a{n}" for n in (1, 2, 3)]
    coding_claims = [f"PC-{run}-c{n}" for n in (1, 2, 3)]
    paid_claim = f"PC-{run}-p"
    remits = [events.remittance(f"rm-{c}", c, payer=payer, lines=auth, occurred_at=at(9 - n),
                                trace_number=f"EFT-{c}") for n, c in enumerate(auth_claims)]
    remits += [events.remittance(f"rm-{c}", c, payer=payer, lines=coding, occurred_at=at(6 - n),
                                 trace_number=f"EFT-{c}") for n, c in enumerate(coding_claims)]
    paid = [events.line("1", "99213", [], charge=200.00, paid=160.00,
                        adjustments=[{"group": "CO", "reason": "45", "amount": 40.00}])]
    remits.append(events.remittance(f"rm-{paid_claim}", paid_claim, payer=payer, lines=paid, occurred_at=at(2),
                                    trace_number=f"EFT-{paid_claim}"))
    await publish_json(stack.bootstrap, "claims.remittance.v1", remits)
    await eventually(lambda: db.fetchval("SELECT count(DISTINCT claim_id) = 7 FROM remittances WHERE payer_id = $1",
                                         payer["id"]), message="the seven remittances applied")
    await eventually(lambda: db.fetchval("SELECT count(*) = 6 FROM appeal_tasks WHERE payer_id = $1", payer["id"]),
                     message="the six tasks opened")
    queues = {r["claim_id"]: r["queue"] for r in await db.fetch(
        "SELECT claim_id, queue FROM appeal_tasks WHERE payer_id = $1", payer["id"])}
    assert {queues[c] for c in auth_claims} == {"authorization"} and {queues[c] for c in coding_claims} == {"coding"}
    async with running_api(stack.direct_database_url) as api:
        yield Practice(api=api, payer=payer["id"], auth_claims=auth_claims, coding_claims=coding_claims,
                       paid_claim=paid_claim, auth_team=await api.token(f"auth-{run}", ["authorization"]),
                       coding_team=await api.token(f"coding-{run}", ["coding"]),
                       supervisor=await api.token(f"lead-{run}", [], supervisor=True))


async def _kpis(p: Practice, token: str, **params: str) -> dict:
    status, body = await p.api.call("GET", "/api/kpis", token=token, params={"payer": p.payer, **params})
    assert status == 200, body
    return body


async def test_a_team_tokens_kpis_cover_only_its_queues_claims_and_a_supervisors_the_practice(practice):
    p = practice
    team, other, lead = [await _kpis(p, t) for t in (p.auth_team, p.coding_team, p.supervisor)]
    assert (team["queues"], other["queues"], lead["queues"]) == (["authorization"], ["coding"], None)
    assert (lead["claims_adjudicated"], lead["denied_claims"], lead["denied_amount"]) == (7, 6, 6300.0)
    assert (team["claims_adjudicated"], team["denied_claims"], team["denied_amount"]) == (3, 3, 3600.0)
    assert (other["claims_adjudicated"], other["denied_claims"], other["denied_amount"]) == (3, 3, 2700.0)
    # the breakdowns and the heat map hold only the team's own causes
    assert [c["key"] for c in team["breakdowns"]["cause"] if c["denied_claims"]] == ["authorization"]
    assert {x["category"] for x in team["payer_cause"]} == {"authorization"}
    assert {x["category"] for x in lead["payer_cause"]} == {"authorization", "coding"}
    # the dashboard's CSV tables come from the same scoped figures
    async with p.api.session.get(p.api.base + "/api/kpis", headers={"Authorization": f"Bearer {p.coding_team}"},
                                 params={"payer": p.payer, "format": "csv", "table": "causes"}) as resp:
        assert resp.status == 200
        rows = (await resp.text()).strip().splitlines()
    assert rows[1:] == ["coding,3,2700.00"], rows


async def test_a_team_tokens_prevention_rules_and_example_claims_are_its_queues_only(practice):
    p = practice
    params = {"payer": p.payer, "min_denials": "1", "examples": "20"}
    found = {}
    for name, token in (("auth", p.auth_team), ("coding", p.coding_team), ("lead", p.supervisor)):
        status, body = await p.api.call("GET", "/api/prevention", token=token, params=params)
        assert status == 200, body
        found[name] = body["rules"]
    examples = {name: {c for r in rules for c in r["example_claims"]} for name, rules in found.items()}
    assert examples["auth"] == set(p.auth_claims)
    assert examples["coding"] == set(p.coding_claims)
    assert examples["lead"] == set(p.auth_claims) | set(p.coding_claims)
    assert [(r["category"], r["denials"], r["amount"]) for r in found["auth"]] == [("authorization", 3, 3600.0)]
    assert [(r["category"], r["denials"]) for r in found["coding"]] == [("coding", 3)]


async def test_a_task_moved_to_another_queue_takes_its_denials_with_it(practice, db):
    """The queue of a denial is its task's: a supervisor who moves a task moves what the teams see."""
    p = practice
    moved = p.coding_claims[0]
    task_id = await db.fetchval("SELECT task_id FROM appeal_tasks WHERE claim_id = $1", moved)
    status, body = await p.api.call("POST", f"/api/tasks/{task_id}/reassign", token=p.supervisor,
                                    body={"queue": "authorization", "assignee": None})
    assert status == 200, body
    try:
        params = {"payer": p.payer, "min_denials": "1", "examples": "20"}
        _, auth = await p.api.call("GET", "/api/prevention", token=p.auth_team, params=params)
        _, coding = await p.api.call("GET", "/api/prevention", token=p.coding_team, params=params)
        assert moved in {c for r in auth["rules"] for c in r["example_claims"]}
        assert moved not in {c for r in coding["rules"] for c in r["example_claims"]}
        assert (await _kpis(p, p.coding_team))["claims_adjudicated"] == 2
    finally:
        status, _ = await p.api.call("POST", f"/api/tasks/{task_id}/reassign", token=p.supervisor,
                                     body={"queue": "coding", "assignee": None})
        assert status == 200


async def test_the_checks_outcomes_count_only_the_claims_of_the_tokens_queues(practice):
    p = practice

    async def checked(token: str) -> int:
        status, body = await p.api.call("GET", "/api/check/outcomes", token=token)
        assert status == 200, body
        return body["passed"]["claims"] + body["flagged"]["claims"]

    before = {t: await checked(t) for t in (p.auth_team, p.coding_team, p.supervisor)}
    status, body = await p.api.call("POST", "/api/check", token=p.supervisor, body={
        "event_id": f"chk-{p.auth_claims[0]}", "schema_version": 1, "kind": "submitted",
        "occurred_at": "2026-03-02T10:00:00Z", "payer": {"id": p.payer, "type": "commercial"},
        "claim": {"claim_id": p.auth_claims[0], "total_charge": 1200.0, "lines": [
            {"line_id": "1", "procedure": {"code": "64483"}, "charge": 1200.0, "service_date": "2026-03-01"}]}})
    assert status == 200, body
    after = {t: await checked(t) for t in (p.auth_team, p.coding_team, p.supervisor)}
    assert after[p.auth_team] == before[p.auth_team] + 1
    assert after[p.coding_team] == before[p.coding_team]
    assert after[p.supervisor] == before[p.supervisor] + 1
    _, scoped = await p.api.call("GET", "/api/check/outcomes", token=p.coding_team)
    assert scoped["queues"] == ["coding"]
    # the check is the billing queue's work: a billing token sees every checked claim, like a supervisor
    billing = await p.api.token(f"billing-{p.payer}", ["billing"])
    assert await checked(billing) == after[p.supervisor]
