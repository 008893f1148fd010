"""The leader's timers as use cases over their units of work: silent claims, and task expiry and priorities.

A pass works a page (or batch) at a time, each in its own transaction, so a long backlog never holds one
transaction open. The leader loop (service.adapters.claim_timers / task_timers) takes the advisory lock and calls
these; every read and write goes through the unit of work.

- `flag_silent_claims`: a status inquiry for each claim the payer is silent about, once per interval (the inquiry's
  key is recorded with it), and a `billing` task for a silent claim near its timely-filing limit. Tasks follow the
  LOCKING RULE (the claims locked first, then re-checked: still silent) and are written with their audit row and
  `appeals.tasks.v1` outbox row in the same transaction.
- `expire_overdue_tasks`: tasks whose every clock has passed are closed as expired (re-checked under the claim
  locks); the run is recorded so restarts and new workers neither skip it nor repeat it early.
- `refresh_task_priorities`: open tasks whose score is stale are scored for today.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from service.domain.checklists import ChecklistBook
from service.domain.clocks import Clocks
from service.domain.silent_claims import (
    Silence,
    SilenceRules,
    assess,
    filing_risk_task,
    status_inquiry,
)
from service.domain.tasks import task_id_for
from service.service_layer.outbox import build_records
from service.service_layer.tasks_api import expire_tasks, refresh_priorities
from service.service_layer.unit_of_work import (
    AuditEntry,
    SilentClaimsUnitOfWork,
    TaskTimersUnitOfWork,
)

SILENT_CLAIM_ACTOR = "system:claim-timer"
EXPIRY_JOB = "task_expiry"
PAGE = 200


@dataclass(slots=True)
class ClaimTimerPass:
    leader: bool = False
    scanned: int = 0
    inquiries: int = 0
    tasks: int = 0


@dataclass(slots=True)
class TimerPass:
    leader: bool = False
    expiry_ran: bool = False
    expired: int = 0
    refreshed: int = 0


@dataclass(frozen=True, slots=True)
class SilenceRulebook:
    """What judges a silence: the intervals per payer, the filing clocks and the task checklists."""

    rules: SilenceRules
    clocks: Clocks
    checklists: ChecklistBook


async def flag_silent_claims(uow: SilentClaimsUnitOfWork, today: dt.date, *, now: dt.datetime,
                             rulebook: SilenceRulebook, page: int = PAGE,
                             result: ClaimTimerPass | None = None) -> ClaimTimerPass:
    """One pass over the claims waiting on their payer: inquiries due today, filing-risk tasks. Idempotent."""
    result = result or ClaimTimerPass()
    rules = rulebook.rules
    after = ""
    while True:
        async with uow:
            claims = await uow.awaiting_claims(today, rules.shortest, after, page)
            if not claims:
                break
            after = claims[-1].claim_id
            result.scanned += len(claims)
            due = [s for s in (assess(c, today, rules, rulebook.clocks) for c in claims) if s.inquiry_due]
            result.inquiries += await _send_inquiries(uow, due, now)
            result.tasks += await _open_filing_tasks(uow, [s for s in due if s.filing_at_risk], now, rulebook)
            await uow.commit()
    return result


async def _send_inquiries(uow: SilentClaimsUnitOfWork, due: Sequence[Silence], now: dt.datetime) -> int:
    """Record each (claim, submission, interval) once; only a first record gets its outbox row."""
    if not due:
        return 0
    records = {s.inquiry_key: build_records([status_inquiry(s, at=now)])[0] for s in due}
    fresh = await uow.record_inquiries(due, [records[s.inquiry_key].event_id for s in due])
    sent = [records[s.inquiry_key] for s in due if s.inquiry_key in fresh]
    await uow.add_to_outbox(sent)
    return len(sent)


async def _open_filing_tasks(uow: SilentClaimsUnitOfWork, risky: Sequence[Silence], now: dt.datetime,
                             rulebook: SilenceRulebook) -> int:
    """A billing task per silent claim near its filing limit, unless the claim already has a task of that cause."""
    if not risky:
        return 0
    still = await uow.lock_still_silent(sorted({s.claim.claim_id for s in risky}))
    wanted = {task_id_for(s.claim.claim_id, s.claim.payer.id, "timely_filing"): s for s in risky
              if s.claim.claim_id in still}
    existing = await uow.existing_tasks(list(wanted))
    made = []
    for tid, s in wanted.items():
        if tid not in existing:
            task, event = filing_risk_task(s, at=now, checklists=rulebook.checklists, actor=SILENT_CLAIM_ACTOR)
            task.refresh_priority(s.today)  # scored as it opens, like the stream's tasks
            made.append((task, event))
    if not made:
        return 0
    await uow.add_tasks(
        [t for t, _ in made],
        [AuditEntry(task_id=ev.task.task_id, at=ev.at, actor=ev.actor, change=ev.change, from_state=ev.from_state,
                    to_state=ev.to_state, note=ev.note, causation_id=ev.causation_id) for _, ev in made])
    await uow.add_to_outbox(build_records([ev for _, ev in made]))
    return len(made)


async def expire_overdue_tasks(uow: TaskTimersUnitOfWork, today: dt.date, *, now: dt.datetime,
                               batch: int = PAGE) -> int:
    """Expire every task whose clocks have all passed by `today`, a batch per transaction; records the run."""
    expired, after = 0, ""
    while True:
        async with uow:
            ids = await uow.overdue_task_ids(today, after, batch)
            if not ids:
                await uow.record_run(EXPIRY_JOB, now, today)
                await uow.commit()
                return expired
            expired += len(await expire_tasks(uow, ids, today=today, now=now))  # commits
        after = ids[-1]


async def refresh_task_priorities(uow: TaskTimersUnitOfWork, today: dt.date, *, batch: int = PAGE) -> int:
    """Score for `today` every live task whose score is stale, a batch per transaction."""
    refreshed, after = 0, ""
    while True:
        async with uow:
            ids = await uow.stale_priority_ids(today, after, batch)
            if not ids:
                return refreshed
            refreshed += len(await refresh_priorities(uow, ids, today=today))  # commits
        after = ids[-1]


async def task_timer_pass(uow: TaskTimersUnitOfWork, today: dt.date, *, now: dt.datetime, expiry_every_s: float,
                          force_expiry: bool = False, result: TimerPass | None = None) -> TimerPass:
    """One task-timer pass: expiry when its interval has passed since the last run (or forced), then priorities."""
    result = result or TimerPass()
    if not force_expiry:
        async with uow:
            ran_at = await uow.last_run(EXPIRY_JOB)
        force_expiry = ran_at is None or (now - ran_at).total_seconds() >= expiry_every_s
    if force_expiry:
        result.expiry_ran = True
        result.expired = await expire_overdue_tasks(uow, today, now=now)
    result.refreshed = await refresh_task_priorities(uow, today)
    return result
