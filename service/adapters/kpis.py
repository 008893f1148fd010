"""SQL behind the KPIs (asyncpg): the facts `service.domain.kpis` computes from, read as the pipeline wrote them.

Five set-based reads, no per-claim round trips: claims (with the procedure codes of their submission and of their
remitted lines), the submission and 277CA timeline entries, the remittances that are not business-key duplicates,
their decisions summed per remittance and category, and the tasks with their first move to `submitted`. Timestamps
become the billing office's dates here (`AT TIME ZONE`), so the domain only sees dates.

The reads take a connection or a pool (both have `fetch`): `denials report` uses one connection, the API the pool.
Every claim is read (days in A/R needs the whole open history); a practice's claims fit in memory comfortably.

Scope: with `queues`, only the claims that have a task in one of those queues are read (their submissions,
acknowledgements, remittances and decisions), and only the tasks of those queues: a team token's KPIs describe the
claims its queues work, never the rest of the practice. `queues=None` (a supervisor, `denials report`) reads all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Protocol

from service.domain.kpis import (
    REJECTION_CATEGORIES,
    ZERO,
    AcknowledgementFact,
    ClaimFact,
    RemitFact,
    SubmissionFact,
    TaskFact,
)


class Fetcher(Protocol):
    async def fetch(self, query: str, *args: Any) -> list[Any]: ...


def _in_scope(column: str, param: int) -> str:
    """`column` is a claim id with a task in the queues `$param` (a text[]; NULL: every claim)."""
    return (f"(${param}::text[] IS NULL OR {column} IN "
            f"(SELECT s.claim_id FROM appeal_tasks s WHERE s.queue = ANY(${param}::text[])))")


_CLAIMS = """
SELECT c.claim_id, c.total_charge, c.payer_id, c.payer_type,
       COALESCE(c.service_date_from, l.first_service_date) AS service_date,
       NULLIF(c.submission->>'billing_npi', '') AS billing_npi,
       NULLIF(c.submission->>'rendering_npi', '') AS rendering_npi,
       ARRAY(SELECT DISTINCT x->>'code' FROM jsonb_array_elements(
                 CASE WHEN jsonb_typeof(c.submission->'lines') = 'array' THEN c.submission->'lines'
                      ELSE '[]'::jsonb END) AS x
             WHERE x->>'code' IS NOT NULL) AS submitted_codes,
       COALESCE(l.codes, '{}') AS remitted_codes
FROM claims c
LEFT JOIN (SELECT claim_id, array_agg(DISTINCT procedure_code) AS codes, min(service_date) AS first_service_date
           FROM service_lines GROUP BY claim_id) l ON l.claim_id = c.claim_id
WHERE """ + _in_scope("c.claim_id", 1)

_TIMELINE = """
SELECT claim_id, kind, occurred_at, (occurred_at AT TIME ZONE $1)::date AS day, payer_id,
       summary->>'frequency_code' AS frequency_code, summary->>'category' AS category,
       summary->'line_statuses' AS line_statuses
FROM claim_events
WHERE kind IN ('submitted', 'acknowledgement') AND """ + _in_scope("claim_id", 2) + """
ORDER BY claim_id, occurred_at, id
"""

# Business-key duplicates (duplicate_of set) were recorded but never applied: they are not adjudications.
_REMITTANCES = """
SELECT event_id, claim_id, payer_id, payer_type, status_code, payer_claim_number, occurred_at, production_date,
       total_charge, total_paid
FROM remittances
WHERE duplicate_of IS NULL AND """ + _in_scope("claim_id", 1)

_DECISIONS = """
SELECT event_id, category, is_denial, sum(amount) AS amount
FROM decisions
WHERE """ + _in_scope("claim_id", 1) + """
GROUP BY event_id, category, is_denial
"""

_TASKS = """
SELECT t.task_id, t.claim_id, t.payer_id, t.payer_type, t.category, t.state, t.amount_at_risk, t.recovered_amount,
       t.recouped_amount, (t.opened_at AT TIME ZONE $1)::date AS opened_on,
       (t.closed_at AT TIME ZONE $1)::date AS closed_on,
       (SELECT (min(e.at) AT TIME ZONE $1)::date FROM task_events e
        WHERE e.task_id = t.task_id AND e.to_state = 'submitted') AS submitted_on
FROM appeal_tasks t
WHERE $2::text[] IS NULL OR t.queue = ANY($2::text[])
"""


def _rejected(category: str | None, line_statuses: Any) -> bool:
    if category in REJECTION_CATEGORIES:
        return True
    for item in line_statuses or ():
        if isinstance(item, str) and item.split(":", 1)[0] in REJECTION_CATEGORIES:
            return True
    return False


def _no_decisions() -> dict[str, Any]:
    return {"contractual": ZERO, "cost_share": ZERO, "denials": {}}


async def read_facts(db: Fetcher, *, timezone: str, family_of: Callable[[str], str | None],
                     queues: Sequence[str] | None = None) -> tuple[list[ClaimFact], list[TaskFact]]:
    """Every claim and task (of the queues, when given) as KPI facts. `family_of(code) -> family | None` maps
    procedure codes to CPT families (the classifier's procedure catalog)."""
    scope = sorted(queues) if queues is not None else None
    submissions: dict[str, list[SubmissionFact]] = defaultdict(list)
    acks: dict[str, list[AcknowledgementFact]] = defaultdict(list)
    for r in await db.fetch(_TIMELINE, timezone, scope):
        if r["kind"] == "submitted":
            submissions[r["claim_id"]].append(SubmissionFact(at=r["occurred_at"], day=r["day"], payer_id=r["payer_id"],
                                                             frequency_code=r["frequency_code"] or "1"))
        else:
            acks[r["claim_id"]].append(AcknowledgementFact(at=r["occurred_at"],
                                                           rejected=_rejected(r["category"], r["line_statuses"])))

    sums: dict[str, dict[str, Any]] = defaultdict(_no_decisions)
    for r in await db.fetch(_DECISIONS, scope):
        entry = sums[r["event_id"]]
        amount: Decimal = r["amount"] or ZERO
        if r["is_denial"]:
            entry["denials"][r["category"]] = entry["denials"].get(r["category"], ZERO) + amount
        elif r["category"] == "contractual":
            entry["contractual"] += amount
        elif r["category"] == "patient_responsibility":
            entry["cost_share"] += amount

    remits: dict[str, list[RemitFact]] = defaultdict(list)
    for r in await db.fetch(_REMITTANCES, scope):
        s = sums.get(r["event_id"]) or _no_decisions()
        remits[r["claim_id"]].append(RemitFact(
            event_id=r["event_id"], payer_id=r["payer_id"], payer_type=r["payer_type"], status_code=r["status_code"],
            occurred_at=r["occurred_at"], production_date=r["production_date"], total_charge=r["total_charge"],
            total_paid=r["total_paid"], payer_claim_number=r["payer_claim_number"], contractual=s["contractual"],
            cost_share=s["cost_share"], denials=dict(s["denials"])))

    claims = []
    for r in await db.fetch(_CLAIMS, scope):
        codes = {c for c in (*r["submitted_codes"], *r["remitted_codes"]) if c}
        families = frozenset(f for c in codes if (f := family_of(c)))
        cid = r["claim_id"]
        claims.append(ClaimFact(
            claim_id=cid, charge=r["total_charge"], service_date=r["service_date"],
            provider=r["billing_npi"] or r["rendering_npi"], families=families, payer_id=r["payer_id"],
            payer_type=r["payer_type"], submissions=tuple(submissions.get(cid, ())),
            acknowledgements=tuple(acks.get(cid, ())), remittances=tuple(remits.get(cid, ()))))

    tasks = [TaskFact(task_id=r["task_id"], claim_id=r["claim_id"], payer_id=r["payer_id"], payer_type=r["payer_type"],
                      category=r["category"], state=r["state"], opened_on=r["opened_on"],
                      submitted_on=r["submitted_on"], closed_on=r["closed_on"], amount_at_risk=r["amount_at_risk"],
                      recovered_amount=r["recovered_amount"], recouped_amount=r["recouped_amount"])
             for r in await db.fetch(_TASKS, timezone, scope)]
    return claims, tasks


class PostgresKpiStore:
    """The service layer's `KpiStore` port over a pool or a connection; `queues` limits it to those queues' claims
    and tasks (None: the whole practice)."""

    def __init__(self, db: Fetcher, *, timezone: str, family_of: Callable[[str], str | None],
                 queues: Sequence[str] | None = None) -> None:
        self._db = db
        self._timezone = timezone
        self._family_of = family_of
        self._queues = queues

    async def facts(self) -> tuple[list[ClaimFact], list[TaskFact]]:
        return await read_facts(self._db, timezone=self._timezone, family_of=self._family_of, queues=self._queues)
