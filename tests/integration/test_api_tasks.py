"""The task lifecycle through the API, against the session's shared database (only our own rows are asserted on):
filters, one task with its timeline, state/checklist/notes changes with audit and outbox rows in one transaction
behind the claim lock, reassign, bulk write-off, the claim view, the audit per task and per user, OpenAPI."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from dataclasses import dataclass

import pytest

from service.entrypoints.api.routes import ROUTES
from tests.integration.test_api_support import TODAY, Api, running_api, seed_task


@dataclass
class Team:
    api: Api
    run: str
    payer: str
    ann: str  # team-a/ann: appeals + coding
    amy: str  # team-a/amy: appeals
    bob: str  # team-b/bob: coding
    sup: str  # supervisor


@pytest.fixture(scope="module")
async def team(stack):
    run = uuid.uuid4().hex[:8]
    async with running_api(stack.direct_database_url) as api:
        yield Team(api=api, run=run, payer=f"PAYER-{run}",
                   ann=await api.token(f"team-a-{run}", ["appeals", "coding"], user="ann"),
                   amy=await api.token(f"team-a-{run}", ["appeals"], user="amy"),
                   bob=await api.token(f"team-b-{run}", ["coding"], user="bob"),
                   sup=await api.token(f"sup-{run}", [], supervisor=True, user="sue"))


async def _task(t: Team, suffix: str, **kw) -> tuple[str, str]:
    claim_id = f"PC-{t.run}-{suffix}"
    kw.setdefault("payer_id", t.payer)
    kw.setdefault("deadline", TODAY + dt.timedelta(days=30))
    return await seed_task(t.api.pool, claim_id, **kw), claim_id


async def _outbox(t: Team, claim_id: str) -> list[dict]:
    rows = await t.api.pool.fetch(
        "SELECT topic, key, payload, causation_id FROM outbox WHERE key = $1 ORDER BY id", claim_id.encode())
    return [{"topic": r["topic"], "causation_id": r["causation_id"], **json.loads(r["payload"])} for r in rows]


async def _audit_rows(t: Team, task_id: str) -> list[dict]:
    rows = await t.api.pool.fetch("SELECT * FROM task_events WHERE task_id = $1 ORDER BY id", task_id)
    return [dict(r) for r in rows]


async def test_filters_select_exactly_the_matching_tasks(team):
    t = team
    a, _ = await _task(t, "f1", queue="appeals", category="coding", cpt="64483", amount="900.00",
                       deadline=TODAY + dt.timedelta(days=5))
    b, claim_b = await _task(t, "f2", queue="coding", category="bundling", cpt="77003", amount="300.00",
                             deadline=TODAY + dt.timedelta(days=50), filing_deadline=TODAY + dt.timedelta(days=8))
    c, _ = await _task(t, "f3", queue="appeals", category="documentation", state="submitted", cpt="62323",
                       amount="2500.00", deadline=TODAY + dt.timedelta(days=80))

    async def ids(token: str, **params) -> list[str]:
        status, body = await t.api.call("GET", "/api/tasks", token=token, params={"payer": t.payer, **params})
        assert status == 200, body
        return [x["id"] for x in body["tasks"]]

    assert set(await ids(t.sup)) == {a, b, c}
    assert set(await ids(t.sup, queue="appeals")) == {a, c}
    assert await ids(t.sup, state="submitted") == [c]
    assert set(await ids(t.sup, state="open,submitted")) == {a, b, c}
    assert await ids(t.sup, category="bundling") == [b]
    assert await ids(t.sup, cpt="77003") == [b]
    assert await ids(t.sup, claim_id=claim_b) == [b]
    before = (TODAY + dt.timedelta(days=10)).isoformat()
    assert set(await ids(t.sup, deadline_before=before)) == {a, b}  # b through its filing deadline
    assert await ids(t.sup, sort="amount_at_risk") == [c, a, b]
    assert await ids(t.sup, sort="deadline") == [a, b, c]
    # scopes: bob sees coding only, amy appeals only
    assert await ids(t.bob) == [b]
    assert set(await ids(t.amy)) == {a, c}
    status, body = await t.api.call("GET", "/api/tasks", token=t.bob, params={"queue": "appeals"})
    assert (status, body["error"]) == (403, "forbidden")
    # paging
    status, page = await t.api.call("GET", "/api/tasks", token=t.sup,
                                    params={"payer": t.payer, "limit": "2", "sort": "amount_at_risk"})
    assert (page["count"], page["next_offset"]) == (2, 2)
    status, rest = await t.api.call("GET", "/api/tasks", token=t.sup,
                                    params={"payer": t.payer, "limit": "2", "offset": "2", "sort": "amount_at_risk"})
    assert [x["id"] for x in rest["tasks"]] == [b] and rest["next_offset"] is None


async def test_a_task_carries_its_facts_clocks_checklist_and_money_with_two_decimals(team):
    t = team
    task_id, claim_id = await _task(t, "facts", amount="1200.50", deadline=TODAY + dt.timedelta(days=12),
                                    filing_deadline=TODAY + dt.timedelta(days=60))
    status, text = await t.api.text("GET", f"/api/tasks/{task_id}", token=t.ann)
    assert status == 200
    assert '"amount_at_risk":1200.50' in text and '"total_charge":1200.50' in text  # JSON numbers, 2 decimals
    body = json.loads(text)
    for key in ("id", "state", "queue", "category", "action", "amount_at_risk", "deadline", "filing_deadline",
                "priority", "priority_parts", "checklist", "lines", "notes", "assignee", "lease_expires_at",
                "deadline_basis", "filing_deadline_basis", "claim", "timeline", "version"):
        assert key in body, key
    assert body["claim_id"] == claim_id and body["claim"]["claim_id"] == claim_id
    assert body["deadline"] == (TODAY + dt.timedelta(days=12)).isoformat()
    assert body["deadline_basis"].startswith("commercial provider appeal")
    assert body["filing_deadline_basis"]  # derived or said to be unrecorded, never missing
    assert body["checklist"] == [{"id": "records", "text": "Attach the procedure note", "done": False},
                                 {"id": "letter", "text": "Write the appeal letter", "done": False}]
    assert body["lines"][0]["procedure_code"] == "64483" and body["lines"][0]["reasons"] == ["CO-197"]
    assert [e["kind"] for e in body["timeline"]] == ["remittance"]
    assert body["timeline"][0]["summary"]["denied_amount"] == 1200.5


async def test_a_state_change_writes_the_task_an_audit_row_and_an_outbox_event(team):
    t = team
    task_id, claim_id = await _task(t, "life")
    status, body = await t.api.call("PATCH", f"/api/tasks/{task_id}", token=t.ann,
                                    body={"state": "in_progress", "note": "gathering records", "version": 1})
    assert status == 200, body
    assert (body["state"], body["version"]) == ("in_progress", 2)
    assert body["notes"][0]["author"] == f"team-a-{t.run}/ann" and body["notes"][0]["text"] == "gathering records"
    audit = await _audit_rows(t, task_id)
    assert [(a["actor"], a["change"], a["from_state"], a["to_state"], a["note"]) for a in audit] == [
        (f"team-a-{t.run}/ann", "state", "open", "in_progress", "gathering records")]
    events = await _outbox(t, claim_id)
    assert [(e["topic"], e["change"], e["actor"], e["task"]["state"]) for e in events] == [
        ("appeals.tasks.v1", "updated", f"team-a-{t.run}/ann", "in_progress")]
    assert events[0]["causation_id"] == audit[0]["causation_id"]
    assert "gathering records" not in json.dumps(events)  # notes stay out of the event stream

    status, body = await t.api.call("PATCH", f"/api/tasks/{task_id}", token=t.ann, body={"state": "lost"})
    assert (status, body["error"], body["details"]) == (409, "invalid_transition",
                                                        {"from": "in_progress", "to": "lost"})
    status, body = await t.api.call("PATCH", f"/api/tasks/{task_id}", token=t.ann, body={"state": "expired"})
    assert status == 200 and body["state"] == "expired" and body["closed_at"]
    status, body = await t.api.call("PATCH", f"/api/tasks/{task_id}", token=t.ann, body={"state": "open"})
    assert (status, body["error"]) == (409, "invalid_transition")
    assert body["details"] == {"from": "expired", "to": "open"}
    closed = (await _outbox(t, claim_id))[-1]
    assert closed["change"] == "closed" and closed["task"]["state"] == "expired"


async def test_refusals_change_nothing(team):
    t = team
    task_id, claim_id = await _task(t, "refuse")
    cases = [
        ({"state": "written_off"}, 422, "reason_required"),
        ({"checklist": [{"id": "nope", "done": True}]}, 422, "unknown_checklist_item"),
        ({"note": "x", "version": 7}, 409, "version_conflict"),
        ({}, 422, "empty_update"),
        ({"state": "lost"}, 409, "invalid_transition"),
        ({"recovered_amount": 5}, 422, "recovered_amount_needs_won"),
        ({"checklist": [{"id": "records", "done": True}], "state": "lost"}, 409, "invalid_transition"),
    ]
    for body, status, code in cases:
        got, answer = await t.api.call("PATCH", f"/api/tasks/{task_id}", token=t.ann, body=body)
        assert (got, answer["error"]) == (status, code), (body, answer)
    _, task = await t.api.call("GET", f"/api/tasks/{task_id}", token=t.ann)
    assert task["version"] == 1 and not any(i["done"] for i in task["checklist"])  # the mixed change rolled back
    assert await _audit_rows(t, task_id) == [] and await _outbox(t, claim_id) == []


async def test_checklist_marks_and_a_win_with_its_recovered_amount(team):
    t = team
    task_id, claim_id = await _task(t, "win", state="submitted")
    status, body = await t.api.call("PATCH", f"/api/tasks/{task_id}", token=t.amy, body={
        "checklist": [{"id": "records", "done": True}, {"id": "letter", "done": True}]})
    assert status == 200 and all(i["done"] for i in body["checklist"])
    status, body = await t.api.call("PATCH", f"/api/tasks/{task_id}", token=t.amy,
                                    body={"state": "won", "recovered_amount": 812.4})
    assert status == 200 and body["state"] == "won" and body["recovered_amount"] == 812.4
    _, text = await t.api.text("GET", f"/api/tasks/{task_id}", token=t.amy)
    assert '"recovered_amount":812.40' in text
    changes = [(a["change"], a["to_state"]) for a in await _audit_rows(t, task_id)]
    assert changes == [("checklist", "submitted"), ("checklist", "submitted"), ("closed", "won")]


async def test_the_api_waits_for_the_claim_lock_the_stream_holds(team):
    """LOCKING RULE: a writer holding the claim row (as the stream does mid-batch) makes the API wait."""
    t = team
    task_id, claim_id = await _task(t, "lock")
    async with t.api.pool.acquire() as holder:
        tx = holder.transaction()
        await tx.start()
        await holder.execute("SELECT 1 FROM claims WHERE claim_id = $1 FOR UPDATE", claim_id)
        patch = asyncio.create_task(t.api.call("PATCH", f"/api/tasks/{task_id}", token=t.ann,
                                               body={"note": "while locked"}))
        done, _ = await asyncio.wait({patch}, timeout=1.0)
        assert not done, "the API wrote a task whose claim row another transaction holds"
        # the holder (like the stream) reads the task before its own write: still unchanged
        assert await holder.fetchval("SELECT version FROM appeal_tasks WHERE task_id = $1", task_id) == 1
        await tx.commit()
    status, body = await asyncio.wait_for(patch, timeout=10)
    assert status == 200 and body["notes"][0]["text"] == "while locked"


async def test_a_lease_keeps_others_out_until_released_and_a_supervisor_may_override(team):
    t = team
    task_id, claim_id = await _task(t, "held")
    status, body = await t.api.call("POST", f"/api/tasks/{task_id}/reassign", token=t.ann,
                                    body={"assignee": f"team-a-{t.run}/ann"})
    assert status == 200 and body["leased"] and body["assignee"] == f"team-a-{t.run}/ann"
    status, body = await t.api.call("PATCH", f"/api/tasks/{task_id}", token=t.amy, body={"note": "mine now"})
    assert (status, body["error"]) == (409, "leased_to_another")
    status, body = await t.api.call("PATCH", f"/api/tasks/{task_id}", token=t.sup, body={"note": "supervisor note"})
    assert status == 200
    status, body = await t.api.call("POST", f"/api/tasks/{task_id}/reassign", token=t.ann, body={"assignee": None})
    assert status == 200 and body["assignee"] is None and not body["leased"]
    status, body = await t.api.call("PATCH", f"/api/tasks/{task_id}", token=t.amy, body={"note": "mine now"})
    assert status == 200


async def test_reassigning_to_another_queue_needs_both_queues(team):
    t = team
    task_id, claim_id = await _task(t, "move", queue="appeals")
    status, body = await t.api.call("POST", f"/api/tasks/{task_id}/reassign", token=t.amy, body={"queue": "coding"})
    assert (status, body["error"]) == (403, "forbidden")
    status, body = await t.api.call("POST", f"/api/tasks/{task_id}/reassign", token=t.ann,
                                    body={"queue": "coding", "assignee": f"team-b-{t.run}/bob",
                                          "note": "coding error, not an appeal"})
    assert status == 200 and (body["queue"], body["assignee"]) == ("coding", f"team-b-{t.run}/bob")
    status, body = await t.api.call("GET", f"/api/tasks/{task_id}", token=t.bob)
    assert status == 200
    status, body = await t.api.call("GET", f"/api/tasks/{task_id}", token=t.amy)
    assert status == 403
    [row] = await _audit_rows(t, task_id)
    assert row["change"] == "reassigned"
    assert row["note"] == (f"queue appeals -> coding; assignee none -> team-b-{t.run}/bob; "
                           "note: coding error, not an appeal")
    status, body = await t.api.call("POST", f"/api/tasks/{task_id}/reassign", token=t.bob, body={})
    assert (status, body["error"]) == (422, "empty_update")


async def test_bulk_write_off_is_all_or_nothing(team):
    t = team
    ids = [(await _task(t, f"wo{i}"))[0] for i in range(3)]
    won, _ = await _task(t, "wo-won", state="won")
    hidden, _ = await _task(t, "wo-hidden", queue="coding", category="bundling")
    reason = "balance under the small-balance threshold"

    status, body = await t.api.call("POST", "/api/tasks/write-off", token=t.amy,
                                    body={"task_ids": [*ids, won], "reason": reason})
    assert (status, body["error"]) == (409, "invalid_transition")
    assert body["details"] == {"tasks": [{"task_id": won, "state": "won"}]}
    status, body = await t.api.call("POST", "/api/tasks/write-off", token=t.amy,
                                    body={"task_ids": [*ids, hidden], "reason": reason})
    assert (status, body["error"], body["details"]) == (403, "forbidden", {"task_ids": [hidden]})
    status, body = await t.api.call("POST", "/api/tasks/write-off", token=t.amy,
                                    body={"task_ids": [*ids, "no-such-task"], "reason": reason})
    assert (status, body["error"], body["details"]) == (404, "task_not_found", {"task_ids": ["no-such-task"]})
    status, body = await t.api.call("POST", "/api/tasks/write-off", token=t.amy, body={"task_ids": ids, "reason": ""})
    assert status == 422
    for task_id in ids:  # nothing changed by the refusals
        assert await _audit_rows(t, task_id) == []

    status, body = await t.api.call("POST", "/api/tasks/write-off", token=t.amy,
                                    body={"task_ids": ids, "reason": reason})
    assert status == 200, body
    assert [(x["id"], x["state"]) for x in body["tasks"]] == [(i, "written_off") for i in ids]
    for task_id in ids:
        [row] = await _audit_rows(t, task_id)
        assert (row["change"], row["from_state"], row["to_state"], row["note"]) == (
            "closed", "open", "written_off", reason)
    causations = {(await _audit_rows(t, i))[0]["causation_id"] for i in ids}
    assert len(causations) == 1  # one change set
    events = await t.api.pool.fetch("SELECT event_id FROM outbox WHERE causation_id = $1", causations.pop())
    assert len(events) == 3 and len({e["event_id"] for e in events}) == 3


async def test_the_claim_view_shows_facts_timeline_and_only_visible_tasks(team):
    t = team
    claim_id = f"PC-{t.run}-claim"
    appeals = await seed_task(t.api.pool, claim_id, queue="appeals", category="coding", payer_id=t.payer,
                              deadline=TODAY + dt.timedelta(days=9))
    coding = await seed_task(t.api.pool, claim_id, queue="coding", category="bundling", payer_id=t.payer,
                             deadline=TODAY + dt.timedelta(days=9))
    status, body = await t.api.call("GET", f"/api/claims/{claim_id}", token=t.amy)
    assert status == 200
    assert body["claim"]["claim_id"] == claim_id and body["claim"]["total_charge"] == 1200.0
    assert [x["id"] for x in body["tasks"]] == [appeals]
    assert body["submission"]["lines"][0]["code"] == "64483"
    assert "patient_key" not in body["submission"] and f"MRN-{claim_id}" not in json.dumps(body)
    assert {e["event_id"] for e in body["timeline"]} == {f"rm-{claim_id}-coding", f"rm-{claim_id}-bundling"}
    _, body = await t.api.call("GET", f"/api/claims/{claim_id}", token=t.sup)
    assert {x["id"] for x in body["tasks"]} == {appeals, coding}
    status, body = await t.api.call("GET", f"/api/claims/PC-{t.run}-none", token=t.sup)
    assert (status, body["error"]) == (404, "claim_not_found")


async def test_the_audit_is_queryable_per_task_and_per_user(team):
    t = team
    task_id, _ = await _task(t, "audit")
    await t.api.call("PATCH", f"/api/tasks/{task_id}", token=t.amy, body={"note": "first look"})
    await t.api.call("PATCH", f"/api/tasks/{task_id}", token=t.ann, body={"state": "in_progress"})
    status, body = await t.api.call("GET", f"/api/tasks/{task_id}/audit", token=t.amy)
    assert status == 200
    assert [(e["actor"], e["change"]) for e in body["entries"]] == [
        (f"team-a-{t.run}/amy", "note"), (f"team-a-{t.run}/ann", "state")]
    status, body = await t.api.call("GET", "/api/audit", token=t.sup, params={"actor": f"team-a-{t.run}/amy"})
    assert status == 200 and body["entries"] and {e["actor"] for e in body["entries"]} == {f"team-a-{t.run}/amy"}
    assert task_id in {e["task_id"] for e in body["entries"]}
    since = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).isoformat()
    _, later = await t.api.call("GET", "/api/audit", token=t.sup,
                                params={"actor": f"team-a-{t.run}/amy", "since": since})
    assert later["entries"] == []
    # bob (coding) does not see rows on appeals tasks, even amy's
    _, body = await t.api.call("GET", "/api/audit", token=t.bob, params={"actor": f"team-a-{t.run}/amy"})
    assert all(e["task_id"] != task_id for e in body["entries"])


async def test_me_and_queue_counts(team):
    t = team
    _, me = await t.api.call("GET", "/api/me", token=t.ann)
    assert me == {"team": f"team-a-{t.run}", "user": "ann", "actor": f"team-a-{t.run}/ann", "supervisor": False,
                  "queues": ["appeals", "coding"]}
    status, body = await t.api.call("GET", "/api/queues", token=t.ann)
    assert status == 200 and [q["name"] for q in body["queues"]] == ["appeals", "coding"]
    assert all(q["open"] >= 1 for q in body["queues"])


async def test_the_openapi_document_matches_the_registered_routes_both_ways(team):
    t = team
    status, doc = await t.api.call("GET", "/api/openapi.json", token=t.bob)
    assert status == 200 and doc["openapi"].startswith("3.")
    documented = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    app_routes = set()
    from service.bootstrap import bootstrap
    from service.entrypoints.api import create_api_app

    app = create_api_app(bootstrap(t.api.settings))
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path.startswith("/api") and route.name != "api_docs":  # the reference page is HTML, not an API route
            app_routes.add((route.method, path))
    assert documented == app_routes
    assert documented == {(r.method, r.path) for r in ROUTES}
    for path, ops in doc["paths"].items():
        for op in ops.values():
            public = op.get("security") == []  # the document itself: no token, so no 401
            assert ("401" in op["responses"]) != public and "413" in op["responses"]
            for param in op["parameters"]:
                if param["in"] == "path":
                    assert "{" + param["name"] + "}" in path
    assert set(doc["components"]["schemas"]) >= {"TaskOut", "ErrorOut", "TaskPatch", "WriteOffIn"}
