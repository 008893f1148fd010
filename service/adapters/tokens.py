"""API bearer tokens: generated once, shown once, stored as a SHA-256 hash with their scope (team, queues,
supervisor). The pure helpers (generate, hash, validate) need no database; `TokenStore` is the SQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

import asyncpg

from service.domain.classification.vocabulary import QUEUES
from service.service_layer.tasks_api import Scope

TOKEN_PREFIX = "dnl_"
_TOKEN_RE = re.compile(r"^dnl_[A-Za-z0-9_-]{43}$")  # 32 random bytes, url-safe base64 without padding
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SHOWN_PREFIX_CHARS = 10  # "dnl_" + 6: enough to tell tokens apart, far too little to guess one


class TokenInputError(ValueError):
    """A team, user or queue list that cannot make a token (the message names the field)."""


def generate_token() -> str:
    """A new bearer token: 256 bits from the OS's CSPRNG."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What the database keeps. The token is high-entropy, so an unsalted SHA-256 cannot be reversed by guessing,
    and it can be looked up by index (no per-row salt to try)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(value: str) -> bool:
    return bool(_TOKEN_RE.fullmatch(value))


def validate_name(field: str, value: str) -> str:
    if not _NAME_RE.fullmatch(value or ""):
        raise TokenInputError(f"{field} must be 1-64 characters of letters, digits, '.', '_' or '-' "
                              f"(starting with a letter or digit)")
    return value


def parse_queues(text: str | Iterable[str]) -> tuple[str, ...]:
    """`"appeals,coding"` -> ("appeals", "coding"); an unknown queue name is an error naming it."""
    items = [q.strip() for q in (text.split(",") if isinstance(text, str) else text)]
    names = tuple(dict.fromkeys(q for q in items if q))
    unknown = [q for q in names if q not in QUEUES]
    if unknown:
        raise TokenInputError(f"unknown queue {', '.join(repr(q) for q in unknown)}; "
                              f"queues are: {', '.join(QUEUES)}")
    return names


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    prefix: str
    team: str
    user: str | None
    queues: tuple[str, ...]
    supervisor: bool
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    def scope(self) -> Scope:
        return Scope(token_id=self.id, team=self.team, user=self.user, queues=frozenset(self.queues),
                     supervisor=self.supervisor)


def _info(r: asyncpg.Record) -> TokenInfo:
    return TokenInfo(id=r["id"], prefix=r["token_prefix"], team=r["team"], user=r["user_name"],
                     queues=tuple(r["queues"]), supervisor=r["supervisor"], created_at=r["created_at"],
                     last_used_at=r["last_used_at"], revoked_at=r["revoked_at"])


_COLUMNS = "id, token_prefix, team, user_name, queues, supervisor, created_at, last_used_at, revoked_at"
# Recording every request's use would turn each read into a write: once a minute per token is enough to audit.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class TokenStore:
    def __init__(self, db: asyncpg.Pool | asyncpg.Connection) -> None:
        self._db = db

    async def create(self, *, team: str, queues: Iterable[str], supervisor: bool = False,
                     user: str | None = None) -> tuple[TokenInfo, str]:
        """Store a new token's hash and scope; returns the info and the bare token (its only appearance)."""
        validate_name("team", team)
        if user is not None:
            validate_name("user", user)
        names = parse_queues(list(queues))
        if not names and not supervisor:
            raise TokenInputError("queues: a team token needs at least one queue (or --supervisor)")
        token = generate_token()
        row = await self._db.fetchrow(
            f"""INSERT INTO api_tokens (token_hash, token_prefix, team, user_name, queues, supervisor)
                VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_COLUMNS}""",
            hash_token(token), token[:SHOWN_PREFIX_CHARS], team, user, list(names), supervisor)
        return _info(row), token

    async def list(self) -> list[TokenInfo]:
        return [_info(r) for r in await self._db.fetch(f"SELECT {_COLUMNS} FROM api_tokens ORDER BY id")]

    async def revoke(self, token_id: int) -> TokenInfo | None:
        """Revoke (idempotent: a revoked token keeps its first revocation time); None when there is no such id."""
        row = await self._db.fetchrow(
            f"""UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1
                RETURNING {_COLUMNS}""", token_id)
        return _info(row) if row else None

    async def verify(self, token: str, *, now: dt.datetime | None = None) -> TokenInfo | None:
        """The live token's info, or None (malformed, unknown or revoked)."""
        if not looks_like_token(token):
            return None
        row = await self._db.fetchrow(
            f"SELECT {_COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL", hash_token(token))
        if row is None:
            return None
        info = _info(row)
        now = now or dt.datetime.now(dt.UTC)
        if info.last_used_at is None or now - info.last_used_at >= LAST_USED_RESOLUTION:
            await self._db.execute("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1", info.id, now)
        return info
