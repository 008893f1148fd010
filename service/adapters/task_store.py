"""The work-queue store (asyncpg): task reads with filters, and the writer that follows the LOCKING RULE.

Writers lock the claim rows first (`SELECT 1 FROM claims WHERE claim_id = ANY($1) ORDER BY claim_id FOR UPDATE`),
then read the tasks fresh, so the stream and the API never lose each other's updates. Leasing locks the claim and
the task rows together with SKIP LOCKED: it never waits, so it cannot deadlock, and two callers never get one task.
The API writes only its own columns (state, queue, checklist, notes, assignee, lease, recovered amount, closed_at,
version, priority); `last_event_at` stays the stream's event-time guard.

Every SQL value is a bind parameter; the only text put into a statement comes from fixed tables in this module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import asyncpg

from service.adapters.sql import Params, PooledTransaction, where_clause
from service.adapters.store import add_to_outbox
from service.adapters.task_rows import (
    PRIORITY_COLUMNS,
    WORK_COLUMNS,
    task_params,
    update_sql,
    work_task_from_row,
)
from service.domain.priority import NOTHING_EXPECTED
from service.domain.tasks import OPEN_STATES, Task
from service.service_layer.tasks_api import (
    AuditEntry,
    ClaimSummary,
    TaskQuery,
    TaskView,
    TimelineItem,
)
from service.service_layer.unit_of_work import OutboxRecord

LOCK_CLAIMS_SQL = "SELECT 1 FROM claims WHERE claim_id = ANY($1::text[]) ORDER BY claim_id FOR UPDATE"

def _words(values: frozenset[str]) -> str:
    return ", ".join(f"'{v}'" for v in sorted(values))  # fixed code constants, not request values


# `Task.at_risk` in SQL: what the task can still bring back (nothing for a write-off, a task with no
# recoverability or a closed task), the figure the demo summary totals as "at risk".
AT_RISK_SQL = (f"(CASE WHEN t.state IN ({_words(OPEN_STATES)}) AND t.action NOT IN ({_words(NOTHING_EXPECTED)})"
               " AND t.recoverability > 0 THEN t.amount_at_risk ELSE 0 END)")

_SORTS = {
    "priority": "t.priority DESC, LEAST(t.deadline, t.filing_deadline) ASC NULLS LAST, t.opened_at, t.task_id",
    "deadline": "LEAST(t.deadline, t.filing_deadline) ASC NULLS LAST, t.priority DESC, t.task_id",
    "amount_at_risk": "t.amount_at_risk DESC, t.priority DESC, t.task_id",
    "at_risk": f"{AT_RISK_SQL} DESC, t.amount_at_risk DESC, t.priority DESC, t.task_id",
    "opened_at": "t.opened_at DESC, t.task_id",
}

_CLAIM_COLUMNS = """c.claim_id AS c_claim_id, c.state AS c_state, c.payer_id AS c_payer_id,
    c.payer_type AS c_payer_type, c.total_charge AS c_total_charge, c.service_date_from AS c_service_date_from,
    c.service_date_to AS c_service_date_to, c.submitted_at AS c_submitted_at, c.last_event_at AS c_last_event_at,
    c.adjudicated_payers AS c_adjudicated_payers, c.payer_claim_numbers AS c_payer_claim_numbers,
    c.forwarded AS c_forwarded"""

# What the API shows of a submission: the billed facts, never the patient's identifiers.
_SUBMISSION_FIELDS = ("event_id", "frequency_code", "original_payer_claim_number", "total_charge",
                      "service_date_from", "service_date_to", "billing_npi", "rendering_npi", "diagnoses",
                      "prior_authorization", "other_payers", "lines")


def _claim_summary(r: asyncpg.Record, prefix: str = "c_") -> ClaimSummary | None:
    if r[f"{prefix}claim_id"] is None:
        return None
    return ClaimSummary(
        claim_id=r[f"{prefix}claim_id"], state=r[f"{prefix}state"], payer_id=r[f"{prefix}payer_id"],
        payer_type=r[f"{prefix}payer_type"], total_charge=r[f"{prefix}total_charge"],
        service_date_from=r[f"{prefix}service_date_from"], service_date_to=r[f"{prefix}service_date_to"],
        submitted_at=r[f"{prefix}submitted_at"], last_event_at=r[f"{prefix}last_event_at"],
        adjudicated_payers=tuple(r[f"{prefix}adjudicated_payers"] or ()),
        payer_claim_numbers=tuple(r[f"{prefix}payer_claim_numbers"] or ()), forwarded=r[f"{prefix}forwarded"],
    )


def _audit(r: asyncpg.Record) -> AuditEntry:
    return AuditEntry(id=r["id"], task_id=r["task_id"], at=r["at"], actor=r["actor"], change=r["change"],
                      from_state=r["from_state"], to_state=r["to_state"], note=r["note"],
                      causation_id=r["causation_id"])


class PostgresTaskWriter(PooledTransaction):
    """One transaction, on a connection from the pool or on one the caller owns (the timer's leader connection)."""

    _outside = "use the writer inside `async with`"

    async def lock_tasks(self, task_ids: Sequence[str]) -> dict[str, Task]:
        ids = sorted(set(task_ids))
        if not ids:
            return {}
        claim_ids = [r["claim_id"] for r in await self.conn.fetch(
            "SELECT DISTINCT claim_id FROM appeal_tasks WHERE task_id = ANY($1::text[])", ids)]
        if claim_ids:
            await self.conn.execute(LOCK_CLAIMS_SQL, sorted(claim_ids))
        rows = await self.conn.fetch(
            "SELECT * FROM appeal_tasks WHERE task_id = ANY($1::text[]) ORDER BY task_id", ids)
        return {r["task_id"]: work_task_from_row(r) for r in rows}

    async def lease_next(self, queue: str, *, now: dt.datetime) -> Task | None:
        # claims first in FROM: its row mark (the claim lock) is taken before the task's.
        row = await self.conn.fetchrow(
            """SELECT t.* FROM claims c JOIN appeal_tasks t ON t.claim_id = c.claim_id
               WHERE t.queue = $1 AND t.state = 'open'
                 AND (t.lease_expires_at IS NULL OR t.lease_expires_at <= $2)
               ORDER BY t.priority DESC, t.deadline ASC NULLS LAST, t.opened_at, t.task_id
               LIMIT 1
               FOR UPDATE OF c, t SKIP LOCKED""", queue, now)
        return work_task_from_row(row) if row else None

    async def save(self, tasks: Sequence[Task], audit: Sequence[AuditEntry],
                   outbox: Sequence[OutboxRecord]) -> None:
        c = self.conn
        if tasks:
            await c.executemany(update_sql(WORK_COLUMNS), task_params(tasks, WORK_COLUMNS))
        if audit:
            await c.executemany(
                """INSERT INTO task_events (task_id, at, actor, change, from_state, to_state, note, causation_id)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
                [(a.task_id, a.at, a.actor, a.change, a.from_state, a.to_state, a.note, a.causation_id)
                 for a in audit])
        await add_to_outbox(c, outbox)

    async def save_priorities(self, tasks: Sequence[Task]) -> None:
        await self.conn.executemany(update_sql(PRIORITY_COLUMNS, touch=False), task_params(tasks, PRIORITY_COLUMNS))


def scope_filters(q: Any, arg: Callable[[Any], str]) -> list[str]:
    """WHERE clauses (parameterised through `arg`) for the task filters the work queue and the web page's worklist
    share: the token's queues, queue, states, payer, category, assignee and the nearer-deadline cut-off."""
    where: list[str] = []
    if q.queues is not None:
        where.append(f"t.queue = ANY({arg(sorted(q.queues))}::text[])")
    if q.queue is not None:
        where.append(f"t.queue = {arg(q.queue)}")
    if q.states:
        where.append(f"t.state = ANY({arg(list(q.states))}::text[])")
    if q.payer_id is not None:
        where.append(f"t.payer_id = {arg(q.payer_id)}")
    if q.category is not None:
        where.append(f"t.category = {arg(q.category)}")
    if q.assignee is not None:
        where.append(f"t.assignee = {arg(q.assignee)}")
    if q.deadline_before is not None:
        p = arg(q.deadline_before)
        where.append(f"(t.deadline < {p} OR t.filing_deadline < {p})")
    return where


class PostgresWorkQueue:
    """Reads for the API, and writers (one transaction each) from the pool."""

    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout: float = 10) -> None:
        self._pool = pool
        self._acquire_timeout = acquire_timeout

    def writer(self) -> PostgresTaskWriter:
        return PostgresTaskWriter(pool=self._pool, acquire_timeout=self._acquire_timeout)

    async def find_tasks(self, q: TaskQuery) -> list[TaskView]:
        arg = Params()
        where = scope_filters(q, arg)
        if q.claim_id is not None:
            where.append(f"t.claim_id = {arg(q.claim_id)}")
        if q.cpt is not None:
            where.append(f"t.lines @> jsonb_build_array(jsonb_build_object('procedure_code', {arg(q.cpt)}::text))")
        order = _SORTS[q.sort]  # a fixed table: KeyError on anything else
        sql = (f"SELECT t.*, {_CLAIM_COLUMNS} FROM appeal_tasks t LEFT JOIN claims c ON c.claim_id = t.claim_id"
               + where_clause(where) + f" ORDER BY {order} LIMIT {arg(q.limit)} OFFSET {arg(q.offset)}")
        async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
            rows = await conn.fetch(sql, *arg.values)
        return [TaskView(task=work_task_from_row(r), claim=_claim_summary(r)) for r in rows]

    async def task_view(self, task_id: str) -> TaskView | None:
        row = await self._pool.fetchrow(
            f"""SELECT t.*, {_CLAIM_COLUMNS} FROM appeal_tasks t LEFT JOIN claims c ON c.claim_id = t.claim_id
                WHERE t.task_id = $1""", task_id)
        return TaskView(task=work_task_from_row(row), claim=_claim_summary(row)) if row else None

    async def claim(self, claim_id: str) -> ClaimSummary | None:
        row = await self._pool.fetchrow(f"SELECT {_CLAIM_COLUMNS}, c.submission FROM claims c WHERE c.claim_id = $1",
                                        claim_id)
        if row is None:
            return None
        summary = _claim_summary(row)
        sub = row["submission"]
        if sub:
            summary = replace(summary, submission={k: sub.get(k) for k in _SUBMISSION_FIELDS})
        return summary

    async def claim_tasks(self, claim_id: str) -> list[Task]:
        rows = await self._pool.fetch("SELECT * FROM appeal_tasks WHERE claim_id = $1 ORDER BY opened_at, task_id",
                                      claim_id)
        return [work_task_from_row(r) for r in rows]

    async def timeline(self, claim_id: str) -> list[TimelineItem]:
        rows = await self._pool.fetch(
            """SELECT event_id, kind, occurred_at, payer_id, summary FROM claim_events WHERE claim_id = $1
               ORDER BY occurred_at, id""", claim_id)
        return [TimelineItem(event_id=r["event_id"], kind=r["kind"], occurred_at=r["occurred_at"],
                             payer_id=r["payer_id"], summary=dict(r["summary"] or {})) for r in rows]

    async def task_audit(self, task_id: str, *, limit: int) -> list[AuditEntry]:
        rows = await self._pool.fetch(
            "SELECT * FROM task_events WHERE task_id = $1 ORDER BY id LIMIT $2", task_id, limit)
        return [_audit(r) for r in rows]

    async def actor_audit(self, actor: str | None, *, queues: frozenset[str] | None, since: dt.datetime | None,
                          until: dt.datetime | None, limit: int) -> list[AuditEntry]:
        rows = await self._pool.fetch(
            """SELECT e.* FROM task_events e JOIN appeal_tasks t ON t.task_id = e.task_id
               WHERE ($1::text IS NULL OR e.actor = $1)
                 AND ($2::text[] IS NULL OR t.queue = ANY($2::text[]))
                 AND ($3::timestamptz IS NULL OR e.at >= $3)
                 AND ($4::timestamptz IS NULL OR e.at < $4)
               ORDER BY e.at DESC, e.id DESC LIMIT $5""",
            actor, sorted(queues) if queues is not None else None, since, until, limit)
        return [_audit(r) for r in rows]

    async def queue_counts(self, queues: frozenset[str] | None, *, now: dt.datetime) -> dict[str, dict[str, int]]:
        rows = await self._pool.fetch(
            """SELECT queue,
                      count(*) FILTER (WHERE state = 'open') AS open,
                      count(*) FILTER (WHERE state = 'open' AND lease_expires_at > $2) AS leased,
                      count(*) FILTER (WHERE state = 'in_progress') AS in_progress,
                      count(*) FILTER (WHERE state = 'submitted') AS submitted
               FROM appeal_tasks
               WHERE state IN ('open', 'in_progress', 'submitted')
                 AND ($1::text[] IS NULL OR queue = ANY($1::text[]))
               GROUP BY queue""", sorted(queues) if queues is not None else None, now)
        return {r["queue"]: {k: r[k] for k in ("open", "leased", "in_progress", "submitted")} for r in rows}
