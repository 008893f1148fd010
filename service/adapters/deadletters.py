"""The dead-letter table: the worker's unit of work that stores letters (with their outbox rows), and for operators
list, show, select for replay, mark replayed or resolved. Never deletes.

`ident` everywhere is either the row number (`id`) or the `dead_letter_id` (`dl-...`), as `denials deadletters list`
prints them. A `reason` filter matches the error class exactly (`not_json`, `schema_violation`, ...) or any part of
the reason text, case-insensitively.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from service.adapters.sql import Params, PooledTransaction, where_clause
from service.adapters.store import add_to_outbox, record_dead_letter
from service.service_layer.unit_of_work import DeadLetterEntry, OutboxRecord

STATUSES = ("new", "replayed", "resolved")


class PostgresDeadLetters(PooledTransaction):
    """The dead-letter unit of work (service.service_layer.dead_letters): one transaction on a pooled connection."""

    async def store_dead_letters(self, letters: Sequence[DeadLetterEntry]) -> None:
        for x in letters:
            await record_dead_letter(
                self.conn, dead_letter_id=x.dead_letter_id, source_topic=x.source_topic,
                source_partition=x.source_partition, source_offset=x.source_offset,
                source_event_id=x.source_event_id, key=x.key, value=x.value, error_class=x.error_class,
                reason=x.reason, attempts=x.attempts, first_failed_at=x.first_failed_at, value_size=x.value_size,
                value_digest=x.value_digest, value_truncated=x.value_truncated, detail=x.detail,
                replay_of=x.replay_of)

    async def add_to_outbox(self, records: Sequence[OutboxRecord]) -> None:
        await add_to_outbox(self.conn, records)  # skips a letter already queued (a redelivered bad record)


@dataclass(frozen=True, slots=True)
class DeadLetterRow:
    id: int
    dead_letter_id: str
    source_topic: str
    source_partition: int
    source_offset: int
    source_event_id: str | None
    key: bytes | None
    value: bytes | None
    error_class: str
    reason: str
    attempts: int
    first_failed_at: dt.datetime
    created_at: dt.datetime
    status: str
    replayed_at: dt.datetime | None
    replay_count: int
    replayed_partition: int | None
    replayed_offset: int | None
    resolved_at: dt.datetime | None
    note: str | None
    stored_size: int | None  # the whole original value's size (of an oversize one only a prefix is stored)
    value_digest: str | None  # sha256:<hex> of the whole original value
    value_truncated: bool
    detail: dict | None

    @property
    def value_size(self) -> int:
        return self.stored_size if self.stored_size is not None else len(self.value or b"")


_COLUMNS = ("id, dead_letter_id, source_topic, source_partition, source_offset, source_event_id, key, value, "
            "error_class, reason, attempts, first_failed_at, created_at, status, replayed_at, replay_count, "
            "replayed_partition, replayed_offset, resolved_at, note, value_size AS stored_size, value_digest, "
            "value_truncated, detail")


def _row(r: asyncpg.Record) -> DeadLetterRow:
    return DeadLetterRow(**{k: r[k] for k in DeadLetterRow.__slots__})


def _where(*, since: dt.datetime | None, reason: str | None, status: str | None) -> tuple[str, list[object]]:
    """The ` WHERE ...` clause (empty when nothing filters) and its arguments."""
    arg = Params()
    where: list[str] = []
    if since is not None:
        where.append(f"created_at >= {arg(since)}")
    if reason:
        p = arg(reason)
        where.append(f"(error_class = {p} OR strpos(lower(reason), lower({p})) > 0)")
    if status:
        where.append(f"status = {arg(status)}")
    return where_clause(where), arg.values


_BY_IDENT = "(id = ANY($1::bigint[]) OR dead_letter_id = ANY($2::text[]))"


def _by_ident(idents: list[str]) -> tuple[list[int], list[str]]:
    """The arguments of `_BY_IDENT`: row numbers and dead_letter_ids."""
    return [int(i) for i in idents if i.isdigit()], [i for i in idents if not i.isdigit()]


async def list_letters(conn: asyncpg.Connection, *, since: dt.datetime | None = None, reason: str | None = None,
                       status: str | None = None, limit: int | None = 100) -> list[DeadLetterRow]:
    condition, args = _where(since=since, reason=reason, status=status)
    if limit:  # the newest `limit` letters, printed oldest first
        args.append(limit)
        sql = (f"SELECT * FROM (SELECT {_COLUMNS} FROM dead_letters{condition} ORDER BY id DESC "
               f"LIMIT ${len(args)}) newest ORDER BY id")
    else:
        sql = f"SELECT {_COLUMNS} FROM dead_letters{condition} ORDER BY id"
    return [_row(r) for r in await conn.fetch(sql, *args)]


async def count_letters(conn: asyncpg.Connection, *, since: dt.datetime | None = None, reason: str | None = None,
                        status: str | None = None) -> int:
    condition, args = _where(since=since, reason=reason, status=status)
    return await conn.fetchval(f"SELECT count(*) FROM dead_letters{condition}", *args)


async def get_letters(conn: asyncpg.Connection, idents: list[str]) -> list[DeadLetterRow]:
    """The letters named by row number or dead_letter_id (those that exist), oldest first."""
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM dead_letters WHERE {_BY_IDENT} ORDER BY id", *_by_ident(idents))
    return [_row(r) for r in rows]


async def replayable(conn: asyncpg.Connection, *, reason: str | None, since: dt.datetime | None = None
                     ) -> list[DeadLetterRow]:
    """`replay --all`: every letter still `new` (optionally of one reason), oldest first."""
    return await list_letters(conn, since=since, reason=reason, status="new", limit=None)


async def mark_replayed(conn: asyncpg.Connection, letter_id: int, *, partition: int, offset: int) -> None:
    await conn.execute(
        """UPDATE dead_letters SET status = 'replayed', replayed_at = now(), replay_count = replay_count + 1,
               replayed_partition = $2, replayed_offset = $3
           WHERE id = $1""", letter_id, partition, offset)


async def resolve(conn: asyncpg.Connection, ident: str, *, note: str | None) -> DeadLetterRow | None:
    """Mark the letter named by row number or dead_letter_id resolved; the letter as it now is (None: no such one)."""
    row = await conn.fetchrow(
        f"UPDATE dead_letters SET status = 'resolved', resolved_at = now(), note = COALESCE($3, note) "
        f"WHERE {_BY_IDENT} RETURNING {_COLUMNS}", *_by_ident([ident]), note)
    return _row(row) if row is not None else None
