"""The authorization register in PostgreSQL: read the authorizations of a batch's members (one statement), and add
or update authorizations from an import or the API. Rows are keyed by a digest of the member id, never the id."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from service.domain.authorizations import Authorization

_AUTH_COLUMNS = "payer_id, member_digest, auth_number, scope, valid_from, valid_to, side, levels, units, sessions"


def _authorization(r: Any) -> Authorization:
    return Authorization(payer_id=r["payer_id"], member_digest=r["member_digest"], auth_number=r["auth_number"],
                         scope=r["scope"], valid_from=r["valid_from"], valid_to=r["valid_to"], side=r["side"],
                         levels=r["levels"], units=r["units"], sessions=r["sessions"])


async def read_authorizations(db: Any, member_digests: Iterable[str]) -> list[Authorization]:
    """Every authorization on file for these members (one index probe per digest, one statement)."""
    digests = sorted(set(member_digests))
    if not digests:
        return []
    rows = await db.fetch(
        f"""SELECT a.* FROM unnest($1::text[]) AS k(member_digest) CROSS JOIN LATERAL (
                SELECT {_AUTH_COLUMNS} FROM authorizations x WHERE x.member_digest = k.member_digest OFFSET 0) a""",
        digests)
    return [_authorization(r) for r in rows]


async def save_authorizations(db: Any, auths: Sequence[Authorization], source: str) -> tuple[int, int]:
    """Add the authorizations (all in one statement); one already on file (payer, member, number, scope, start) is
    updated. Returns (added, updated)."""
    rows = await db.fetch(
        f"""INSERT INTO authorizations ({_AUTH_COLUMNS}, source)
            SELECT *, $11 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::date[], $6::date[],
                                      $7::text[], $8::int[], $9::int[], $10::int[])
            ON CONFLICT (payer_id, member_digest, auth_number, scope, valid_from) DO UPDATE SET
                valid_to = EXCLUDED.valid_to, side = EXCLUDED.side, levels = EXCLUDED.levels,
                units = EXCLUDED.units, sessions = EXCLUDED.sessions, source = EXCLUDED.source, updated_at = now()
            RETURNING (xmax = 0) AS added""",
        [a.payer_id for a in auths], [a.member_digest for a in auths], [a.auth_number for a in auths],
        [a.scope for a in auths], [a.valid_from for a in auths], [a.valid_to for a in auths],
        [a.side for a in auths], [a.levels for a in auths], [a.units for a in auths], [a.sessions for a in auths],
        source)
    added = sum(1 for r in rows if r["added"])
    return added, len(rows) - added


