"""SQL behind the web page's reads (asyncpg): the work list with a CPT-family filter, filter choices, a task's
decisions, and the facts of an appeal letter (claim, tasks, decisions, the patient's procedure history).

Reads only, every value a bind parameter. The patient key joins the history inside the query and never leaves
this module: the letter gets procedure sessions and the other claims' diagnoses, not identifiers (those are
decrypted apart, `service.adapters.identifiers`, and only for a letter that is drafted)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

import asyncpg

from service.adapters.sql import Params, where_clause
from service.adapters.task_store import AT_RISK_SQL, scope_filters, work_task_from_row
from service.domain.letters import ClaimFactsForLetter, DatedDiagnoses, DenialForLetter
from service.domain.model import HistorySession, OtherPayer, Procedure, SubmittedLine
from service.service_layer.tasks_api import ClaimSummary, TaskView
from service.service_layer.workbench import DecisionRow, LetterFacts, WorklistQuery

OPEN_STATES = ["open", "in_progress", "submitted"]
HISTORY_YEARS = 3  # the letter looks at most this far back (criteria look back 12 months; duration a few more)

_SORTS = {
    "priority": "t.priority DESC, LEAST(t.deadline, t.filing_deadline) ASC NULLS LAST, t.opened_at, t.task_id",
    "deadline": "LEAST(t.deadline, t.filing_deadline) ASC NULLS LAST, t.priority DESC, t.task_id",
    "amount_at_risk": "t.amount_at_risk DESC, t.priority DESC, t.task_id",
    "at_risk": f"{AT_RISK_SQL} DESC, t.amount_at_risk DESC, t.priority DESC, t.task_id",
    "opened_at": "t.opened_at DESC, t.task_id",
}

_CLAIM = """c.claim_id AS c_claim_id, c.state AS c_state, c.payer_id AS c_payer_id, c.payer_type AS c_payer_type,
    c.total_charge AS c_total_charge, c.service_date_from AS c_service_date_from,
    c.service_date_to AS c_service_date_to, c.submitted_at AS c_submitted_at, c.last_event_at AS c_last_event_at,
    c.adjudicated_payers AS c_adjudicated_payers, c.payer_claim_numbers AS c_payer_claim_numbers,
    c.forwarded AS c_forwarded"""


def _claim(r: asyncpg.Record) -> ClaimSummary | None:
    if r["c_claim_id"] is None:
        return None
    return ClaimSummary(
        claim_id=r["c_claim_id"], state=r["c_state"], payer_id=r["c_payer_id"], payer_type=r["c_payer_type"],
        total_charge=r["c_total_charge"], service_date_from=r["c_service_date_from"],
        service_date_to=r["c_service_date_to"], submitted_at=r["c_submitted_at"],
        last_event_at=r["c_last_event_at"], adjudicated_payers=tuple(r["c_adjudicated_payers"] or ()),
        payer_claim_numbers=tuple(r["c_payer_claim_numbers"] or ()), forwarded=r["c_forwarded"])


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def _submitted_lines(submission: dict[str, Any] | None) -> tuple[SubmittedLine, ...]:
    out = []
    for x in (submission or {}).get("lines") or ():
        try:
            out.append(SubmittedLine(line_id=str(x["line_id"]), procedure=Procedure(x["code"], tuple(x["modifiers"])),
                                     charge=Decimal(str(x.get("charge") or "0")),
                                     units=Decimal(str(x.get("units") or "1")),
                                     service_date=_date(x.get("service_date")),
                                     diagnosis_pointers=tuple(int(p) for p in x.get("diagnosis_pointers") or ())))
        except (KeyError, TypeError, ValueError, InvalidOperation):
            continue  # a line the store wrote in another shape: the letter falls back to the task's lines
    return tuple(out)


class PostgresWorkbench:
    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout: float = 10) -> None:
        self._pool = pool
        self._acquire_timeout = acquire_timeout

    async def find_worklist(self, q: WorklistQuery) -> list[TaskView]:
        arg = Params()
        where = scope_filters(q, arg)
        if q.claim is not None:
            p = arg(q.claim.strip().lower())
            where.append(f"(lower(t.claim_id) = {p} OR EXISTS (SELECT 1 FROM unnest(c.payer_claim_numbers) n "
                         f"WHERE lower(n) = {p}))")
        if q.codes:
            where.append(f"""EXISTS (SELECT 1 FROM jsonb_array_elements(t.lines) l
                                     WHERE l->>'procedure_code' = ANY({arg(list(q.codes))}::text[]))""")
        order = _SORTS[q.sort]  # a fixed table: KeyError on anything else
        sql = (f"SELECT t.*, {_CLAIM} FROM appeal_tasks t LEFT JOIN claims c ON c.claim_id = t.claim_id"
               + where_clause(where) + f" ORDER BY {order} LIMIT {arg(q.limit)} OFFSET {arg(q.offset)}")
        async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
            rows = await conn.fetch(sql, *arg.values)
        return [TaskView(task=work_task_from_row(r), claim=_claim(r)) for r in rows]

    async def facets(self, queues: frozenset[str] | None) -> tuple[list[str], list[str], list[str]]:
        scope = sorted(queues) if queues is not None else None
        async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
            row = await conn.fetchrow(
                """SELECT array(SELECT DISTINCT payer_id FROM appeal_tasks
                                WHERE state = ANY($2::text[]) AND ($1::text[] IS NULL OR queue = ANY($1::text[]))
                                ORDER BY 1) AS payers,
                          array(SELECT DISTINCT category FROM appeal_tasks
                                WHERE state = ANY($2::text[]) AND ($1::text[] IS NULL OR queue = ANY($1::text[]))
                                ORDER BY 1) AS categories,
                          array(SELECT DISTINCT l->>'procedure_code'
                                FROM appeal_tasks t, jsonb_array_elements(t.lines) l
                                WHERE t.state = ANY($2::text[]) AND ($1::text[] IS NULL OR t.queue = ANY($1::text[]))
                                  AND l->>'procedure_code' IS NOT NULL
                                ORDER BY 1) AS codes""", scope, OPEN_STATES)
        return list(row["payers"]), list(row["categories"]), list(row["codes"])

    async def task_decisions(self, task_id: str) -> list[DecisionRow]:
        # by the task's claim (decisions_claim; migration 0100 dropped the index on task_id)
        rows = await self._pool.fetch(
            """SELECT d.* FROM appeal_tasks t JOIN decisions d ON d.claim_id = t.claim_id AND d.task_id = t.task_id
               WHERE t.task_id = $1 ORDER BY d.occurred_at, d.line_id NULLS FIRST, d.adjustment_index, d.id""",
            task_id)
        return [DecisionRow(
            event_id=r["event_id"], occurred_at=r["occurred_at"], line_id=r["line_id"], group=r["group_code"],
            reason=r["reason"], remarks=tuple(r["remarks"]), amount=r["amount"], procedure_code=r["procedure_code"],
            modifiers=tuple(r["modifiers"]), service_date=r["service_date"], category=r["category"],
            action=r["action"], appealable=r["appealable"], explanation=r["explanation"], rule_id=r["rule_id"],
            rules_version=r["rules_version"]) for r in rows]

    async def letter_facts(self, task_id: str) -> LetterFacts | None:
        async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
            head = await conn.fetchrow("SELECT claim_id, payer_id FROM appeal_tasks WHERE task_id = $1", task_id)
            if head is None:
                return None
            claim_id, payer_id = head["claim_id"], head["payer_id"]
            claim = await conn.fetchrow(
                """SELECT c.*,
                          (SELECT min(occurred_at) FROM claim_events e
                           WHERE e.claim_id = c.claim_id AND e.kind = 'submitted') AS first_submitted,
                          (SELECT min(occurred_at) FROM claim_events e
                           WHERE e.claim_id = c.claim_id AND e.kind = 'acknowledgement'
                             AND e.summary->>'category' IN ('A1', 'A2')) AS first_accepted
                   FROM claims c WHERE c.claim_id = $1""", claim_id)
            tasks = await conn.fetch(
                "SELECT * FROM appeal_tasks WHERE claim_id = $1 AND payer_id = $2 ORDER BY opened_at, task_id",
                claim_id, payer_id)
            # the letter goes to one payer: only that payer's claim numbers (a crossover's ICN is another payer's)
            icns = await conn.fetch(
                """SELECT payer_claim_number FROM remittances
                   WHERE claim_id = $1 AND payer_id = $2 AND payer_claim_number IS NOT NULL
                   GROUP BY payer_claim_number ORDER BY min(occurred_at), payer_claim_number""", claim_id, payer_id)
            ids = [r["task_id"] for r in tasks]
            # the latest decision per task, line and code: a task denied again keeps its newest reading
            decisions = await conn.fetch(
                """SELECT DISTINCT ON (task_id, line_id, group_code, reason) *
                   FROM decisions WHERE claim_id = $2 AND task_id = ANY($1::text[]) AND is_denial
                   ORDER BY task_id, line_id, group_code, reason, occurred_at DESC, id DESC""", ids, claim_id)
            history: list[asyncpg.Record] = []
            others: list[asyncpg.Record] = []
            if claim is not None and claim["patient_key"]:
                since = (claim["service_date_from"] or dt.date.today()) - dt.timedelta(days=366 * HISTORY_YEARS)
                history = await conn.fetch(
                    """SELECT claim_id, line_id, service_date, procedure_code, modifiers, paid FROM procedure_history
                       WHERE patient_key = $1 AND service_date >= $2 ORDER BY service_date, claim_id, line_id""",
                    claim["patient_key"], since)
                # the diagnoses of the patient's other claims: evidence of what the record documents
                others = await conn.fetch(
                    """SELECT service_date_from, submission->'diagnoses' AS diagnoses FROM claims
                       WHERE patient_key = $1 AND claim_id <> $2 AND service_date_from >= $3
                         AND submission IS NOT NULL
                       ORDER BY service_date_from DESC LIMIT 200""", claim["patient_key"], claim_id, since)
        submission = claim["submission"] if claim is not None else None
        sub_payer = (submission or {}).get("payer") or {}
        facts = ClaimFactsForLetter(
            claim_id=claim_id, payer_id=payer_id, payer_type=tasks[0]["payer_type"],
            payer_name=sub_payer.get("name") if sub_payer.get("id") == payer_id else None,
            payer_claim_numbers=tuple(r["payer_claim_number"] for r in icns),
            service_date_from=claim["service_date_from"] if claim else None,
            service_date_to=claim["service_date_to"] if claim else None,
            total_charge=claim["total_charge"] if claim else None,
            billing_npi=(submission or {}).get("billing_npi"), rendering_npi=(submission or {}).get("rendering_npi"),
            diagnoses=tuple((submission or {}).get("diagnoses") or ()),
            prior_authorization=(submission or {}).get("prior_authorization"),
            submitted_lines=_submitted_lines(submission),
            first_submitted=claim["first_submitted"].date() if claim and claim["first_submitted"] else None,
            first_accepted=claim["first_accepted"].date() if claim and claim["first_accepted"] else None,
            other_payers=tuple(OtherPayer(**o) for o in (submission or {}).get("other_payers") or ()),
            adjudicated_by=tuple(sorted(claim["adjudicated_payers"] or ())) if claim else ())
        return LetterFacts(
            claim=facts, tasks=tuple(work_task_from_row(r) for r in tasks),
            decisions=tuple(DenialForLetter(
                task_id=r["task_id"], line_id=r["line_id"], group=r["group_code"], reason=r["reason"],
                remarks=tuple(r["remarks"]), amount=r["amount"], procedure_code=r["procedure_code"],
                modifiers=tuple(r["modifiers"]), service_date=r["service_date"], explanation=r["explanation"],
                rule_id=r["rule_id"])
                for r in decisions),
            history=tuple(HistorySession(claim_id=r["claim_id"], line_id=r["line_id"], service_date=r["service_date"],
                                         procedure=Procedure(r["procedure_code"], tuple(r["modifiers"])),
                                         paid=r["paid"]) for r in history),
            other_diagnoses=tuple(DatedDiagnoses(r["service_date_from"], tuple(str(d) for d in r["diagnoses"]))
                                  for r in others if r["service_date_from"] and isinstance(r["diagnoses"], list)))
