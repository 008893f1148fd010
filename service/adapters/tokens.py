"""API bearer tokens: generated once, shown once, stored as a SHA-256 hash with their scope (team, queues,
supervisor) and expiry. The pure helpers (generate, hash, validate, parse a lifetime) need no database; `TokenStore`
is the SQL. `TokenStore.check` says why a token is refused (malformed, unknown, revoked, expired) so the API can
answer and log the reason, never the token."""

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


DEFAULT_LIFETIME = "90d"  # `denials tokens create` without --expires-in / --no-expiry
SIGN_IN_LIFETIME = "12h"  # the sign-in `denials demo` and `denials api --sign-in` print
_LIFETIME_RE = re.compile(r"^\s*(\d{1,6})\s*([mhdw])\s*$")
_UNIT = {"m": dt.timedelta(minutes=1), "h": dt.timedelta(hours=1), "d": dt.timedelta(days=1),
         "w": dt.timedelta(weeks=1)}
MAX_LIFETIME = dt.timedelta(days=3650)


class TokenInputError(ValueError):
    """A team, user, queue list or lifetime that cannot make a token (the message names the field)."""


def parse_lifetime(text: str, field: str = "--expires-in") -> dt.timedelta:
    """`"12h"`, `"30d"`, `"90d"`, `"2w"`, `"45m"` -> a timedelta (1 minute to 10 years)."""
    match = _LIFETIME_RE.fullmatch(text or "")
    if not match:
        raise TokenInputError(f"{field} must be a number followed by m, h, d or w (e.g. 12h, 30d, 90d)")
    lifetime = int(match.group(1)) * _UNIT[match.group(2)]
    if not dt.timedelta(minutes=1) <= lifetime <= MAX_LIFETIME:
        raise TokenInputError(f"{field} must be between 1 minute and 3650 days")
    return lifetime


def describe_lifetime(lifetime: dt.timedelta) -> str:
    """12 h, 90 days: for messages."""
    seconds = int(lifetime.total_seconds())
    if seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day{'s' if days != 1 else ''}"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"


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
    expires_at: dt.datetime | None = None

    def expired(self, now: dt.datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def status(self, now: dt.datetime) -> str:
        """active | expired | revoked (a revoked token that also expired reads revoked: that was decided first)."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expired(now) else "active"

    def scope(self) -> Scope:
        return Scope(token_id=self.id, team=self.team, user=self.user, queues=frozenset(self.queues),
                     supervisor=self.supervisor)


def _info(r: asyncpg.Record) -> TokenInfo:
    return TokenInfo(id=r["id"], prefix=r["token_prefix"], team=r["team"], user=r["user_name"],
                     queues=tuple(r["queues"]), supervisor=r["supervisor"], created_at=r["created_at"],
                     last_used_at=r["last_used_at"], revoked_at=r["revoked_at"], expires_at=r["expires_at"])


_COLUMNS = "id, token_prefix, team, user_name, queues, supervisor, created_at, last_used_at, revoked_at, expires_at"


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """What `TokenStore.check` found: the live token's info, or why it is refused (`reason`) and, when the token
    matched a row, that row (its id may be logged; the token never is)."""

    reason: str | None  # None: accepted; else malformed | unknown | revoked | expired
    info: TokenInfo | None = None

    @property
    def accepted(self) -> bool:
        return self.reason is None
# Recording every request's use would turn each read into a write: once a minute per token is enough to audit.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class TokenStore:
    def __init__(self, db: asyncpg.Pool | asyncpg.Connection) -> None:
        self._db = db

    async def create(self, *, team: str, queues: Iterable[str], supervisor: bool = False,
                     user: str | None = None, expires_in: dt.timedelta | None = None) -> tuple[TokenInfo, str]:
        """Store a new token's hash, scope and expiry (`expires_in` from now; None: never); returns the info and the
        bare token (its only appearance)."""
        validate_name("team", team)
        if user is not None:
            validate_name("user", user)
        names = parse_queues(list(queues))
        if not names and not supervisor:
            raise TokenInputError("queues: a team token needs at least one queue (or --supervisor)")
        token = generate_token()
        row = await self._db.fetchrow(
            f"""INSERT INTO api_tokens (token_hash, token_prefix, team, user_name, queues, supervisor, expires_at)
                VALUES ($1, $2, $3, $4, $5, $6, now() + $7::interval) RETURNING {_COLUMNS}""",
            hash_token(token), token[:SHOWN_PREFIX_CHARS], team, user, list(names), supervisor, expires_in)
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
        """The live token's info, or None (malformed, unknown, revoked or expired)."""
        found = await self.check(token, now=now)
        return found.info if found.accepted else None

    async def check(self, token: str, *, now: dt.datetime | None = None) -> TokenCheck:
        """Accept a live token (recording its use) or say why it is refused."""
        if not looks_like_token(token):
            return TokenCheck("malformed")
        row = await self._db.fetchrow(f"SELECT {_COLUMNS} FROM api_tokens WHERE token_hash = $1", hash_token(token))
        if row is None:
            return TokenCheck("unknown")
        info = _info(row)
        now = now or dt.datetime.now(dt.UTC)
        if info.revoked_at is not None:
            return TokenCheck("revoked", info)
        if info.expired(now):
            return TokenCheck("expired", info)
        if info.last_used_at is None or now - info.last_used_at >= LAST_USED_RESOLUTION:
            await self._db.execute("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1", info.id, now)
        return TokenCheck(None, info)


# -- a ready-to-use sign-in: `denials demo` and `denials api --sign-in` ------------------------------------

SIGN_IN_TEAM = "sign-in"


def sign_in_url(host: str, port: int, token: str) -> str:
    """The page's address with the token in the fragment (`#token=`): a browser never sends the fragment to the
    server, and the page removes it from the address bar once read. A wildcard listen address becomes loopback."""
    if host in ("", "0.0.0.0", "::", "*"):
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}/#token={token}"


async def create_sign_in(db: asyncpg.Pool | asyncpg.Connection, *, user: str | None = None,
                         lifetime: str = SIGN_IN_LIFETIME) -> tuple[TokenInfo, str]:
    """A short-lived supervisor token for whoever started the command (listed as team `sign-in`)."""
    return await TokenStore(db).create(team=SIGN_IN_TEAM, queues=(), supervisor=True, user=user,
                                       expires_in=parse_lifetime(lifetime))


def sign_in_lines(info: TokenInfo, url: str) -> list[str]:
    """What a command prints: the link, then what it is (no second copy of the token)."""
    until = info.expires_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%MZ") if info.expires_at else "never"
    return [f"sign in: {url}",
            f"  (token {info.id}: supervisor, every queue; expires {until}; open the link, or paste the part after "
            f"'#token=' into the page's sign-in form; `denials tokens revoke {info.id}` ends it sooner)"]
