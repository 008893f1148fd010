"""The silent-claim timer against PostgreSQL, with an injected "today". A timer pass looks at every claim of its
database, so each test has a private database; claims are written by the real batch use case and store.

Dates (commercial payer: 30-day inquiry interval, timely filing 90 days after the date of service), today 2026-06-01:
  A  service 2026-04-15, submitted 2026-04-17: 45 days silent -> inquiry 1; filing limit 2026-07-14 (43 days left)
  B  service 2026-03-20, submitted 2026-03-28: 65 days silent -> inquiry 2; filing limit 2026-06-18 (17 days left)
     -> a billing task
  C  submitted 2026-04-17, remittance 2026-05-20: not silent
  D  submitted 2026-04-17, 277CA acceptance (A2) 2026-04-18: still silent (acceptance is not adjudication) -> inquiry 1
  E  submitted 2026-05-20: 12 days, not yet
  F  submitted 2026-04-17, 277 status 2026-05-25: the payer answered -> not silent
On 2026-06-16: A and D reach 60 days -> inquiry 2 each, and their filing limit 2026-07-14 is now 28 days away -> a
task each; B (80 days) is still in interval 2 and already has its task.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from service.adapters.claim_timers import CLAIM_TIMER_LOCK_KEY, run_claim_timers, run_claim_timers_once
from service.adapters.store import PostgresUnitOfWork
from service.domain.classification import load_classifier
from service.domain.tasks import task_id_for
from service.service_layer import mapping
from service.service_layer.handlers import Inbound, process_batch
from tests.integration.test_api_support import open_pool, private_database, settings_for
from tests.support import events
from tests.support.ports import eventually
from topics.outputs import FollowupEvent, TaskEvent
from topics.remittance import RemittanceEvent
from topics.status import StatusEvent

TODAY = dt.date(2026, 6, 1)
BCBS = {"id": "BCBS-TX", "name": "Blue Cross TX", "type": "commercial"}


def submitted(claim_id: str, *, on: str, service: str) -> Inbound:
    lines = [{"line_id": "1", "procedure": {"code": "64483", "modifiers": ["RT"]}, "units": 1, "charge": 1200.00,
              "service_date": service, "diagnosis_pointers": [1]}]
    record = events.submitted(f"st-{claim_id}", claim_id, lines=lines, occurred_at=f"{on}T12:00:00Z")
    record["claim"]["service_date_from"] = record["claim"]["service_date_to"] = service
    return Inbound("claims.status.v1", mapping.status_event(StatusEvent.model_validate_json(json.dumps(record))))


def status(claim_id: str, *, kind: str, on: str, category: str) -> Inbound:
    record = {"event_id": f"{kind}-{claim_id}", "schema_version": 1, "kind": kind, "occurred_at": f"{on}T12:00:00Z",
              "payer": BCBS, "claim": {"claim_id": claim_id, "total_charge": 1200.0},
              "status": {"category": category, "code": "20", "entity": "PR"}}
    return Inbound("claims.status.v1", mapping.status_event(StatusEvent.model_validate_json(json.dumps(record))))


def paid(claim_id: str, *, on: str) -> Inbound:
    record = events.remittance(f"rm-{claim_id}", claim_id, occurred_at=f"{on}T12:00:00Z", lines=[events.line(
        "1", "64483", ["RT"], charge=1200.00, paid=900.00, adjustments=[
            {"group": "CO", "reason": "45", "amount": 300.00}])])
    return Inbound("claims.remittance.v1", mapping.remittance(RemittanceEvent.model_validate_json(json.dumps(record))))


@pytest.fixture
async def timer_db(stack):
    async with private_database(stack.direct_database_url) as url:
        settings = settings_for(url, claim_timer_interval_s=0.2)
        pool = await open_pool(url, settings)
        try:
            batch = [
                submitted("PC-A", on="2026-04-17", service="2026-04-15"),
                submitted("PC-B", on="2026-03-28", service="2026-03-20"),
                submitted("PC-C", on="2026-04-17", service="2026-04-15"),
                submitted("PC-D", on="2026-04-17", service="2026-04-15"),
                submitted("PC-E", on="2026-05-20", service="2026-05-18"),
                submitted("PC-F", on="2026-04-17", service="2026-04-15"),
            ]
            await process_batch(batch, PostgresUnitOfWork(pool), load_classifier(), as_of=TODAY)
            await process_batch([paid("PC-C", on="2026-05-20"),
                                 status("PC-D", kind="acknowledgement", on="2026-04-18", category="A2"),
                                 status("PC-F", kind="status", on="2026-05-25", category="A2")],
                                PostgresUnitOfWork(pool), load_classifier(), as_of=TODAY)
            yield pool, settings
        finally:
            await pool.close()


async def inquiries(pool) -> list[tuple[str, int]]:
    rows = await pool.fetch("SELECT claim_id, interval_no FROM status_inquiries ORDER BY claim_id, interval_no")
    return [(r["claim_id"], r["interval_no"]) for r in rows]


async def test_silent_claims_get_one_inquiry_per_interval_and_a_task_near_their_filing_limit(timer_db):
    pool, settings = timer_db
    first = await run_claim_timers_once(pool, settings, today=TODAY)
    assert (first.leader, first.inquiries, first.tasks) == (True, 3, 1)
    assert await inquiries(pool) == [("PC-A", 1), ("PC-B", 2), ("PC-D", 1)]

    outbox = await pool.fetch("SELECT topic, key, payload, causation_id FROM outbox WHERE topic = "
                              "'followups.status-inquiry.v1' ORDER BY id")
    records = {bytes(r["key"]).decode(): FollowupEvent.model_validate_json(bytes(r["payload"])) for r in outbox}
    assert sorted(records) == ["PC-A", "PC-B", "PC-D"]
    b = records["PC-B"]
    assert (b.kind, b.payer.id, float(b.amount), b.due_date) == ("status-inquiry", "BCBS-TX", 1200.0, TODAY)
    assert (b.details["days_silent"], b.details["interval_no"], b.details["filing_deadline"]) == (65, 2, "2026-06-18")
    assert all(not r["causation_id"].count("PC-") for r in outbox)  # no claim id (PHI) in ids

    task = await pool.fetchrow("SELECT * FROM appeal_tasks WHERE task_id = $1",
                               task_id_for("PC-B", "BCBS-TX", "timely_filing"))
    assert (task["queue"], task["category"], task["state"], task["action"]) == ("billing", "timely_filing", "open",
                                                                                "review")
    assert task["filing_deadline"] == dt.date(2026, 6, 18) and task["priority"] > 0
    # opened by the payer's silence, not by a remittance; the limit's basis is kept like the stream's tasks keep it
    assert task["origin"] == "silent_claim" and task["filing_deadline_basis"]
    assert "the timely-filing limit is 2026-06-18 (17 days left" in task["explanation"]
    audit = await pool.fetch("SELECT actor, change, to_state FROM task_events WHERE task_id = $1", task["task_id"])
    assert [(a["actor"], a["change"], a["to_state"]) for a in audit] == [("system:claim-timer", "opened", "open")]
    (published,) = await pool.fetch("SELECT payload FROM outbox WHERE topic = 'appeals.tasks.v1'")
    assert TaskEvent.model_validate_json(bytes(published["payload"])).task.queue == "billing"
    assert await pool.fetchval("SELECT count(*) FROM appeal_tasks") == 1

    again = await run_claim_timers_once(pool, settings, today=TODAY)
    assert (again.inquiries, again.tasks) == (0, 0)  # the same interval: nothing is sent twice

    later = await run_claim_timers_once(pool, settings, today=TODAY + dt.timedelta(days=15))
    assert (later.inquiries, later.tasks) == (2, 2)
    assert await inquiries(pool) == [("PC-A", 1), ("PC-A", 2), ("PC-B", 2), ("PC-D", 1), ("PC-D", 2)]
    assert sorted(r["claim_id"] for r in await pool.fetch("SELECT claim_id FROM appeal_tasks")) == [
        "PC-A", "PC-B", "PC-D"]
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE topic = 'followups.status-inquiry.v1'") == 5


async def test_only_the_worker_holding_the_timer_lock_runs_a_pass(timer_db):
    pool, settings = timer_db
    async with pool.acquire() as other:
        assert await other.fetchval("SELECT pg_try_advisory_lock($1)", CLAIM_TIMER_LOCK_KEY)
        try:
            skipped = await run_claim_timers_once(pool, settings, today=TODAY)
            assert (skipped.leader, skipped.inquiries) == (False, 0)
        finally:
            await other.execute("SELECT pg_advisory_unlock($1)", CLAIM_TIMER_LOCK_KEY)
    assert await inquiries(pool) == []


async def test_the_timer_loop_runs_passes_until_stopped(timer_db):
    import asyncio

    pool, settings = timer_db
    stop = asyncio.Event()
    loop = asyncio.create_task(run_claim_timers(pool, settings, stop, today=lambda: TODAY))
    try:
        await eventually(lambda: inquiries(pool), message="the loop's first pass")
    finally:
        stop.set()
        await asyncio.wait_for(loop, timeout=10)
    assert await inquiries(pool) == [("PC-A", 1), ("PC-B", 2), ("PC-D", 1)]
