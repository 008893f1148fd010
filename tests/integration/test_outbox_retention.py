"""The relay purges published outbox rows after DENIALS_OUTBOX_RETENTION_H, and never an unpublished one."""

from __future__ import annotations

import datetime as dt

from service.adapters.relay import purge_published


async def test_published_rows_past_retention_are_purged_and_nothing_else(worker, db, run_id):
    async with db.acquire() as conn:
        tx = conn.transaction()  # rolled back: the session worker's relay (which migrated the schema) never sees them
        await tx.start()
        try:
            # The oldest rows of the table (ids below every other row, as rows written 300 hours ago would be).
            # (id, written hours ago, still queued for the relay)
            rows = {"old-sent": (-30, 300, False), "old-unsent": (-20, 300, True), "new-sent": (-10, 2, False)}
            for name, (row_id, hours, unsent) in rows.items():
                await conn.execute(
                    "INSERT INTO outbox (id, event_id, topic, key, payload, created_at) "
                    "VALUES ($1, $2, 'followups.rebill.v1', $3, '{}', now() - make_interval(hours => $4))",
                    row_id, f"{run_id}-{name}", run_id.encode(), hours)
                if unsent:
                    await conn.execute("INSERT INTO outbox_pending (id, created_at) SELECT id, created_at "
                                       "FROM outbox WHERE id = $1", row_id)
            deleted = await purge_published(conn, dt.timedelta(hours=168))
            left = {r["event_id"].removeprefix(f"{run_id}-") for r in await conn.fetch(
                "SELECT event_id FROM outbox WHERE event_id LIKE $1", f"{run_id}-%")}
            assert deleted >= 1
            assert left == {"new-sent", "old-unsent"}
        finally:
            await tx.rollback()
