"""Upgrading a database that holds data: what the migrations do to rows already there."""

from __future__ import annotations

import asyncpg

from service.adapters.migrate import available
from tests.support.database import create_database, drop_database, with_database


async def test_upgrading_to_the_outbox_queue_queues_exactly_the_unsent_rows_in_order(stack, run_id):
    admin = with_database(stack.direct_database_url, "postgres")
    name = f"denials_upgrade_{run_id}"
    await create_database(admin, name)
    try:
        conn = await asyncpg.connect(with_database(stack.direct_database_url, name))
        try:
            before = [(v, sql) for v, sql in available() if v < "0050"]
            queue = next(sql for v, sql in available() if v.startswith("0050"))
            for _, sql in before:  # the schema a worker of the previous release left
                await conn.execute(sql)
            await conn.execute(
                """INSERT INTO outbox (event_id, topic, key, payload, created_at, sent_at) VALUES
                   ('published', 'followups.rebill.v1', 'C1', '{}', now() - interval '2 hours', now()),
                   ('unsent-1', 'followups.rebill.v1', 'C1', '{}', now() - interval '1 hour', NULL),
                   ('unsent-2', 'denials.classified.v1', 'C2', '{}', now(), NULL)""")

            await conn.execute(queue)

            queued = await conn.fetch(
                "SELECT o.event_id, p.created_at = o.created_at AS same_time FROM outbox_pending p "
                "JOIN outbox o ON o.id = p.id ORDER BY p.id")
            assert [(r["event_id"], r["same_time"]) for r in queued] == [("unsent-1", True), ("unsent-2", True)]
            assert await conn.fetchval("SELECT count(*) FROM outbox") == 3  # nothing published is lost either
        finally:
            await conn.close()
    finally:
        await drop_database(admin, name)
