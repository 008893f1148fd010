"""SQL behind the pre-submission check (asyncpg): what it reads besides the claim (the patients' history and earlier
submissions, the authorization register, the imported NCCI tables, the enabled prevention rules), what it writes
(each claim's outcome), and the imports that fill the register and the NCCI tables.

Every read is one statement for a whole batch of claims; every value is a bind parameter. Member ids never reach
this module: the register is keyed by their digest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from service.adapters.authorizations import read_authorizations
from service.adapters.prevention import denied_lines
from service.adapters.store import read_history, submission_from_json
from service.domain.authorizations import Authorization
from service.domain.model import HistorySession
from service.domain.presubmission import ClaimOutcome, MueEdit, NcciTables, PreventionCheck, PriorSubmission, PtpEdit
from service.domain.prevention import DeniedLine, covered_categories, load_prevention_book

SCHEMA_CHECK = "SELECT to_regclass('check_outcomes') IS NOT NULL"


class PostgresCheckStore:
    """The check's `CheckStore` port over a pool or a connection."""

    def __init__(self, db: Any) -> None:
        self._db = db

    async def history(self, patient_keys: Iterable[str], since: dt.date) -> dict[str, list[HistorySession]]:
        keys = sorted(set(patient_keys))
        return await read_history(self._db, keys, since) if keys else {}

    async def earlier_submissions(self, patient_keys: Iterable[str],
                                  claim_ids: Iterable[str]) -> dict[str, list[PriorSubmission]]:
        """The stored submission of every claim of these patients and of these claim ids, by patient key ("" for a
        claim whose patient is not known)."""
        rows = await self._db.fetch(
            """SELECT claim_id, patient_key, state, submission FROM claims
               WHERE submission IS NOT NULL AND (patient_key = ANY($1::text[]) OR claim_id = ANY($2::text[]))""",
            sorted(set(patient_keys)), sorted(set(claim_ids)))
        out: dict[str, list[PriorSubmission]] = {}
        for r in rows:
            sub = submission_from_json(r["submission"])
            out.setdefault(r["patient_key"] or "", []).append(PriorSubmission(sub, accepted=r["state"] != "rejected"))
        return out

    async def authorizations(self, member_digests: Iterable[str]) -> list[Authorization]:
        return await read_authorizations(self._db, member_digests)

    async def ncci(self, codes: Iterable[str]) -> NcciTables:
        wanted = sorted(set(codes))
        ptp = await self._db.fetch(
            """SELECT column1, column2, effective, deletion, modifier_indicator, rationale FROM ncci_ptp
               WHERE column2 = ANY($1::text[]) AND column1 = ANY($1::text[])""", wanted)
        mue = await self._db.fetch(
            "SELECT code, max_units, adjudication, rationale FROM ncci_mue WHERE code = ANY($1::text[])", wanted)
        loaded = await self._db.fetchrow(
            "SELECT EXISTS (SELECT 1 FROM ncci_ptp) AS ptp, EXISTS (SELECT 1 FROM ncci_mue) AS mue")
        return NcciTables.of((PtpEdit(**dict(r)) for r in ptp), (MueEdit(**dict(r)) for r in mue),
                             ptp_loaded=loaded["ptp"], mue_loaded=loaded["mue"])

    async def enabled_prevention(self) -> list[PreventionCheck]:
        return await enabled_prevention_rules(self._db)

    async def record_outcomes(self, outcomes: Sequence[ClaimOutcome], origin: str) -> None:
        if not outcomes:
            return
        await self._db.execute(
            """INSERT INTO check_outcomes (claim_id, event_id, outcome, denies, warnings, rule_ids, origin)
               SELECT u.claim_id, u.event_id, u.outcome, u.denies, u.warnings, string_to_array(u.rule_ids, ','),
                      $7
               FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[], $6::text[])
                    AS u(claim_id, event_id, outcome, denies, warnings, rule_ids)
               ON CONFLICT (claim_id, event_id) DO UPDATE SET outcome = EXCLUDED.outcome, denies = EXCLUDED.denies,
                   warnings = EXCLUDED.warnings, rule_ids = EXCLUDED.rule_ids, origin = EXCLUDED.origin,
                   checked_at = now()""",
            [o.claim_id for o in outcomes], [o.event_id for o in outcomes], [o.outcome for o in outcomes],
            [o.denies for o in outcomes], [o.warnings for o in outcomes], [",".join(o.rule_ids) for o in outcomes],
            origin)


# -- NCCI tables ----------------------------------------------------------------------------------------------------

async def save_ptp(conn: Any, edits: Iterable[PtpEdit], source: str) -> int:
    """Upsert PTP edits by (column 1, column 2, effective date) through a temporary table (a full table has over a
    million rows: COPY, then one statement). Run inside a transaction."""
    await conn.execute("CREATE TEMP TABLE ptp_in (LIKE ncci_ptp INCLUDING DEFAULTS) ON COMMIT DROP")
    await conn.copy_records_to_table(
        "ptp_in", columns=("column1", "column2", "effective", "deletion", "modifier_indicator", "rationale", "source"),
        records=((e.column1, e.column2, e.effective, e.deletion, e.modifier_indicator, e.rationale, source)
                 for e in edits))
    status = await conn.execute(
        """INSERT INTO ncci_ptp (column1, column2, effective, deletion, modifier_indicator, rationale, source)
           SELECT DISTINCT ON (column2, column1, effective) column1, column2, effective, deletion, modifier_indicator,
                  rationale, source FROM ptp_in ORDER BY column2, column1, effective
           ON CONFLICT (column2, column1, effective) DO UPDATE SET deletion = EXCLUDED.deletion,
               modifier_indicator = EXCLUDED.modifier_indicator, rationale = EXCLUDED.rationale,
               source = EXCLUDED.source, imported_at = now()""")
    return int(status.split()[-1])


async def save_mue(conn: Any, edits: Iterable[MueEdit], source: str) -> int:
    rows = {e.code: e for e in edits}  # the file's last row for a code wins
    status = await conn.execute(
        """INSERT INTO ncci_mue (code, max_units, adjudication, rationale, source)
           SELECT *, $5 FROM unnest($1::text[], $2::int[], $3::text[], $4::text[])
           ON CONFLICT (code) DO UPDATE SET max_units = EXCLUDED.max_units, adjudication = EXCLUDED.adjudication,
               rationale = EXCLUDED.rationale, source = EXCLUDED.source, imported_at = now()""",
        list(rows), [e.max_units for e in rows.values()], [e.adjudication for e in rows.values()],
        [e.rationale for e in rows.values()], source)
    return int(status.split()[-1])


class PostgresPreventionStore:
    """The `PreventionStore` port: the window's denied lines (every queue) and the enabled prevention rules."""

    def __init__(self, db: Any) -> None:
        self._db = db

    async def denied_lines(self, since: dt.datetime, until: dt.datetime) -> list[DeniedLine]:
        book = load_prevention_book()
        lines, _ = await denied_lines(self._db, since=since, until=until, categories=covered_categories(book),
                                      queues=None, payer_id=None, procedure_code=None)
        return lines

    async def enabled(self) -> list[PreventionCheck]:
        return await enabled_prevention_rules(self._db)

    async def enable(self, rule: PreventionCheck, actor: str) -> bool:
        return await enable_prevention_rule(self._db, rule, actor)

    async def disable(self, key: str) -> bool:
        return await disable_prevention_rule(self._db, key)


# -- prevention rules a user enabled --------------------------------------------------------------------------------

async def enabled_prevention_rules(db: Any) -> list[PreventionCheck]:
    rows = await db.fetch(
        """SELECT key, payer_id, procedure_code, condition, category, rule_text, check_text
           FROM check_prevention_rules ORDER BY key""")
    return [PreventionCheck(key=r["key"], payer_id=r["payer_id"], procedure_code=r["procedure_code"],
                            condition=r["condition"], category=r["category"], text=r["rule_text"],
                            check=r["check_text"]) for r in rows]


async def enable_prevention_rule(db: Any, rule: PreventionCheck, actor: str) -> bool:
    """Enable (or refresh the text of) a prevention rule; True when it was not enabled before."""
    row = await db.fetchrow(
        """INSERT INTO check_prevention_rules (key, payer_id, procedure_code, condition, category, rule_text,
               check_text, enabled_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (key) DO UPDATE SET rule_text = EXCLUDED.rule_text, check_text = EXCLUDED.check_text
           RETURNING (xmax = 0) AS added""",
        rule.key, rule.payer_id, rule.procedure_code, rule.condition, rule.category, rule.text, rule.check, actor)
    return bool(row["added"])


async def disable_prevention_rule(db: Any, key: str) -> bool:
    status = await db.execute("DELETE FROM check_prevention_rules WHERE key = $1", key)
    return status.endswith(" 1")


# -- the dashboard: denial rate of claims that passed the check vs those it flagged ----------------------------------

@dataclass(frozen=True, slots=True)
class OutcomeRate:
    outcome: str  # passed | warned | flagged
    claims: int
    adjudicated: int
    denied: int
    denied_amount: Decimal


# A team token sees the outcomes of the claims its queues work: those with a task in one of them.
_LATEST_IN_SCOPE = """
    SELECT DISTINCT ON (claim_id) claim_id, {columns} FROM check_outcomes
    WHERE $1::text[] IS NULL OR claim_id IN (SELECT claim_id FROM appeal_tasks WHERE queue = ANY($1::text[]))
    ORDER BY claim_id, checked_at DESC"""


async def outcome_rates(db: Any, queues: Sequence[str] | None = None) -> list[OutcomeRate]:
    """Per outcome of each claim's latest check: how many of those claims a payer adjudicated and how many had a
    denial (any line denied on any of its remittances that is not a business-key duplicate or a reversal). With
    `queues`, only the claims that have a task in one of them."""
    rows = await db.fetch(
        """WITH latest AS (""" + _LATEST_IN_SCOPE.format(columns="outcome") + """),
           adjudicated AS (
               SELECT r.claim_id, coalesce(sum(d.amount) FILTER (WHERE d.is_denial), 0) AS denied,
                      bool_or(coalesce(d.is_denial, false)) AS any_denial
               FROM remittances r LEFT JOIN decisions d ON d.event_id = r.event_id
               WHERE r.duplicate_of IS NULL AND r.status_code <> '22' AND r.claim_id IN (SELECT claim_id FROM latest)
               GROUP BY r.claim_id)
           SELECT l.outcome, count(*) AS claims, count(a.claim_id) AS adjudicated,
                  count(*) FILTER (WHERE a.any_denial) AS denied, coalesce(sum(a.denied), 0) AS denied_amount
           FROM latest l LEFT JOIN adjudicated a ON a.claim_id = l.claim_id
           GROUP BY l.outcome""", sorted(queues) if queues is not None else None)
    return [OutcomeRate(outcome=r["outcome"], claims=r["claims"], adjudicated=r["adjudicated"], denied=r["denied"],
                        denied_amount=r["denied_amount"]) for r in rows]


async def rule_counts(db: Any, limit: int = 20, queues: Sequence[str] | None = None) -> list[tuple[str, int]]:
    """How many claims (latest check) each rule flagged, most first (with `queues`: of the claims with a task in
    one of them)."""
    rows = await db.fetch(
        """WITH latest AS (""" + _LATEST_IN_SCOPE.format(columns="rule_ids") + """)
           SELECT rule_id, count(*) AS claims FROM latest, unnest(rule_ids) AS rule_id
           GROUP BY rule_id ORDER BY count(*) DESC, rule_id LIMIT $2""", sorted(queues) if queues is not None else None,
        limit)
    return [(r["rule_id"], r["claims"]) for r in rows]
