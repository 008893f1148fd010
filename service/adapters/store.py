"""The asyncpg unit of work: one transaction per batch, set-based writes (executemany), claims locked in id order.

Locking rule for everyone who writes claims or tasks (stream, API, timers): take the claim row lock
(`SELECT ... FROM claims WHERE claim_id = ANY($1) ORDER BY claim_id FOR UPDATE`) first, in claim-id order.
That serialises writers of one claim and, with a single order, cannot deadlock.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, Literal

import asyncpg

from service.adapters.authorizations import read_authorizations
from service.adapters.fee_schedules import load_rates
from service.adapters.identifiers import IdentifierVault, default_vault, save_identifiers
from service.adapters.sql import PooledTransaction
from service.adapters.task_rows import (
    STREAM_COLUMNS,
    checklist_to_json,
    insert_sql,
    json_text,
    task_from_row,
    task_params,
)
from service.domain import model
from service.domain.authorizations import Authorization
from service.domain.claim import Claim
from service.domain.fee_schedule import FeeRate
from service.domain.ordering import FactKey
from service.service_layer.unit_of_work import Changes, InboxItem, OutboxRecord

OUTBOX_CHANNEL = "denials_outbox"

# The stream's task write: a task it decides again takes every column it owns.
_TASK_UPSERT = """ON CONFLICT (task_id) DO UPDATE SET action = EXCLUDED.action, queue = EXCLUDED.queue,
    state = EXCLUDED.state, appealable = EXCLUDED.appealable, amount_at_risk = EXCLUDED.amount_at_risk,
    recovered_amount = EXCLUDED.recovered_amount, recoverability = EXCLUDED.recoverability,
    deadline = EXCLUDED.deadline, deadline_basis = EXCLUDED.deadline_basis, filing_deadline = EXCLUDED.filing_deadline,
    explanation = EXCLUDED.explanation, rule_ids = EXCLUDED.rule_ids, lines = EXCLUDED.lines,
    checklist = EXCLUDED.checklist, last_event_at = EXCLUDED.last_event_at, closed_at = EXCLUDED.closed_at,
    version = EXCLUDED.version, priority = EXCLUDED.priority, priority_parts = EXCLUDED.priority_parts,
    appeal_level = EXCLUDED.appeal_level, recouped_amount = EXCLUDED.recouped_amount,
    filing_deadline_basis = EXCLUDED.filing_deadline_basis,
    -- a status in effect before the remittance that opened the task may re-found it (late facts)
    origin = EXCLUDED.origin, opened_at = EXCLUDED.opened_at, source_event_id = EXCLUDED.source_event_id,
    updated_at = now()"""


# -- (de)serialising the few domain values kept as JSON -------------------------------------------------------------

def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def submission_to_json(sub: model.Submission) -> dict[str, Any]:
    return {
        "event_id": sub.event_id, "claim_id": sub.claim_id, "occurred_at": sub.occurred_at.isoformat(),
        "payer": {"id": sub.payer.id, "type": sub.payer.type, "name": sub.payer.name},
        "frequency_code": sub.frequency_code, "original_payer_claim_number": sub.original_payer_claim_number,
        "total_charge": json_text(sub.total_charge), "service_date_from": json_text(sub.service_date_from),
        "service_date_to": json_text(sub.service_date_to), "patient_key": sub.patient_key,
        "billing_npi": sub.billing_npi, "rendering_npi": sub.rendering_npi, "diagnoses": list(sub.diagnoses),
        "prior_authorization": sub.prior_authorization,
        "other_payers": [{"id": o.id, "type": o.type, "responsibility": o.responsibility, "name": o.name}
                         for o in sub.other_payers],
        "lines": [{"line_id": line.line_id, "code": line.procedure.code, "modifiers": list(line.procedure.modifiers),
                   "charge": str(line.charge), "units": str(line.units), "service_date": json_text(line.service_date),
                   "diagnosis_pointers": list(line.diagnosis_pointers), **_detail_to_json(line.detail)}
                  for line in sub.lines],
        **({"injury": {"kind": sub.injury.kind, "date_of_injury": json_text(sub.injury.date_of_injury),
                       "state": sub.injury.state, "claim_number_sent": sub.injury.claim_number_sent,
                       "adjuster_sent": sub.injury.adjuster_sent}} if sub.injury else {}),
    }


def _detail_to_json(detail: model.SessionDetail) -> dict[str, Any]:
    if detail.empty:
        return {}
    return {"detail": {"side": detail.side, "levels": list(detail.levels), "intent": detail.intent,
                       "relief_percent": detail.relief_percent, "relief_days": detail.relief_days}}


def _detail_from_json(data: dict[str, Any] | None) -> model.SessionDetail:
    if not data:
        return model.NO_DETAIL
    return model.SessionDetail(side=data.get("side"), levels=tuple(data.get("levels", ())), intent=data.get("intent"),
                           relief_percent=data.get("relief_percent"), relief_days=data.get("relief_days"))


def _injury_from_json(data: dict[str, Any] | None) -> model.Injury | None:
    if not data:
        return None
    return model.Injury(kind=data.get("kind", "workers_comp"), date_of_injury=_date(data.get("date_of_injury")),
                    state=data.get("state"), claim_number_sent=bool(data.get("claim_number_sent")),
                    adjuster_sent=bool(data.get("adjuster_sent")))


def submission_from_json(data: dict[str, Any]) -> model.Submission:
    return model.Submission(
        event_id=data["event_id"], occurred_at=dt.datetime.fromisoformat(data["occurred_at"]),
        payer=model.Payer(**data["payer"]), claim_id=data.get("claim_id", ""), frequency_code=data["frequency_code"],
        original_payer_claim_number=data.get("original_payer_claim_number"),
        total_charge=Decimal(data["total_charge"]) if data.get("total_charge") else None,
        service_date_from=_date(data.get("service_date_from")), service_date_to=_date(data.get("service_date_to")),
        patient_key=data.get("patient_key"), billing_npi=data.get("billing_npi"),
        rendering_npi=data.get("rendering_npi"), diagnoses=tuple(data.get("diagnoses", ())),
        prior_authorization=data.get("prior_authorization"),
        other_payers=tuple(model.OtherPayer(**o) for o in data.get("other_payers", ())),
        lines=tuple(model.SubmittedLine(
            line_id=x["line_id"], procedure=model.Procedure(x["code"], tuple(x["modifiers"])),
            charge=Decimal(x["charge"]), units=Decimal(x["units"]), service_date=_date(x.get("service_date")),
            diagnosis_pointers=tuple(x.get("diagnosis_pointers", ())), detail=_detail_from_json(x.get("detail")))
            for x in data.get("lines", ())),
        injury=_injury_from_json(data.get("injury")),
    )


REMITTANCE_COLUMNS = ("event_id", "claim_id", "payer_id", "payer_type", "payer_claim_number", "status_code",
                      "filing_indicator", "trace_number", "production_date", "total_charge", "total_paid",
                      "patient_responsibility", "balanced", "business_key", "duplicate_of", "occurred_at")
SERVICE_LINE_COLUMNS = ("event_id", "claim_id", "line_id", "procedure_code", "modifiers", "units", "charge", "allowed",
                        "paid", "service_date", "remarks")
DECISION_COLUMNS = ("event_id", "claim_id", "payer_id", "payer_type", "line_id", "adjustment_index", "group_code",
                    "reason", "amount", "remarks", "procedure_code", "modifiers", "service_date", "category",
                    "is_denial", "action", "queue", "appealable", "recoverability", "deadline", "deadline_basis",
                    "filing_deadline", "explanation", "rule_id", "rules_version", "checklist", "task_id",
                    "occurred_at", "filing_deadline_basis")


async def read_history(db: Any, patient_keys: Iterable[str], since: dt.date) -> dict[str, list[model.HistorySession]]:
    """Procedure sessions per patient on or after `since` (a connection or a pool).

    One index probe per patient, whatever the table's statistics say: with `patient_key = ANY($1)` the generic plan
    became a sequential scan once the table outgrew its last ANALYZE, and a batch's history read grew with the whole
    table (the largest cost of a long backlog). OFFSET 0 keeps the planner from flattening the lateral subquery back
    into a hash join over the table. The columns are the primary key's and those it INCLUDEs (migration 0099), so the
    probe reads the patient's adjacent key entries rather than a heap page a row."""
    rows = await db.fetch(
        """SELECT h.* FROM unnest($1::text[]) AS k(patient_key) CROSS JOIN LATERAL (
               SELECT p.patient_key, p.claim_id, p.line_id, p.service_date, p.procedure_code, p.modifiers, p.paid,
                      p.side, p.levels, p.intent, p.relief_percent, p.relief_days
               FROM procedure_history p WHERE p.patient_key = k.patient_key AND p.service_date >= $2
               OFFSET 0) h""",
        list(patient_keys), since)
    out: dict[str, list[model.HistorySession]] = {}
    for r in rows:
        detail = model.SessionDetail(side=r["side"], levels=tuple(r["levels"]), intent=r["intent"],
                                 relief_percent=r["relief_percent"], relief_days=r["relief_days"])
        out.setdefault(r["patient_key"], []).append(model.HistorySession(
            claim_id=r["claim_id"], line_id=r["line_id"], service_date=r["service_date"],
            procedure=model.Procedure(r["procedure_code"], tuple(r["modifiers"])), paid=r["paid"],
            detail=model.NO_DETAIL if detail.empty else detail))
    return out


# -- the unit of work ------------------------------------------------------------------------------------------------

class PostgresUnitOfWork(PooledTransaction):
    """One transaction on a connection acquired from the pool for the duration of the batch."""

    _outside = "use the unit of work inside `async with`"

    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout: float = 10,
                 vault: IdentifierVault | None | Literal["settings"] = "settings") -> None:
        super().__init__(pool=pool, acquire_timeout=acquire_timeout)
        # "settings": the process's configured key (None when there is none: identifiers are not stored)
        self._vault = default_vault() if vault == "settings" else vault

    # -- reads --

    async def claim_inbox(self, items: Iterable[InboxItem]) -> set[str]:
        rows = list(items)
        if not rows:
            return set()
        new = await self.conn.fetch(
            """INSERT INTO inbox (event_id, topic, "partition", "offset", content_digest)
               SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::text[])
               ON CONFLICT (event_id) DO NOTHING RETURNING event_id""",
            [r.event_id for r in rows], [r.topic for r in rows], [r.partition for r in rows],
            [r.offset for r in rows], [r.digest for r in rows],
        )
        return {r["event_id"] for r in new}

    async def inbox_digests(self, event_ids: Iterable[str]) -> dict[str, str | None]:
        rows = await self.conn.fetch("SELECT event_id, content_digest FROM inbox WHERE event_id = ANY($1::text[])",
                                     list(event_ids))
        return {r["event_id"]: r["content_digest"] for r in rows}

    async def known_claims(self, claim_ids: Iterable[str]) -> set[str]:
        rows = await self.conn.fetch("SELECT claim_id FROM claims WHERE claim_id = ANY($1::text[])", list(claim_ids))
        return {r["claim_id"] for r in rows}

    async def load_claims(self, claim_ids: Iterable[str]) -> dict[str, Claim]:
        ids = sorted(set(claim_ids))
        if not ids:
            return {}
        # Create missing rows first (sorted: a single lock order), then lock them all for this transaction.
        await self.conn.execute(
            "INSERT INTO claims (claim_id) SELECT unnest($1::text[]) ORDER BY 1 ON CONFLICT (claim_id) DO NOTHING",
            ids)
        rows = await self.conn.fetch(
            "SELECT * FROM claims WHERE claim_id = ANY($1::text[]) ORDER BY claim_id FOR UPDATE", ids)
        claims: dict[str, Claim] = {}
        for r in rows:
            sub = submission_from_json(r["submission"]) if r["submission"] else None
            claims[r["claim_id"]] = Claim(
                claim_id=r["claim_id"], state=r["state"], state_at=r["state_at"], patient_key=r["patient_key"],
                submission=sub, adjudicated_payers=set(r["adjudicated_payers"]), forwarded=r["forwarded"],
                payer_claim_numbers=set(r["payer_claim_numbers"]), last_event_at=r["last_event_at"],
                line_outcomes={k: (dt.datetime.fromisoformat(v[0]), bool(v[1]))
                               for k, v in (r["line_outcomes"] or {}).items()},
                submissions=[submission_from_json(x) for x in r["submissions"] or ()],
                ledger={k: (FactKey.from_json(v[:4]), v[4], v[5]) for k, v in (r["ledger"] or {}).items()},
                patient_bills={k: tuple((e, Decimal(a)) for e, a in v) for k, v in (r["patient_bills"] or {}).items()},
            )
        for r in await self.conn.fetch("SELECT * FROM appeal_tasks WHERE claim_id = ANY($1::text[])", ids):
            claims[r["claim_id"]].tasks[r["task_id"]] = task_from_row(r)
        return claims

    async def load_history(self, patient_keys: Iterable[str], since: dt.date) -> dict[str, list[model.HistorySession]]:
        return await read_history(self.conn, patient_keys, since)

    async def load_fee_schedule(self, keys: Iterable[tuple[str, str]]) -> list[FeeRate]:
        return await load_rates(self.conn, keys)

    async def load_authorizations(self, member_digests: Iterable[str]) -> list[Authorization]:
        return await read_authorizations(self.conn, member_digests)

    async def find_originals(self, business_keys: Iterable[str]) -> dict[str, str]:
        # One probe of the partial unique index per key (see load_history): with `business_key = ANY($1)` the cached
        # generic plan, made while the table was small, stayed a sequential scan comparing every row with every key,
        # the single most expensive statement of a backlog (13 ms a batch at 20,000 remittances, growing).
        rows = await self.conn.fetch(
            """SELECT r.business_key, r.event_id FROM unnest($1::text[]) AS k(business_key) CROSS JOIN LATERAL (
                   SELECT business_key, event_id FROM remittances
                   WHERE business_key = k.business_key AND duplicate_of IS NULL OFFSET 0) r""",
            list(business_keys))
        return {r["business_key"]: r["event_id"] for r in rows}

    # -- writes --

    async def save(self, changes: Changes) -> None:
        conn = self.conn
        if changes.inbox_outcomes:
            await conn.execute(
                "UPDATE inbox SET outcome = u.outcome FROM unnest($1::text[], $2::text[]) AS u(event_id, outcome) "
                "WHERE inbox.event_id = u.event_id",
                list(changes.inbox_outcomes), list(changes.inbox_outcomes.values()))
        if changes.claims:
            await conn.executemany(
                """UPDATE claims SET patient_key = COALESCE(claims.patient_key, $2), state = $3, state_at = $4,
                       payer_id = COALESCE($5, claims.payer_id), payer_type = COALESCE($6, claims.payer_type),
                       submission = COALESCE($7::jsonb, claims.submission),
                       submitted_at = COALESCE($8, claims.submitted_at),
                       total_charge = COALESCE($9, claims.total_charge),
                       service_date_from = COALESCE($10, claims.service_date_from),
                       service_date_to = COALESCE($11, claims.service_date_to),
                       adjudicated_payers = $12, payer_claim_numbers = $13, forwarded = $14, last_event_at = $15,
                       line_outcomes = $16, submissions = $17, ledger = $18, patient_bills = $19,
                       updated_at = now()
                   WHERE claim_id = $1""",
                [(cl.claim_id, cl.patient_key, cl.state, cl.state_at,
                  cl.submission.payer.id if cl.submission else None,
                  cl.submission.payer.type if cl.submission else None,
                  submission_to_json(cl.submission) if cl.submission else None,
                  cl.submission.occurred_at if cl.submission else None,
                  cl.submission.total_charge if cl.submission else None,
                  cl.submission.service_date_from if cl.submission else None,
                  cl.submission.service_date_to if cl.submission else None,
                  sorted(cl.adjudicated_payers), sorted(cl.payer_claim_numbers), cl.forwarded, cl.last_event_at,
                  {k: [at.isoformat(), paid] for k, (at, paid) in cl.line_outcomes.items()},
                  [submission_to_json(x) for x in cl.submissions],
                  {k: [*key.to_json(), kind, payer] for k, (key, kind, payer) in cl.ledger.items()},
                  {k: [[e, str(a)] for e, a in v] for k, v in cl.patient_bills.items()})
                 for cl in changes.claims])
        if changes.timeline:
            # Append-only rows of events the inbox has just admitted: COPY (no conflict is possible).
            await conn.copy_records_to_table(
                "claim_events", columns=("claim_id", "event_id", "kind", "occurred_at", "payer_id", "summary"),
                records=[(t.claim_id, t.event_id, t.kind, t.occurred_at, t.payer_id, t.summary)
                         for t in changes.timeline])
        history: list[tuple] = []  # the patients' procedure history, written once below
        if changes.remittances:
            await conn.copy_records_to_table(
                "remittances", columns=REMITTANCE_COLUMNS,
                records=[(r.event_id, r.claim_id, r.payer.id, r.payer.type, r.payer_claim_number, r.status_code,
                  r.filing_indicator, r.trace_number, r.production_date, r.total_charge, r.total_paid,
                  r.patient_responsibility, r.balanced, key, dup, r.occurred_at)
                         for r, key, dup in changes.remittances])
            originals = [r for r, _, dup in changes.remittances if dup is None]
            lines = [(r.event_id, r.claim_id, x.line_id, x.procedure.code, list(x.procedure.modifiers), x.units,
                      x.charge, x.allowed, x.paid, x.service_date, list(x.remarks))
                     for r in originals for x in r.lines]
            if lines:
                await conn.copy_records_to_table("service_lines", columns=SERVICE_LINE_COLUMNS, records=lines)
            history.extend((r.patient_key, r.claim_id, x.line_id, x.service_date, x.procedure.code,
                            x.procedure.modifiers, x.covered, r.occurred_at, model.NO_DETAIL)
                           for r in originals if r.patient_key and not r.is_reversal
                           for x in r.lines if x.service_date)
        if changes.submissions:
            history.extend(
                (s.patient_key, s.claim_id, x.line_id, x.service_date, x.procedure.code, x.procedure.modifiers,
                 None, s.occurred_at, x.detail)
                for s in changes.submissions if s.patient_key and s.frequency_code != "8" for x in s.lines
                if x.service_date)
        await self._upsert_history(history)
        if changes.decisions:
            await conn.copy_records_to_table(
                "decisions", columns=DECISION_COLUMNS,
                records=[(row.remittance.event_id, row.remittance.claim_id, row.remittance.payer.id,
                  row.remittance.payer.type, d.line_id, d.adjustment_index, d.group, d.reason, d.amount,
                  list(d.remarks), d.procedure.code if d.procedure else None,
                  list(d.procedure.modifiers) if d.procedure else [], d.service_date, d.category, d.is_denial,
                  d.action, d.queue, d.appealable, d.recoverability, d.deadline, d.deadline_basis,
                  d.filing_deadline, d.explanation, d.rule_id, d.rules_version, checklist_to_json(d.checklist),
                  row.task_id, row.remittance.occurred_at, d.filing_deadline_basis)
                 for row in changes.decisions for d in (row.decision,)])
        tasks = [t for cl in changes.claims for t in cl.tasks.values() if t.changed]
        if tasks:
            await conn.executemany(insert_sql(STREAM_COLUMNS, _TASK_UPSERT), task_params(tasks, STREAM_COLUMNS))
            for t in tasks:
                t.changed = False
        if changes.task_audit:
            await conn.copy_records_to_table(
                "task_events", columns=("task_id", "at", "actor", "change", "from_state", "to_state", "note",
                                        "causation_id"),
                records=[(a.task_id, a.at, a.actor, a.change, a.from_state, a.to_state, a.note, a.causation_id)
                         for a in changes.task_audit])
        if changes.batch_statuses:
            await conn.executemany(
                """INSERT INTO batch_statuses (event_id, kind, payer_id, level, category, code, entity, action_code,
                       effective_date, occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                   ON CONFLICT (event_id) DO NOTHING""",
                [(s.event_id, s.kind, s.payer.id, s.scope_level, s.status.category, s.status.code, s.status.entity,
                  s.status.action_code, s.status.effective_date, s.occurred_at) for s in changes.batch_statuses])
        if changes.provider_adjustments:
            await conn.executemany(
                """INSERT INTO provider_adjustments (event_id, payer_id, payee_npi, reason, reference, claim_id, amount,
                       production_date, trace_number, linked, occurred_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (event_id) DO NOTHING""",
                [(a.event_id, a.payer.id, a.payee_npi, a.reason, a.reference, a.claim_id, a.amount,
                  a.production_date, a.trace_number, linked, a.occurred_at)
                 for a, linked in changes.provider_adjustments])
        if changes.identifiers and self._vault is not None:
            await save_identifiers(conn, self._vault, changes.identifiers)
        # the stream's rows are new by construction (the inbox admitted their cause): no conflict check
        await add_to_outbox(conn, changes.outbox, if_new=False)
        # The KPIs' analysis of the claims written here (kpi_claims) is not recomputed in this transaction: the
        # tables' triggers mark them dirty and the KPI read refreshes dirty claims before it sums. Refreshing here kept
        # the rows current at every commit but cost the worker a third of its throughput and quadrupled its p99
        # (docs/performance.md, "KPIs at scale").

    async def _upsert_history(self, rows: list[tuple]) -> None:
        """Rows (patient_key, claim_id, line_id, service_date, code, modifiers, paid, at, detail) in the batch's order,
        as one statement. One INSERT ... ON CONFLICT may not touch a row twice, so a line seen twice in the batch (its
        submission and its remittance, say) is folded first the way successive upserts would have left it: the last
        row wins, except that nothing erases a known `paid` (a submission never undoes what a remittance said) or
        what a submission documented (side, levels, intent, relief: a remittance carries none of them)."""
        if not rows:
            return
        folded: dict[tuple, tuple] = {}
        for row in rows:
            key = row[:3]
            before = folded.get(key)
            if before is not None:
                row = (*row[:6], before[6] if row[6] is None else row[6], max(row[7], before[7]),
                       before[8] if row[8].empty else row[8])
            folded[key] = row
        columns = list(zip(*(row[:8] for row in folded.values()), strict=True))
        # modifiers and levels travel as "25,59" / "L4-L5,L5-S1" (contract: no commas in either): a text[][] cannot
        # hold ragged lists
        columns[5] = tuple(",".join(m) for m in columns[5])
        details = [row[8] for row in folded.values()]
        columns += [tuple(d.side for d in details), tuple(",".join(d.levels) for d in details),
                    tuple(d.intent for d in details), tuple(d.relief_percent for d in details),
                    tuple(d.relief_days for d in details)]
        await self.conn.execute(
            """INSERT INTO procedure_history (patient_key, claim_id, line_id, service_date, procedure_code, modifiers,
                   paid, updated_at, side, levels, intent, relief_percent, relief_days)
               SELECT patient_key, claim_id, line_id, service_date, code, string_to_array(modifiers, ','), paid, at,
                      side, COALESCE(string_to_array(NULLIF(levels, ''), ','), '{}'), intent, relief_percent,
                      relief_days
               FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::text[], $6::text[], $7::bool[],
                           $8::timestamptz[], $9::text[], $10::text[], $11::text[], $12::smallint[], $13::int[])
                    AS u(patient_key, claim_id, line_id, service_date, code, modifiers, paid, at, side, levels, intent,
                         relief_percent, relief_days)
               ON CONFLICT (patient_key, claim_id, line_id) DO UPDATE SET service_date = EXCLUDED.service_date,
                   procedure_code = EXCLUDED.procedure_code, modifiers = EXCLUDED.modifiers,
                   paid = COALESCE(EXCLUDED.paid, procedure_history.paid),
                   side = COALESCE(EXCLUDED.side, procedure_history.side),
                   levels = CASE WHEN cardinality(EXCLUDED.levels) > 0 THEN EXCLUDED.levels
                                 ELSE procedure_history.levels END,
                   intent = COALESCE(EXCLUDED.intent, procedure_history.intent),
                   relief_percent = COALESCE(EXCLUDED.relief_percent, procedure_history.relief_percent),
                   relief_days = COALESCE(EXCLUDED.relief_days, procedure_history.relief_days),
                   updated_at = GREATEST(EXCLUDED.updated_at, procedure_history.updated_at)""", *columns)


async def add_to_outbox(conn: asyncpg.Connection, records: Sequence[OutboxRecord], *, if_new: bool = True) -> None:
    """Outbox rows and their places in the publishing queue (outbox_pending), in one statement and in the records'
    order: ids follow that order, and the relay publishes by id (per-claim order). The relay is woken when the
    transaction commits (PostgreSQL folds repeated NOTIFYs). `if_new` (API task changes, timers): skip event ids
    already on file and queue nothing for them, so a re-run writes nothing twice."""
    if not records:
        return
    conflict = "ON CONFLICT (causation_id, event_id) DO NOTHING" if if_new else ""  # migration 0098
    await conn.execute(
        f"""WITH written AS (
                INSERT INTO outbox (event_id, topic, key, payload, causation_id)
                SELECT event_id, topic, key, payload, causation_id
                FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bytea[], $5::text[])
                     WITH ORDINALITY AS r(event_id, topic, key, payload, causation_id, n)
                ORDER BY n {conflict} RETURNING id, created_at)
            INSERT INTO outbox_pending (id, created_at) SELECT id, created_at FROM written""",
        [r.event_id for r in records], [r.topic for r in records], [r.key for r in records],
        [r.payload for r in records], [r.causation_id for r in records])
    await conn.execute(f"NOTIFY {OUTBOX_CHANNEL}")


async def record_dead_letter(conn: asyncpg.Connection, *, dead_letter_id: str, source_topic: str,
                             source_partition: int, source_offset: int, source_event_id: str | None,
                             key: bytes | None, value: bytes | None, error_class: str, reason: str, attempts: int,
                             first_failed_at: dt.datetime, value_size: int | None = None,
                             value_digest: str | None = None, value_truncated: bool = False,
                             detail: dict[str, Any] | None = None, replay_of: str | None = None) -> bool:
    """Store a dead letter (idempotent by its id). A replayed record that fails again, unchanged (the same value
    digest as the letter it was replayed from), adds no second copy: that letter counts one more attempt, takes the
    latest reason and is `new` again. True when a row was written or updated."""
    if replay_of and value_digest:
        returned = {"dead_letter_id": dead_letter_id, "partition": source_partition, "offset": source_offset,
                    "at": dt.datetime.now(dt.UTC).isoformat()}
        updated = await conn.fetchval(
            """UPDATE dead_letters SET attempts = attempts + 1, status = 'new', error_class = $3, reason = $4,
                   detail = COALESCE(detail, '{}'::jsonb) || jsonb_build_object('returned_after_replay', $5::jsonb)
               WHERE dead_letter_id = $1 AND value_digest = $2 AND source_topic = $6 AND status <> 'resolved'
               RETURNING id""",
            replay_of, value_digest, error_class, reason, returned, source_topic)
        if updated is not None:
            return True
    written = await conn.fetchval(
        """INSERT INTO dead_letters (dead_letter_id, source_topic, source_partition, source_offset, source_event_id,
               key, value, error_class, reason, attempts, first_failed_at, value_size, value_digest, value_truncated,
               detail)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
           ON CONFLICT (dead_letter_id) DO NOTHING RETURNING id""",
        dead_letter_id, source_topic, source_partition, source_offset, source_event_id, key, value, error_class,
        reason, attempts, first_failed_at, len(value or b"") if value_size is None else value_size, value_digest,
        value_truncated, detail)
    return written is not None


def json_dumps(value: Any) -> str:
    return json.dumps(value, default=str)
