"""`bench.throughput` with PostgreSQL's own account of the run: which statements wrote the WAL and its full-page
images, which indexes and tables missed the shared buffers, how often it checkpointed.

    python -m bench.pg_stats OUT.json --events 200000 --json

Needs DATABASE_URL pointing at a server that preloads pg_stat_statements (`shared_preload_libraries =
'pg_stat_statements'`) with the extension created in DATABASE_URL's database, PostgreSQL 17 or later
(pg_stat_checkpointer). The statistics are reset when the bench's database is created and written to OUT.json just
before it is dropped; the bench's own JSON line is printed as usual.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import asyncpg

import bench.throughput as bt

_create_db, _drop_db = bt.Servers._create_db, bt.Servers._drop_db


async def _rows(conn: asyncpg.Connection, sql: str, *args: object) -> list[dict]:
    return [dict(r) for r in await conn.fetch(sql, *args)]


def install(out: str) -> None:
    async def create_db(self: bt.Servers) -> None:
        await _create_db(self)
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute("SELECT pg_stat_statements_reset(); SELECT pg_stat_reset_shared('wal'); "
                               "SELECT pg_stat_reset_shared('checkpointer')")
        finally:
            await conn.close()

    async def drop_db(self: bt.Servers) -> None:
        found: dict[str, list[dict]] = {}
        conn = await asyncpg.connect(self.admin_url)
        try:
            dbid = await conn.fetchval("SELECT oid FROM pg_database WHERE datname = $1", self.db_name)
            found["statements"] = await _rows(
                conn, """SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS query, calls, rows,
                                round(total_exec_time::numeric) AS exec_ms, wal_bytes::bigint AS wal_bytes, wal_fpi,
                                wal_records, shared_blks_hit, shared_blks_read, shared_blks_dirtied,
                                shared_blks_written
                         FROM pg_stat_statements WHERE dbid = $1 ORDER BY total_exec_time DESC LIMIT 60""", dbid)
            found["wal"] = await _rows(conn, "SELECT wal_records, wal_fpi, wal_bytes::bigint AS wal_bytes "
                                             "FROM pg_stat_wal")
            found["checkpointer"] = await _rows(conn, "SELECT num_timed, num_requested, buffers_written "
                                                      "FROM pg_stat_checkpointer")
        finally:
            await conn.close()
        conn = await asyncpg.connect(self.database_url)
        try:
            found["indexes"] = await _rows(
                conn, """SELECT s.relname, s.indexrelname, s.idx_scan, io.idx_blks_read, io.idx_blks_hit,
                                pg_relation_size(s.indexrelid) AS bytes
                         FROM pg_stat_user_indexes s JOIN pg_statio_user_indexes io USING (indexrelid)
                         ORDER BY io.idx_blks_read DESC""")
            # every column the server keeps (PostgreSQL 18 adds the time autovacuum spent on each table)
            found["table_activity"] = await _rows(
                conn, "SELECT * FROM pg_stat_user_tables ORDER BY autovacuum_count + autoanalyze_count DESC, relname")
            found["tables"] = await _rows(
                conn, """SELECT relname, heap_blks_read, heap_blks_hit, idx_blks_read, idx_blks_hit,
                                pg_total_relation_size(relid) AS total_bytes
                         FROM pg_statio_user_tables ORDER BY heap_blks_read DESC""")
        finally:
            await conn.close()
        await asyncio.to_thread(Path(out).write_text, json.dumps(found, default=str, indent=1))
        await _drop_db(self)

    bt.Servers._create_db = create_db
    bt.Servers._drop_db = drop_db


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    install(sys.argv.pop(1))
    bt.main()
