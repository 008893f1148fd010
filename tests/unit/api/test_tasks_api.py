"""The work-queue use cases over an in-memory store: scopes, leases, all-or-nothing change sets, audit rows and
outbox records built together (the service layer; no database)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal

import pytest

from service.domain.model import ChecklistItem
from service.domain.tasks import Task
from service.service_layer import tasks_api as uc
from service.service_layer.tasks_api import ChecklistMark, Scope, TaskUpdate

NOW = dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.UTC)
TTL = dt.timedelta(minutes=15)
ANN = Scope(team="east", user="ann", queues=frozenset({"appeals"}))
BOB = Scope(team="east", user="bob", queues=frozenset({"appeals"}))
CODER = Scope(team="west", user="cy", queues=frozenset({"coding"}))
BOSS = Scope(team="leads", queues=frozenset(), supervisor=True)


def make(task_id: str, *, queue: str = "appeals", state: str = "open", priority: float = 1.0) -> Task:
    t = Task(task_id=task_id, claim_id=f"PC-{task_id}", payer_id="P", payer_type="commercial", category="coding",
             action="appeal", queue=queue, state=state, appealable=True, amount_at_risk=Decimal("100.00"),
             recoverability=0.5, explanation="x", rule_ids=("r",), opened_at=NOW, last_event_at=NOW,
             source_event_id="rm", deadline=dt.date(2026, 12, 20),
             checklist=(ChecklistItem("letter", "Write the letter"),))
    t.priority = priority
    return t


class FakeWriter:
    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.staged: dict[str, Task] = {}

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.staged = {}

    async def lock_tasks(self, ids):
        self.store.locked.append(sorted({self.store.tasks[i].claim_id for i in ids if i in self.store.tasks}))
        return {i: copy.deepcopy(self.store.tasks[i]) for i in ids if i in self.store.tasks}

    async def lease_next(self, queue, *, now):
        free = [t for t in self.store.tasks.values()
                if t.queue == queue and t.state == "open" and not t.lease_active(now)]
        return copy.deepcopy(max(free, key=lambda t: t.priority)) if free else None

    async def save(self, tasks, audit, outbox):
        self.staged = {t.task_id: t for t in tasks}
        self.pending = (list(audit), list(outbox))

    async def save_priorities(self, tasks):
        self.staged = {t.task_id: t for t in tasks}
        self.pending = ([], [])

    async def commit(self):
        self.store.tasks.update(self.staged)
        if self.staged:
            self.store.audit += self.pending[0]
            self.store.outbox += self.pending[1]


class FakeStore:
    def __init__(self, *tasks: Task) -> None:
        self.tasks = {t.task_id: t for t in tasks}
        self.audit: list = []
        self.outbox: list = []
        self.locked: list = []

    def writer(self):
        return FakeWriter(self)


async def test_a_change_set_is_audited_and_published_together_after_locking_the_claim():
    store = FakeStore(make("t1"))
    task = await uc.update_task(store, ANN, "t1", TaskUpdate(state="in_progress", note="on it",
                                                             checklist=(ChecklistMark("letter", True),)),
                                now=NOW, lease_ttl=TTL)
    assert task.state == "in_progress" and task.version == 2 and store.locked == [["PC-t1"]]
    assert [(a.actor, a.change, a.from_state, a.to_state) for a in store.audit] == [
        ("east/ann", "checklist", "open", "open"), ("east/ann", "state", "open", "in_progress")]
    assert {a.causation_id for a in store.audit} == {store.outbox[0].causation_id}
    payloads = [json.loads(r.payload) for r in store.outbox]
    assert [(p["change"], p["actor"], p["task"]["state"]) for p in payloads] == [
        ("updated", "east/ann", "open"), ("updated", "east/ann", "in_progress")]
    assert all(r.topic == "appeals.tasks.v1" and r.key == b"PC-t1" for r in store.outbox)


async def test_scope_and_lease_refusals_raise_and_store_nothing():
    store = FakeStore(make("t1"), make("t2", queue="coding"))
    with pytest.raises(uc.Forbidden):
        await uc.update_task(store, CODER, "t1", TaskUpdate(note="x"), now=NOW, lease_ttl=TTL)
    with pytest.raises(uc.NotFound):
        await uc.update_task(store, ANN, "nope", TaskUpdate(note="x"), now=NOW, lease_ttl=TTL)
    leased = await uc.lease_next(store, ANN, "appeals", now=NOW, lease_ttl=TTL)
    assert leased.task_id == "t1" and store.tasks["t1"].assignee == "east/ann"
    with pytest.raises(uc.Conflict) as err:
        await uc.update_task(store, BOB, "t1", TaskUpdate(note="mine"), now=NOW, lease_ttl=TTL)
    assert err.value.code == "leased_to_another"
    assert await uc.lease_next(store, BOB, "appeals", now=NOW, lease_ttl=TTL) is None
    with pytest.raises(uc.Forbidden):
        await uc.lease_next(store, CODER, "appeals", now=NOW, lease_ttl=TTL)
    await uc.update_task(store, BOSS, "t1", TaskUpdate(note="override"), now=NOW, lease_ttl=TTL)
    assert [a.change for a in store.audit] == ["leased", "note"]


async def test_the_holders_change_renews_the_lease():
    store = FakeStore(make("t1"))
    await uc.lease_next(store, ANN, "appeals", now=NOW, lease_ttl=TTL)
    later = NOW + dt.timedelta(minutes=10)
    await uc.update_task(store, ANN, "t1", TaskUpdate(note="still here"), now=later, lease_ttl=TTL)
    assert store.tasks["t1"].lease_expires_at == later + TTL


async def test_a_bulk_write_off_refuses_all_when_one_cannot_go():
    store = FakeStore(make("a"), make("b"), make("won", state="won"))
    with pytest.raises(uc.Conflict) as err:
        await uc.write_off(store, ANN, ["a", "b", "won"], "small balance", now=NOW)
    assert err.value.details == {"tasks": [{"task_id": "won", "state": "won"}]}
    assert store.tasks["a"].state == "open" and store.audit == []
    done = await uc.write_off(store, ANN, ["a", "b"], "small balance", now=NOW)
    assert [t.state for t in done] == ["written_off", "written_off"]
    assert [(a.task_id, a.note) for a in store.audit] == [("a", "small balance"), ("b", "small balance")]
    assert len({r.event_id for r in store.outbox}) == 2


async def test_expiry_is_deterministic_and_happens_once():
    store = FakeStore(make("old"))
    today = dt.date(2027, 1, 1)
    expired = await uc.expire_tasks(store.writer(), ["old"], today=today, now=NOW)
    assert [t.state for t in expired] == ["expired"]
    assert store.audit[0].actor == uc.TIMER_ACTOR and store.audit[0].causation_id == "timer:expired:old:2027-01-01"
    again = await uc.expire_tasks(store.writer(), ["old"], today=today, now=NOW)
    assert again == [] and len(store.audit) == 1 and len(store.outbox) == 1


async def test_reads_are_scoped():
    store = FakeStore(make("t1"))

    async def view(task_id):
        t = store.tasks.get(task_id)
        return uc.TaskView(task=t, claim=None) if t else None

    store.task_view = view
    with pytest.raises(uc.Forbidden):
        await uc.task_audit(store, CODER, "t1", limit=10)
    with pytest.raises(uc.Forbidden):
        await uc.list_tasks(store, CODER, uc.TaskQuery(queue="appeals"))
