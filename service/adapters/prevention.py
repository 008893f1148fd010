"""The reads behind prevention feedback (`GET /api/prevention`) and the recoupment listing (`GET /api/recoupments`).

Prevention: the denied lines of a window as plain `DeniedLine` values, one row per (remittance line, category, rule),
limited to the queues the caller sees; the domain (`service.domain.prevention`) groups them into rules. A line's queue
is its task's (where a supervisor moved the task, the task's queue now, not the classifier's first choice), else the
decision's own; a team token's counts, amounts and example claims come only from its queues' lines.
Recoupments: provider-level adjustments with a recoupment reason, unlinked (no claim on file) by default.
Every value is a bind parameter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import asyncpg

from service.domain.prevention import DeniedLine

MAX_LINES = 200_000  # a window larger than this is cut (the response says so)

_DENIED_LINES = """
SELECT d.payer_id, max(d.payer_type) AS payer_type, d.procedure_code, d.category, d.rule_id, d.event_id, d.line_id,
       d.claim_id, max(d.occurred_at) AS occurred_at, sum(d.amount) AS amount,
       array_agg(DISTINCT d.group_code || '-' || d.reason) AS codes
FROM decisions d
LEFT JOIN appeal_tasks t ON t.task_id = d.task_id
WHERE d.is_denial AND d.procedure_code IS NOT NULL AND d.line_id IS NOT NULL
  AND d.occurred_at >= $1 AND d.occurred_at < $2
  AND ($3::text[] IS NULL OR d.category = ANY($3::text[]))
  AND ($4::text[] IS NULL OR COALESCE(t.queue, d.queue) = ANY($4::text[]))
  AND ($5::text IS NULL OR d.payer_id = $5)
  AND ($6::text IS NULL OR d.procedure_code = $6)
GROUP BY d.payer_id, d.procedure_code, d.category, d.rule_id, d.event_id, d.line_id, d.claim_id
ORDER BY max(d.occurred_at) DESC
LIMIT $7"""


async def denied_lines(pool: asyncpg.Pool, *, since: dt.datetime, until: dt.datetime,
                       categories: Sequence[str] | None, queues: Sequence[str] | None, payer_id: str | None,
                       procedure_code: str | None, limit: int = MAX_LINES) -> tuple[list[DeniedLine], bool]:
    """The window's denied lines, newest first, and whether the window held more than `limit`."""
    rows = await pool.fetch(_DENIED_LINES, since, until, list(categories) if categories is not None else None,
                            list(queues) if queues is not None else None, payer_id, procedure_code, limit + 1)
    lines = [DeniedLine(payer_id=r["payer_id"], payer_type=r["payer_type"], procedure_code=r["procedure_code"],
                        category=r["category"], rule_id=r["rule_id"], event_id=r["event_id"], line_id=r["line_id"],
                        claim_id=r["claim_id"], occurred_at=r["occurred_at"], amount=r["amount"],
                        codes=tuple(sorted(r["codes"]))) for r in rows[:limit]]
    return lines, len(rows) > limit


@dataclass(frozen=True, slots=True)
class Recoupment:
    event_id: str
    payer_id: str
    payee_npi: str
    reason: str
    amount: Decimal
    production_date: dt.date
    reference: str | None
    claim_id: str | None
    trace_number: str | None
    linked: bool
    recorded_at: dt.datetime


async def recoupments(pool: asyncpg.Pool, *, reasons: Sequence[str], linked: bool | None, since: dt.date,
                      payer_id: str | None, limit: int, offset: int) -> tuple[list[Recoupment], int]:
    """Recoupment-type provider adjustments since a production date, newest first, and how many match in all."""
    where = """reason = ANY($1::text[]) AND production_date >= $2 AND ($3::boolean IS NULL OR linked = $3)
               AND ($4::text IS NULL OR payer_id = $4)"""
    args = (list(reasons), since, linked, payer_id)
    async with pool.acquire() as conn:
        total = await conn.fetchval(f"SELECT count(*) FROM provider_adjustments WHERE {where}", *args)
        rows = await conn.fetch(
            f"""SELECT event_id, payer_id, payee_npi, reason, amount, production_date, reference, claim_id,
                       trace_number, linked, recorded_at
                FROM provider_adjustments WHERE {where}
                ORDER BY production_date DESC, event_id LIMIT $5 OFFSET $6""", *args, limit, offset)
    return [Recoupment(**dict(r)) for r in rows], total
