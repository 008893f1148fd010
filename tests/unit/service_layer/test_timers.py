"""The timers' use cases over in-memory units of work (no I/O): silent claims get one inquiry per interval and a
filing-risk task once, each page in its own transaction; overdue tasks expire once and stale priorities are rescored.

Dates as in tests/unit/revenue/test_silent_claims.py: a commercial claim for 2026-01-15, submitted 2026-01-16, is
60 days silent on 2026-03-17 (inquiry 2) with 29 days left before its filing limit of 2026-04-15 (at risk).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from service.domain.model import ChecklistItem, Payer, Procedure, Submission, SubmittedLine
from service.domain.silent_claims import AwaitingClaim, load_silence_rules
from service.domain.tasks import Task, task_id_for
from service.service_layer.timers import (
    SILENT_CLAIM_ACTOR,
    SilenceRulebook,
    expire_overdue_tasks,
    flag_silent_claims,
    refresh_task_priorities,
    task_timer_pass,
)
from tests.unit.service_layer.timer_fakes import FakeSilentClaims, FakeTaskTimers
from topics.catalogue import APPEALS_TASKS, followup_topic

RULEBOOK = SilenceRulebook(*load_silence_rules())
TODAY = dt.date(2026, 3, 17)
NOW = dt.datetime(2026, 3, 17, 8, 0, tzinfo=dt.UTC)


def awaiting(claim_id: str, *, submitted_on: dt.date = dt.date(2026, 1, 16),
             service_date: dt.date = dt.date(2026, 1, 15)) -> AwaitingClaim:
    sub = Submission(event_id=f"st-{claim_id}", occurred_at=dt.datetime.combine(submitted_on, dt.time(9), dt.UTC),
                     payer=Payer("BCBS-TX", "commercial"), claim_id=claim_id, total_charge=Decimal("1200.00"),
                     lines=(SubmittedLine("1", Procedure("64483", ()), Decimal("1200.00"), service_date=service_date),))
    return AwaitingClaim(claim_id=claim_id, submission=sub, submitted_on=submitted_on)


async def test_a_silent_claim_near_its_filing_limit_gets_an_inquiry_and_a_billing_task_once():
    uow = FakeSilentClaims(awaiting("PC-1"))
    first = await flag_silent_claims(uow, TODAY, now=NOW, rulebook=RULEBOOK)
    assert (first.scanned, first.inquiries, first.tasks) == (1, 1, 1)
    assert list(uow.inquiries) == [("PC-1", "st-PC-1", 2)]
    task = uow.tasks[task_id_for("PC-1", "BCBS-TX", "timely_filing")]
    assert (task.queue, task.origin, task.filing_deadline) == ("billing", "silent_claim", dt.date(2026, 4, 15))
    assert task.priority > 0  # scored as it opens
    assert [(a.actor, a.change, a.to_state) for a in uow.audit] == [(SILENT_CLAIM_ACTOR, "opened", "open")]
    topics = sorted(r.topic for r in uow.outbox.values())
    assert topics == sorted([APPEALS_TASKS, followup_topic("status-inquiry")])
    inquiry = next(r for r in uow.outbox.values() if r.topic != APPEALS_TASKS)
    assert json.loads(inquiry.payload)["details"]["interval_no"] == 2

    again = await flag_silent_claims(uow, TODAY, now=NOW, rulebook=RULEBOOK)
    assert (again.scanned, again.inquiries, again.tasks) == (1, 0, 0)  # the same interval: nothing twice
    assert len(uow.outbox) == 2 and len(uow.audit) == 1


async def test_a_claim_answered_before_its_lock_gets_its_inquiry_but_no_task():
    uow = FakeSilentClaims(awaiting("PC-1"), answered=["PC-1"])
    result = await flag_silent_claims(uow, TODAY, now=NOW, rulebook=RULEBOOK)
    assert (result.inquiries, result.tasks) == (1, 0)
    assert uow.locked == [["PC-1"]] and uow.tasks == {}


async def test_a_claim_not_silent_long_enough_or_far_from_its_limit_gets_no_task():
    uow = FakeSilentClaims(awaiting("PC-NEW", submitted_on=dt.date(2026, 3, 1)),
                           awaiting("PC-FAR", service_date=dt.date(2026, 1, 15), submitted_on=dt.date(2026, 2, 14)))
    result = await flag_silent_claims(uow, dt.date(2026, 3, 16), now=NOW, rulebook=RULEBOOK)
    # PC-NEW: 15 days silent, not scanned; PC-FAR: 30 days silent (inquiry 1), 30 days left (at risk: the window
    # includes its first day)
    assert result.scanned == 1 and result.inquiries == 1 and result.tasks == 1
    assert [k[0] for k in uow.inquiries] == ["PC-FAR"]


async def test_each_page_is_its_own_transaction_in_claim_id_order():
    uow = FakeSilentClaims(*(awaiting(f"PC-{n}") for n in (3, 1, 2)))
    result = await flag_silent_claims(uow, TODAY, now=NOW, rulebook=RULEBOOK, page=2)
    assert (result.scanned, result.inquiries, result.tasks) == (3, 3, 3)
    assert uow.commits == 2 and uow.locked == [["PC-1", "PC-2"], ["PC-3"]]


def task(task_id: str, *, deadline: dt.date | None, state: str = "open") -> Task:
    return Task(task_id=task_id, claim_id=f"PC-{task_id}", payer_id="BCBS-TX", payer_type="commercial",
                category="coding", action="appeal", queue="appeals", state=state, appealable=True,
                amount_at_risk=Decimal("100.00"), recoverability=0.5, explanation="x", rule_ids=("r",),
                opened_at=NOW, last_event_at=NOW, source_event_id="rm", deadline=deadline,
                checklist=(ChecklistItem("letter", "Write the letter"),))


async def test_tasks_past_every_clock_expire_once_and_the_run_is_recorded():
    uow = FakeTaskTimers(task("a", deadline=dt.date(2026, 3, 1)), task("b", deadline=dt.date(2026, 3, 1)),
                         task("c", deadline=dt.date(2026, 4, 1)), task("d", deadline=None))
    assert await expire_overdue_tasks(uow, TODAY, now=NOW, batch=1) == 2
    assert {i: t.state for i, t in uow.tasks.items()} == {"a": "expired", "b": "expired", "c": "open", "d": "open"}
    assert [a.causation_id for a in uow.audit] == ["timer:expired:a:2026-03-17", "timer:expired:b:2026-03-17"]
    assert len(uow.outbox) == 2 and uow.runs["task_expiry"] == (NOW, TODAY)
    assert await expire_overdue_tasks(uow, TODAY, now=NOW) == 0 and len(uow.outbox) == 2


async def test_stale_priorities_are_scored_for_today_and_left_alone_once_fresh():
    uow = FakeTaskTimers(task("a", deadline=dt.date(2026, 3, 20)), task("z", deadline=None, state="won"))
    assert await refresh_task_priorities(uow, TODAY) == 1
    assert uow.tasks["a"].priority > 0 and uow.tasks["a"].priority_parts["as_of"] == TODAY.isoformat()
    assert await refresh_task_priorities(uow, TODAY) == 0
    assert uow.audit == [] and uow.outbox == []  # a sort key, not a task change


async def test_expiry_waits_for_its_interval_unless_forced():
    recent = FakeTaskTimers(task("a", deadline=dt.date(2026, 3, 1)), last_expiry=NOW - dt.timedelta(minutes=5))
    skipped = await task_timer_pass(recent, TODAY, now=NOW, expiry_every_s=3600)
    assert (skipped.expiry_ran, skipped.expired, skipped.refreshed) == (False, 0, 1)
    forced = await task_timer_pass(recent, TODAY, now=NOW, expiry_every_s=3600, force_expiry=True)
    assert (forced.expiry_ran, forced.expired) == (True, 1)
    never = FakeTaskTimers(task("b", deadline=dt.date(2026, 3, 1)))
    assert (await task_timer_pass(never, TODAY, now=NOW, expiry_every_s=3600)).expired == 1
