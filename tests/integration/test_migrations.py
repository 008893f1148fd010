"""Upgrading a database that holds data: what the migrations do to rows already there."""

from __future__ import annotations

import asyncpg
import pytest

from service.adapters.migrate import available
from tests.support.database import scratch_database


async def test_upgrading_to_the_outbox_queue_queues_exactly_the_unsent_rows_in_order(stack, run_id):
    async with scratch_database(stack.direct_database_url, f"denials_upgrade_{run_id}") as conn:
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


async def test_the_outbox_keyed_by_its_cause_still_writes_a_record_once(stack, run_id):
    """Migration 0098: (causation_id, event_id) replaces the unique event_id (and the causation index); a record
    already on file is skipped by the writers that may repeat (`if_new`), a second copy from the stream is refused,
    and rows written before the upgrade (one without a cause) keep their uniqueness."""
    from service.adapters.store import add_to_outbox
    from service.service_layer.unit_of_work import OutboxRecord

    async with scratch_database(stack.direct_database_url, f"denials_upgrade_{run_id}") as conn:
        for version, sql in available():
            if version.startswith("0098"):
                await conn.execute("INSERT INTO outbox (event_id, topic, payload, causation_id) VALUES "
                                   "('old-1', 't', '', 'E1'), ('old-2', 't', '', NULL)")
            await conn.execute(sql)
        indexes = {r["indexname"] for r in await conn.fetch("SELECT indexname FROM pg_indexes "
                                                             "WHERE tablename = 'outbox'")}
        assert indexes == {"outbox_pkey", "outbox_cause_event"}

        old = OutboxRecord(event_id="old-1", topic="t", key=None, payload=b"", causation_id="E1")
        new = OutboxRecord(event_id="new-1", topic="t", key=None, payload=b"", causation_id="E2")
        await add_to_outbox(conn, [old, new])
        await add_to_outbox(conn, [new])
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 3
        assert await conn.fetchval("SELECT count(*) FROM outbox_pending") == 1  # only the new row is queued
        with pytest.raises(asyncpg.UniqueViolationError):
            await add_to_outbox(conn, [new], if_new=False)  # the stream's path: a double is an error
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute("INSERT INTO outbox (event_id, topic, payload) VALUES ('old-2', 't', '')")


async def test_the_history_read_from_the_covering_key_returns_the_rows_written_before_it(stack, run_id):
    """Migration 0099: the primary key INCLUDEs the columns the history reads need and the (patient, date) index goes;
    rows written before the upgrade are read back whole, within the date bound, and the upsert still merges."""
    import datetime as dt

    from service.adapters.store import read_history

    async with scratch_database(stack.direct_database_url, f"denials_upgrade_{run_id}") as conn:
        for version, sql in available():
            if version.startswith("0099"):
                await conn.execute(
                    """INSERT INTO procedure_history (patient_key, claim_id, line_id, service_date, procedure_code,
                                                      modifiers, paid, updated_at, side, levels, intent,
                                                      relief_percent, relief_days) VALUES
                       ('P1', 'C1', '1', '2025-03-01', '64493', '{RT}', true, now(), 'right', '{L4-L5}',
                        'diagnostic', 80, 3),
                       ('P1', 'C0', '1', '2023-01-01', '64493', '{}', true, now(), NULL, '{}', NULL, NULL, NULL),
                       ('P2', 'C2', '1', '2025-04-01', '20610', '{}', NULL, now(), NULL, '{}', NULL, NULL, NULL)""")
            await conn.execute(sql)
        indexes = {r["indexname"] for r in await conn.fetch("SELECT indexname FROM pg_indexes "
                                                             "WHERE tablename = 'procedure_history'")}
        assert indexes == {"procedure_history_pkey"}

        history = await read_history(conn, ["P1", "P2", "P3"], dt.date(2024, 1, 1))
        assert sorted(history) == ["P1", "P2"]
        (session,) = history["P1"]  # the 2023 row is before the bound
        assert (session.claim_id, session.service_date, session.procedure.modifiers, session.paid) == (
            "C1", dt.date(2025, 3, 1), ("RT",), True)
        assert (session.detail.side, session.detail.levels, session.detail.relief_percent) == ("right", ("L4-L5",), 80)
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute("INSERT INTO procedure_history (patient_key, claim_id, line_id, service_date, "
                               "procedure_code, updated_at) VALUES ('P2', 'C2', '1', '2025-04-02', '20610', now())")


async def test_decisions_are_found_by_their_claim_not_by_a_task_index(stack, run_id):
    """Migration 0100: the index on decisions.task_id goes; a task's decisions are read through its claim."""
    async with scratch_database(stack.direct_database_url, f"denials_upgrade_{run_id}") as conn:
        for _, sql in available():
            await conn.execute(sql)
        indexes = {r["indexname"] for r in await conn.fetch("SELECT indexname FROM pg_indexes "
                                                             "WHERE tablename = 'decisions'")}
        assert "decisions_task" not in indexes and "decisions_claim" in indexes
