"""In-memory units of work for the timers and the dead letters: writes are staged and kept only on commit, so the
tests see what a rolled-back transaction would leave (nothing)."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Sequence

from service.domain.silent_claims import AwaitingClaim, Silence
from service.domain.tasks import Task, expiry_date
from service.service_layer.unit_of_work import AuditEntry, DeadLetterEntry, OutboxRecord


class _Staged:
    """Commit applies the staged writes; leaving the block without it drops them."""

    def __init__(self) -> None:
        self.commits = 0
        self.transactions = 0
        self._staged: list = []

    async def __aenter__(self):
        self.transactions += 1
        self._staged = []
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._staged = []

    def _stage(self, apply) -> None:
        self._staged.append(apply)

    async def commit(self) -> None:
        for apply in self._staged:
            apply()
        self._staged = []
        self.commits += 1


class FakeSilentClaims(_Staged):
    def __init__(self, *claims: AwaitingClaim, answered: Sequence[str] = ()) -> None:
        super().__init__()
        self.claims = {c.claim_id: c for c in claims}
        self.answered = set(answered)  # claims a status or remittance reaches between the scan and the lock
        self.inquiries: dict[tuple[str, str, int], str] = {}
        self.tasks: dict[str, Task] = {}
        self.audit: list[AuditEntry] = []
        self.outbox: dict[str, OutboxRecord] = {}
        self.locked: list[list[str]] = []

    async def awaiting_claims(self, today: dt.date, min_days: int, after: str, limit: int) -> list[AwaitingClaim]:
        return [c for _, c in sorted(self.claims.items())
                if c.claim_id > after and (today - c.submitted_on).days >= min_days][:limit]

    async def record_inquiries(self, due: Sequence[Silence], event_ids: Sequence[str]) -> set[tuple[str, str, int]]:
        fresh = {s.inquiry_key: e for s, e in zip(due, event_ids, strict=True) if s.inquiry_key not in self.inquiries}
        self._stage(lambda: self.inquiries.update(fresh))
        return set(fresh)

    async def lock_still_silent(self, claim_ids: Sequence[str]) -> set[str]:
        self.locked.append(list(claim_ids))
        return {c for c in claim_ids if c in self.claims and c not in self.answered}

    async def existing_tasks(self, task_ids: Sequence[str]) -> set[str]:
        return {t for t in task_ids if t in self.tasks}

    async def add_tasks(self, tasks: Sequence[Task], audit: Sequence[AuditEntry]) -> None:
        self._stage(lambda: self.tasks.update({t.task_id: copy.deepcopy(t) for t in tasks}))
        self._stage(lambda: self.audit.extend(audit))

    async def add_to_outbox(self, records: Sequence[OutboxRecord]) -> None:
        self._stage(lambda: [self.outbox.setdefault(r.event_id, r) for r in records])


class FakeTaskTimers(_Staged):
    def __init__(self, *tasks: Task, last_expiry: dt.datetime | None = None) -> None:
        super().__init__()
        self.tasks = {t.task_id: t for t in tasks}
        self.audit: list[AuditEntry] = []
        self.outbox: list[OutboxRecord] = []
        self.runs: dict[str, tuple[dt.datetime, dt.date]] = {}
        if last_expiry is not None:
            self.runs["task_expiry"] = (last_expiry, last_expiry.date())

    async def lock_tasks(self, task_ids: Sequence[str]) -> dict[str, Task]:
        return {i: copy.deepcopy(self.tasks[i]) for i in task_ids if i in self.tasks}

    async def lease_next(self, queue: str, *, now: dt.datetime) -> Task | None:
        raise AssertionError("the timers never lease")

    async def save(self, tasks: Sequence[Task], audit: Sequence[AuditEntry], outbox: Sequence[OutboxRecord]) -> None:
        self._stage(lambda: self.tasks.update({t.task_id: t for t in tasks}))
        self._stage(lambda: self.audit.extend(audit))
        self._stage(lambda: self.outbox.extend(outbox))

    async def save_priorities(self, tasks: Sequence[Task]) -> None:
        self._stage(lambda: self.tasks.update({t.task_id: t for t in tasks}))

    async def overdue_task_ids(self, today: dt.date, after: str, limit: int) -> list[str]:
        return sorted(i for i, t in self.tasks.items() if t.state in ("open", "in_progress") and i > after
                      and (expiry_date(t) or dt.date.max) < today)[:limit]

    async def stale_priority_ids(self, today: dt.date, after: str, limit: int) -> list[str]:
        return sorted(i for i, t in self.tasks.items() if t.state in ("open", "in_progress", "submitted")
                      and i > after and t.priority_parts.get("as_of") != today.isoformat())[:limit]

    async def last_run(self, job: str) -> dt.datetime | None:
        run = self.runs.get(job)
        return run[0] if run else None

    async def record_run(self, job: str, at: dt.datetime, today: dt.date) -> None:
        self._stage(lambda: self.runs.__setitem__(job, (at, today)))


class FakeDeadLetters(_Staged):
    def __init__(self) -> None:
        super().__init__()
        self.letters: dict[str, DeadLetterEntry] = {}
        self.outbox: dict[str, OutboxRecord] = {}

    async def store_dead_letters(self, letters: Sequence[DeadLetterEntry]) -> None:
        self._stage(lambda: [self.letters.setdefault(x.dead_letter_id, x) for x in letters])

    async def add_to_outbox(self, records: Sequence[OutboxRecord]) -> None:
        self._stage(lambda: [self.outbox.setdefault(r.event_id, r) for r in records])
