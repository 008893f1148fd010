"""Patient identifiers at rest: the name, member id / MBI and birth date a letter names the patient by, encrypted in
PostgreSQL (`claim_identifiers`) with the application's keys, decrypted only for a letter, and every read audited.

Fernet (AES-128-CBC with an HMAC-SHA256 tag, from the `cryptography` package) under a MultiFernet: the first key
encrypts, every key decrypts, so a key is rotated by putting the new one first, re-encrypting the rows
(`denials identifiers rotate`) and then removing the old one. Each field is its own ciphertext with a keyed digest
beside it, so the stream writes a field only when its value changed (one encryption per claim and payer when the
identifiers first arrive, none for the remittances that repeat them) and never decrypts on the write path.

Nothing here logs or raises with a value: errors name the field or the count, never the identifier."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import asyncpg
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from service.config import Settings, get_settings
from service.domain.model import PatientIdentifiers
from service.errors import ConfigurationError
from service.logs import get_logger
from service.service_layer.unit_of_work import IdentifiersSeen
from service.service_layer.workbench import IdentifiersRead

log = get_logger("denials.identifiers")

FIELDS = PatientIdentifiers.FIELDS  # name, member_id, birth_date
_DIGEST_CONTEXT = b"denials patient identifier digest v1"
_DIGEST_BYTES = 16


def new_key() -> str:
    """A fresh key for DENIALS_PHI_KEY (32 random bytes, URL-safe base64)."""
    return Fernet.generate_key().decode("ascii")


def _text(field: str, value: Any) -> str:
    return value.isoformat() if field == "birth_date" else str(value)


def _value(field: str, text: str) -> Any:
    return dt.date.fromisoformat(text) if field == "birth_date" else text


class IdentifierVault:
    """Encrypts, decrypts and digests identifier fields with the configured keys (newest first)."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ConfigurationError("no identifier key")
        try:
            fernets = [Fernet(k.encode("ascii")) for k in keys]
        except (ValueError, UnicodeEncodeError):
            raise ConfigurationError(
                "DENIALS_PHI_KEY: every key must be 32 bytes in URL-safe base64 (make one with "
                "`denials identifiers new-key`)") from None
        self._fernet = MultiFernet(fernets)
        # Digests are keyed by the encrypting key: they change with it, which `rotate` accounts for.
        self._digest_key = hmac.new(keys[0].encode("ascii"), _DIGEST_CONTEXT, hashlib.sha256).digest()
        self.key_count = len(fernets)

    def encrypt(self, field: str, value: Any) -> bytes:
        return self._fernet.encrypt(_text(field, value).encode("utf-8"))

    def decrypt(self, field: str, token: bytes) -> Any:
        """The value; InvalidToken when no configured key opens it."""
        return _value(field, self._fernet.decrypt(bytes(token)).decode("utf-8"))

    def digest(self, field: str, value: Any) -> bytes:
        message = field.encode("ascii") + b"\x1f" + _text(field, value).encode("utf-8")
        return hmac.new(self._digest_key, message, hashlib.sha256).digest()[:_DIGEST_BYTES]


@lru_cache(maxsize=4)
def _vault_for(keys: tuple[str, ...]) -> IdentifierVault:
    return IdentifierVault(keys)


def vault_from(settings: Settings) -> IdentifierVault | None:
    """The vault for these settings' keys (built once per key list), or None when they name no key."""
    return _vault_for(settings.phi_keys) if settings.phi_keys else None


@lru_cache(maxsize=1)
def default_vault() -> IdentifierVault | None:
    """The vault of the process's settings (read once), or None when no key is configured."""
    vault = vault_from(get_settings())
    if vault is None:
        log.warning("identifiers.no_key", detail="DENIALS_PHI_KEY is not set: patient identifiers are not stored "
                                                 "and letters show them as withheld")
    return vault


# -- the stream's write ------------------------------------------------------------------------------------------------

@dataclass(slots=True)
class _Folded:
    claim_id: str
    payer_id: str
    at: dt.datetime
    patient: PatientIdentifiers


def fold(seen: Iterable[IdentifiersSeen]) -> list[_Folded]:
    """One record per claim and payer: the batch's records in business-time order, later values over earlier ones,
    a missing field keeping the earlier value (an 835 carries no birth date)."""
    out: dict[tuple[str, str], _Folded] = {}
    for item in sorted(seen, key=lambda s: s.at):
        key = (item.claim_id, item.payer_id)
        before = out.get(key)
        if before is None:
            out[key] = _Folded(item.claim_id, item.payer_id, item.at, item.patient)
        else:
            before.patient = item.patient.merged_over(before.patient)
            before.at = max(before.at, item.at)
    return list(out.values())


async def save_identifiers(conn: asyncpg.Connection, vault: IdentifierVault, seen: Sequence[IdentifiersSeen]) -> int:
    """Write the batch's identifiers (the claims are locked by the caller's transaction): only the fields whose
    value changed are encrypted and written; a record older than the stored values only fills fields still empty.
    Returns the number of (claim, payer) rows written."""
    folded = fold(seen)
    if not folded:
        return 0
    stored = {(r["claim_id"], r["payer_id"]): r for r in await conn.fetch(
        """SELECT i.claim_id, i.payer_id, i.name_digest, i.member_id_digest, i.birth_date_digest, i.source_at
           FROM unnest($1::text[], $2::text[]) AS k(claim_id, payer_id)
           JOIN claim_identifiers i ON i.claim_id = k.claim_id AND i.payer_id = k.payer_id""",
        [f.claim_id for f in folded], [f.payer_id for f in folded])}
    rows: list[tuple] = []
    for f in folded:
        before = stored.get((f.claim_id, f.payer_id))
        newer = before is None or f.at >= before["source_at"]
        cells: list[Any] = []
        changed = False
        for field in FIELDS:
            value = getattr(f.patient, field)
            old = before[f"{field}_digest"] if before is not None else None
            if value is None or (old is not None and not newer):
                cells += [None, None]
                continue
            digest = vault.digest(field, value)
            if old is not None and bytes(old) == digest:
                cells += [None, None]
                continue
            cells += [vault.encrypt(field, value), digest]
            changed = True
        if changed:
            rows.append((f.claim_id, f.payer_id, *cells, f.at))
    if rows:
        columns = list(zip(*rows, strict=True))
        await conn.execute(
            """INSERT INTO claim_identifiers (claim_id, payer_id, name_enc, name_digest, member_id_enc,
                   member_id_digest, birth_date_enc, birth_date_digest, source_at)
               SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bytea[], $5::bytea[], $6::bytea[],
                                    $7::bytea[], $8::bytea[], $9::timestamptz[])
               ON CONFLICT (claim_id, payer_id) DO UPDATE SET
                   name_enc = COALESCE(EXCLUDED.name_enc, claim_identifiers.name_enc),
                   name_digest = COALESCE(EXCLUDED.name_digest, claim_identifiers.name_digest),
                   member_id_enc = COALESCE(EXCLUDED.member_id_enc, claim_identifiers.member_id_enc),
                   member_id_digest = COALESCE(EXCLUDED.member_id_digest, claim_identifiers.member_id_digest),
                   birth_date_enc = COALESCE(EXCLUDED.birth_date_enc, claim_identifiers.birth_date_enc),
                   birth_date_digest = COALESCE(EXCLUDED.birth_date_digest, claim_identifiers.birth_date_digest),
                   source_at = GREATEST(EXCLUDED.source_at, claim_identifiers.source_at), updated_at = now()""",
            *columns)
    return len(rows)


# -- reading them for a letter -----------------------------------------------------------------------------------------

class PostgresIdentifiers:
    """The letter's access to the identifiers: decrypt one claim's for one payer, and audit the read."""

    def __init__(self, pool: asyncpg.Pool, vault: IdentifierVault | None, *, acquire_timeout: float = 10) -> None:
        self._pool = pool
        self._vault = vault
        self._acquire_timeout = acquire_timeout

    @property
    def available(self) -> bool:
        return self._vault is not None

    async def read(self, claim_id: str, payer_id: str) -> IdentifiersRead:
        """The payer's row first; the name and birth date may come from another payer's row of the claim (they do
        not change with the payer), the member id never does (each payer has its own)."""
        if self._vault is None:
            return IdentifiersRead(None, "withheld: this service has no key to read patient identifiers "
                                    "(DENIALS_PHI_KEY is not set)")
        async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
            rows = await conn.fetch(
                """SELECT payer_id, name_enc, member_id_enc, birth_date_enc FROM claim_identifiers
                   WHERE claim_id = $1 ORDER BY payer_id = $2 DESC, source_at DESC""", claim_id, payer_id)
        values: dict[str, Any] = {}
        failed = False
        for row in rows:
            for field in FIELDS:
                token = row[f"{field}_enc"]
                if token is None or field in values or (field == "member_id" and row["payer_id"] != payer_id):
                    continue
                try:
                    values[field] = self._vault.decrypt(field, token)
                except InvalidToken:
                    failed = True
        if failed and not values:
            log.warning("identifiers.undecryptable", detail="no configured key opens this claim's identifiers")
            return IdentifiersRead(None, "withheld: the configured keys cannot read this claim's identifiers "
                                    "(was a key removed before `denials identifiers rotate`?)")
        if not values:
            return IdentifiersRead(None)
        return IdentifiersRead(PatientIdentifiers(**values))

    async def record_read(self, *, task_id: str, actor: str, state: str, fields: Sequence[str], purpose: str,
                          at: dt.datetime) -> None:
        """One audit row per read, in the task's trail: who, when, which task (and so claim), which fields."""
        words = {"name": "patient name", "member_id": "member id", "birth_date": "date of birth"}
        note = f"read {', '.join(words[f] for f in fields)} {purpose}"
        async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
            await conn.execute(
                """INSERT INTO task_events (task_id, at, actor, change, from_state, to_state, note)
                   VALUES ($1, $2, $3, 'identifiers_read', $4, $4, $5)""", task_id, at, actor, state, note)


# -- key rotation ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RotationReport:
    rows: int  # rows re-encrypted with the first key
    unreadable: int  # rows no configured key opens (left as they are)


async def rotate(conn: asyncpg.Connection, vault: IdentifierVault, *, batch: int = 500) -> RotationReport:
    """Re-encrypt every row with the first key and recompute its digests, a batch per transaction (keyset order,
    so a stopped run resumes by running again: rows already on the first key are simply re-encrypted again)."""
    done = unreadable = 0
    last: tuple[str, str] = ("", "")
    while True:
        async with conn.transaction():
            rows = await conn.fetch(
                """SELECT claim_id, payer_id, name_enc, member_id_enc, birth_date_enc FROM claim_identifiers
                   WHERE (claim_id, payer_id) > ($1, $2) ORDER BY claim_id, payer_id LIMIT $3 FOR UPDATE""",
                last[0], last[1], batch)
            if not rows:
                return RotationReport(done, unreadable)
            updates = []
            for r in rows:
                try:
                    plain = {f: vault.decrypt(f, r[f"{f}_enc"]) if r[f"{f}_enc"] is not None else None
                             for f in FIELDS}
                except InvalidToken:
                    unreadable += 1
                    continue
                cells: list[Any] = []
                for f in FIELDS:
                    value = plain[f]
                    cells += [None, None] if value is None else [vault.encrypt(f, value), vault.digest(f, value)]
                updates.append((r["claim_id"], r["payer_id"], *cells))
            if updates:
                await conn.executemany(
                    """UPDATE claim_identifiers SET name_enc = $3, name_digest = $4, member_id_enc = $5,
                           member_id_digest = $6, birth_date_enc = $7, birth_date_digest = $8, updated_at = now()
                       WHERE claim_id = $1 AND payer_id = $2""", updates)
            done += len(updates)
            last = (rows[-1]["claim_id"], rows[-1]["payer_id"])


async def sample_readable(conn: asyncpg.Connection, vault: IdentifierVault, *, size: int = 200) -> tuple[int, int]:
    """(rows sampled, rows every field of which the configured keys open): a check after a key change."""
    rows = await conn.fetch("SELECT name_enc, member_id_enc, birth_date_enc FROM claim_identifiers "
                            "ORDER BY updated_at DESC LIMIT $1", size)
    readable = 0
    for r in rows:
        try:
            for f in FIELDS:
                if r[f"{f}_enc"] is not None:
                    vault.decrypt(f, r[f"{f}_enc"])
        except InvalidToken:
            continue
        readable += 1
    return len(rows), readable
