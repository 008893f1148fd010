"""`POST /api/queues/{queue}/next`: many parallel callers never get one task twice; the highest priority goes
first; a claim locked by another writer is skipped, not waited for; an expired lease returns the task to the queue.

Leasing takes whatever is in a queue, so these tests run on a private database on the test server: they must not
lease (and so change) other tests' tasks in the shared one."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt

import pytest

from tests.integration.test_api_support import TODAY, private_database, running_api, seed_task
from tests.support.ports import eventually


@pytest.fixture(scope="module")
async def private_url(stack):
    async with private_database(stack.direct_database_url) as url:
        yield url


@pytest.fixture(scope="module")
async def api(private_url):
    async with running_api(private_url, api_lease_s=600, db_pool_max=10) as api:
        yield api


async def test_many_parallel_callers_never_get_the_same_task(api):
    queue = "appeals"
    ids: list[str] = []
    for i in range(30):  # one task per claim
        ids.append(await seed_task(api.pool, f"PC-par-{i}", queue=queue, priority=float(i % 7),
                                   deadline=TODAY + dt.timedelta(days=20)))
    for i in range(5):  # two tasks on one claim: the claim lock is shared
        for category in ("coding", "bundling"):
            ids.append(await seed_task(api.pool, f"PC-par-pair-{i}", queue=queue, category=category,
                                       priority=3.0, deadline=TODAY + dt.timedelta(days=20)))
    tokens = [await api.token(f"team-{n % 2}", [queue], user=f"user{n}") for n in range(8)]

    async def take(n: int) -> tuple[int, str | None]:
        status, body = await api.call("POST", f"/api/queues/{queue}/next", token=tokens[n % len(tokens)])
        return status, body["id"] if body else None

    results = await asyncio.gather(*(take(n) for n in range(60)))
    assert {status for status, _ in results} <= {200, 204}
    handed = [tid for status, tid in results if status == 200]
    assert len(handed) == len(set(handed)), "a task was handed out twice"
    assert len(handed) >= 20  # most callers got one; a few may have found the rest momentarily locked

    drained = []
    while True:  # what the parallel round left (tasks whose claim another caller held) comes out now
        status, tid = await take(0)
        if status == 204:
            break
        drained.append(tid)
    everything = handed + drained
    assert len(everything) == len(set(everything)) and set(everything) == set(ids)

    rows = await api.pool.fetch(
        """SELECT t.task_id, t.assignee, t.lease_expires_at > now() AS live,
                  (SELECT count(*) FROM task_events e WHERE e.task_id = t.task_id AND e.change = 'leased') AS leases,
                  (SELECT count(*) FROM outbox o WHERE o.causation_id = (
                      SELECT causation_id FROM task_events e WHERE e.task_id = t.task_id LIMIT 1)) AS events
           FROM appeal_tasks t WHERE t.task_id = ANY($1::text[])""", ids)
    assert all(r["assignee"] and r["live"] and r["leases"] == 1 and r["events"] == 1 for r in rows)
    holders = collections.Counter(r["assignee"] for r in rows)
    assert sum(holders.values()) == len(ids)


async def test_the_highest_priority_free_open_task_goes_first(api):
    queue = "contracts"
    by_priority = {}
    for i, p in enumerate((5.0, 50.0, 20.0, 0.0, 35.0)):
        by_priority[p] = await seed_task(api.pool, f"PC-prio-{i}", queue=queue, priority=p,
                                         deadline=TODAY + dt.timedelta(days=40))
    busy = await seed_task(api.pool, "PC-prio-busy", queue=queue, state="in_progress", priority=99.0)
    held = await seed_task(api.pool, "PC-prio-held", queue=queue, priority=98.0)
    await api.pool.execute("UPDATE appeal_tasks SET assignee = 'x/y', lease_expires_at = now() + interval '1 hour' "
                           "WHERE task_id = $1", held)
    token = await api.token("contracts-team", [queue], user="cy")

    # a writer (the stream, mid-batch) holds the top task's claim: `next` skips it at once instead of waiting
    async with api.pool.acquire() as holder, holder.transaction():
        await holder.execute("SELECT 1 FROM claims WHERE claim_id = 'PC-prio-1' FOR UPDATE")
        status, body = await asyncio.wait_for(api.call("POST", f"/api/queues/{queue}/next", token=token), 5)
        assert (status, body["id"]) == (200, by_priority[35.0])
    order = []
    while True:
        status, body = await api.call("POST", f"/api/queues/{queue}/next", token=token)
        if status == 204:
            break
        assert body["state"] == "open" and body["queue"] == queue and body["leased"]
        for key in ("id", "state", "queue", "category", "action", "amount_at_risk", "deadline", "filing_deadline",
                    "priority", "checklist", "lines"):
            assert key in body
        order.append(body["id"])
    assert order == [by_priority[p] for p in (50.0, 20.0, 5.0, 0.0)]
    assert busy not in order and held not in order


async def test_an_expired_lease_returns_the_task_to_the_queue(private_url):
    async with running_api(private_url, api_lease_s=1.0) as short:
        queue = "credentialing"
        task_id = await seed_task(short.pool, "PC-expire-1", queue=queue, priority=1.0)
        ann = await short.token("cred", [queue], user="ann")
        bob = await short.token("cred", [queue], user="bob")
        status, body = await short.call("POST", f"/api/queues/{queue}/next", token=ann)
        assert (status, body["id"], body["assignee"]) == (200, task_id, "cred/ann")
        status, _ = await short.call("POST", f"/api/queues/{queue}/next", token=bob)
        assert status == 204  # held by ann

        async def bob_gets_it():
            status, body = await short.call("POST", f"/api/queues/{queue}/next", token=bob)
            return body if status == 200 else None

        body = await eventually(bob_gets_it, timeout=15, interval=0.2, message="the lease to expire")
        assert (body["id"], body["assignee"]) == (task_id, "cred/bob")
        status, body = await short.call("PATCH", f"/api/tasks/{task_id}", token=ann, body={"note": "late"})
        assert (status, body["error"]) == (409, "leased_to_another")
        actors = [r["actor"] for r in await short.pool.fetch(
            "SELECT actor FROM task_events WHERE task_id = $1 AND change = 'leased' ORDER BY id", task_id)]
        assert actors == ["cred/ann", "cred/bob"]
