"""The API as the worker serves it (service/entrypoints/server.py mounts it), on a task the stream opened: read it,
change it, see the change published by the relay, see the worker's timer score it, and the stream still close it as
won."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import urllib.error
import urllib.request

from service.adapters.tokens import TokenStore
from service.domain.tasks import task_id_for
from tests.support import events
from tests.support.kafka import publish_json, read_json
from tests.support.ports import eventually


def _http(method: str, url: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


async def test_the_worker_serves_the_api_on_tasks_the_stream_opened(stack, worker, db, run_id):
    claim_id = f"PC-{run_id}"
    notice = (dt.date.today() - dt.timedelta(days=5)).isoformat()  # the appeal window is still open
    await publish_json(stack.bootstrap, "claims.remittance.v1", [
        events.remittance(f"rm-{run_id}", claim_id, production_date=notice)])
    task_id = task_id_for(claim_id, "BCBS-TX", "authorization")
    await eventually(lambda: db.fetchval("SELECT 1 FROM appeal_tasks WHERE task_id = $1", task_id),
                     message="the stream to open the task")
    _, token = await TokenStore(db).create(team=f"auth-{run_id}", queues=["authorization"], user="ann")
    base = f"http://127.0.0.1:{worker.port}"

    status, task = await asyncio.to_thread(_http, "GET", f"{base}/api/tasks/{task_id}", token)
    assert status == 200, task
    assert (task["state"], task["queue"], task["category"], task["amount_at_risk"]) == (
        "open", "authorization", "authorization", 1200.0)
    assert [e["event_id"] for e in task["timeline"]] == [f"rm-{run_id}"]
    assert task["checklist"] and task["deadline"] > dt.date.today().isoformat()

    # the worker's leader-only timer scores the new task within one pass
    parts = await eventually(
        lambda: db.fetchval("SELECT priority_parts::text FROM appeal_tasks WHERE task_id = $1 "
                            "AND priority_parts ? 'as_of'", task_id),
        timeout=60, interval=0.5, message="the worker's timer to score the task")
    assert json.loads(parts)["clock"] == "deadline"

    status, task = await asyncio.to_thread(_http, "PATCH", f"{base}/api/tasks/{task_id}", token,
                                           {"state": "in_progress", "note": "requesting retro-auth"})
    assert status == 200 and task["state"] == "in_progress" and task["priority"] > 0

    async def published() -> list[dict]:
        return [r for r in await read_json(stack.bootstrap, "appeals.tasks.v1")
                if r["task"]["task_id"] == task_id and r["actor"] == f"auth-{run_id}/ann"]

    [event] = await eventually(published, timeout=60, message="the relay to publish the API change")
    assert event["change"] == "updated" and event["task"]["state"] == "in_progress"
    assert "requesting retro-auth" not in json.dumps(event)

    # a later remittance paying the line: the stream still closes the task the API moved, as won
    paid = events.remittance(f"rm-{run_id}-paid", claim_id, production_date=notice,
                             occurred_at="2026-03-20T10:00:00Z", trace_number=f"EFT-{run_id}-paid",
                             lines=[events.line("1", "64483", ["RT"], charge=1200.00, paid=1015.50,
                                                adjustments=[{"group": "CO", "reason": "45", "amount": 184.50}])])
    await publish_json(stack.bootstrap, "claims.remittance.v1", [paid])
    await eventually(lambda: db.fetchval("SELECT state = 'won' FROM appeal_tasks WHERE task_id = $1", task_id),
                     timeout=60, message="the stream to close the task as won")
    status, audit = await asyncio.to_thread(_http, "GET", f"{base}/api/tasks/{task_id}/audit", token)
    assert [(e["actor"], e["to_state"]) for e in audit["entries"]] == [
        ("system", "open"), (f"auth-{run_id}/ann", "in_progress"), ("system", "won")]
