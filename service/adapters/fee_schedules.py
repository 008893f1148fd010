"""Fee schedules in PostgreSQL: the import (all rows of a file in one transaction) and the per-batch read.

The read returns plain domain values (`FeeRate`) for every (payer, code) pair a batch needs, in one statement.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import asyncpg

from service.domain.fee_schedule import FeeRate

_SELECT = """SELECT payer_id, code, modifier, effective_from, effective_to, amount, source FROM fee_schedules"""


def _rate(r: asyncpg.Record) -> FeeRate:
    return FeeRate(payer_id=r["payer_id"], code=r["code"], modifier=r["modifier"], amount=r["amount"],
                   effective_from=r["effective_from"], effective_to=r["effective_to"], source=r["source"])


async def load_rates(conn: asyncpg.Connection, keys: Iterable[tuple[str, str]]) -> list[FeeRate]:
    """Every row of these (payer, code) pairs, whatever its period (the domain picks the one for the date)."""
    pairs = sorted(set(keys))
    if not pairs:
        return []
    rows = await conn.fetch(
        _SELECT + " WHERE (payer_id, code) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
        [p for p, _ in pairs], [c for _, c in pairs])
    return [_rate(r) for r in rows]


@dataclass(frozen=True, slots=True)
class ImportResult:
    payer_id: str
    rows: int
    inserted: int
    updated: int
    codes: int


async def import_rates(conn: asyncpg.Connection, rates: Sequence[FeeRate]) -> ImportResult:
    """Upsert the rates in one transaction: a row of the same payer, code, modifier and start date is replaced
    (amount, end date, source), so importing a file twice changes nothing."""
    if not rates:
        raise ValueError("no rates to import")
    payers = {r.payer_id for r in rates}
    if len(payers) != 1:
        raise ValueError("one import holds one payer's rates")
    async with conn.transaction():
        rows = await conn.fetch(
            """INSERT INTO fee_schedules (payer_id, code, modifier, effective_from, effective_to, amount, source)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::date[], $6::numeric[],
                                    $7::text[])
               ON CONFLICT (payer_id, code, modifier, effective_from) DO UPDATE
                   SET effective_to = EXCLUDED.effective_to, amount = EXCLUDED.amount, source = EXCLUDED.source,
                       imported_at = now()
               RETURNING (xmax = 0) AS inserted""",
            [r.payer_id for r in rates], [r.code for r in rates], [r.modifier for r in rates],
            [r.effective_from for r in rates], [r.effective_to for r in rates], [r.amount for r in rates],
            [r.source for r in rates])
    inserted = sum(1 for r in rows if r["inserted"])
    return ImportResult(payer_id=payers.pop(), rows=len(rows), inserted=inserted, updated=len(rows) - inserted,
                        codes=len({r.code for r in rates}))


async def list_rates(conn: asyncpg.Connection, payer_id: str, code: str | None = None) -> list[FeeRate]:
    rows = await conn.fetch(
        _SELECT + " WHERE payer_id = $1 AND ($2::text IS NULL OR code = $2) "
                  "ORDER BY code, modifier, effective_from", payer_id, code)
    return [_rate(r) for r in rows]
