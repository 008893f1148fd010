"""Every API route, against the session's shared database: no token 401 (the OpenAPI document excepted: it is
public and holds no data), a wrong (or revoked) token 401, another
team's queue or task 403, oversized body 413, injection strings in every text filter harmless. A case table names
each route; a test fails when a route of the table has no case."""

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
        yield World(api=api, run=run, owner=await api.token(f"team-a-{run}", ["appeals"], user="ann"),
                    other=await api.token(f"team-b-{run}", ["coding"], user="bob"),
                    supervisor=await api.token(f"sup-{run}", [], supervisor=True), revoked=revoked,
                    task_id=task_id, claim_id=claim_id, payer=payer)


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
    # the web page's reads (issue 8)
    "worklist": Case("GET", "/api/worklist?queue=appeals"),
    "worklist_facets": Case("GET", "/api/worklist/facets", forbidden=False),
    "task_decisions": Case("GET", "/api/tasks/{task_id}/decisions"),
    "task_letter": Case("GET", "/api/tasks/{task_id}/letter"),
    # revenue follow-through (issue 9); added with issue 10 so the every-route check holds
    "prevention": Case("GET", "/api/prevention", forbidden=False),
    "recoupments": Case("GET", "/api/recoupments"),
    # KPIs (issue 10): practice-wide, any valid token
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
@pytest.mark.parametrize("kind", ["unknown", "malformed", "revoked", "not_bearer"])
async def test_a_wrong_token_is_401(world, name, kind):
    case = CASES[name]
    token = {"unknown": generate_token(), "malformed": "dnl_' OR '1'='1", "revoked": world.revoked,
             "not_bearer": None}[kind]
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
