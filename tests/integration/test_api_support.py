"""Helpers shared by the API integration tests (this module holds no tests): an in-process API server, an HTTP
client that returns (status, json), tokens, seeded claims and tasks, and private databases on the test server
for the tests whose operations span a whole queue (leasing, timers) and must not touch other tests' rows."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
from aiohttp import web

from service.adapters import postgres
from service.adapters.migrate import migrate
from service.adapters.tokens import TokenStore
from service.bootstrap import bootstrap
from service.config import Settings
from service.domain.tasks import task_id_for
from service.entrypoints.api import create_api_app
from tests.support.ports import free_port

TODAY = dt.date.today()


def settings_for(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"database_url": url, "db_pool_max": 12, "api_lease_s": 600,
                              "task_timers_enabled": False, **overrides}
    return Settings(**values)


async def open_pool(url: str, settings: Settings) -> asyncpg.Pool:
    """A pool like the service's (JSON codecs, timeouts) on a migrated database."""
    conn = await postgres.connect(url, settings)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return await postgres.create_pool(url, settings)


@dataclass
class Api:
    base: str
    session: aiohttp.ClientSession
    pool: asyncpg.Pool
    settings: Settings

    async def call(self, method: str, path: str, *, token: str | None = None, body: Any = None,
                   raw: bytes | None = None, headers: dict[str, str] | None = None,
                   params: dict[str, str] | None = None) -> tuple[int, Any]:
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        async with self.session.request(method, self.base + path, data=data, headers=h, params=params) as resp:
            text = await resp.text()
            if resp.status == 204:
                return 204, None
            assert resp.content_type == "application/json", (resp.status, resp.content_type, text[:200])
            return resp.status, json.loads(text)

    async def text(self, method: str, path: str, *, token: str) -> tuple[int, str]:
        async with self.session.request(method, self.base + path,
                                        headers={"Authorization": f"Bearer {token}"}) as resp:
            return resp.status, await resp.text()

    async def token(self, team: str, queues: list[str], *, supervisor: bool = False,
                    user: str | None = None) -> str:
        _, token = await TokenStore(self.pool).create(team=team, queues=queues, supervisor=supervisor, user=user)
        return token


@asynccontextmanager
async def running_api(url: str, **overrides: Any) -> AsyncIterator[Api]:
    settings = settings_for(url, **overrides)
    pool = await open_pool(url, settings)
    parts = bootstrap(settings, database_url=url)
    parts.connections.pool = pool  # opened here with the test's own settings, as `denials api` opens it at start
    runner = web.AppRunner(create_api_app(parts), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60),
                                    connector=aiohttp.TCPConnector(limit=100))
    try:
        yield Api(base=f"http://127.0.0.1:{port}", session=session, pool=pool, settings=settings)
    finally:
        await session.close()
        await runner.cleanup()
        await pool.close()


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@asynccontextmanager
async def private_database(server_url: str) -> AsyncIterator[str]:
    """A fresh, empty database on the test server (dropped afterwards)."""
    name = f"denials_api_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield with_database(server_url, name)
    finally:
        admin = await asyncpg.connect(server_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def seed_task(pool: asyncpg.Pool, claim_id: str, *, queue: str = "appeals", category: str = "coding",
                    payer_id: str = "BCBS-TX", state: str = "open", amount: str = "1200.00",
                    recoverability: float = 0.6, deadline: dt.date | None = None,
                    filing_deadline: dt.date | None = None, cpt: str = "64483", priority: float = 0.0,
                    action: str = "appeal", with_claim: bool = True) -> str:
    """One claim (with a timeline entry) and one task on it, as the stream would have written them."""
    task_id = task_id_for(claim_id, payer_id, category)
    now = dt.datetime.now(dt.UTC)
    async with pool.acquire() as conn, conn.transaction():
        if with_claim:
            await conn.execute(
                """INSERT INTO claims (claim_id, state, state_at, payer_id, payer_type, total_charge,
                       service_date_from, service_date_to, patient_key, last_event_at, submission)
                   VALUES ($1, 'denied', $2, $3, 'commercial', $4, $5, $5, $6, $2, $7)
                   ON CONFLICT (claim_id) DO NOTHING""",
                claim_id, now, payer_id, Decimal(amount), TODAY - dt.timedelta(days=40), f"MRN-{claim_id}",
                {"event_id": f"st-{claim_id}", "frequency_code": "1", "patient_key": f"MRN-{claim_id}",
                 "total_charge": amount, "diagnoses": ["M54.16"], "prior_authorization": None,
                 "lines": [{"line_id": "1", "code": cpt, "modifiers": ["RT"], "charge": amount, "units": "1",
                            "service_date": (TODAY - dt.timedelta(days=40)).isoformat()}]})
            await conn.execute(
                """INSERT INTO claim_events (claim_id, event_id, kind, occurred_at, payer_id, summary)
                   VALUES ($1, $2, 'remittance', $3, $4, $5) ON CONFLICT DO NOTHING""",
                claim_id, f"rm-{claim_id}-{category}", now, payer_id,
                {"status_code": "1", "total_charge": amount, "total_paid": "0.00", "denials": 1,
                 "denied_amount": amount, "codes": ["CO-197"]})
        await conn.execute(
            """INSERT INTO appeal_tasks (task_id, claim_id, payer_id, payer_type, category, action, queue, state,
                   appealable, amount_at_risk, recoverability, deadline, deadline_basis, filing_deadline, priority,
                   explanation, rule_ids, lines, checklist, source_event_id, opened_at, last_event_at)
               VALUES ($1, $2, $3, 'commercial', $4, $5, $6, $7, true, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                       $17, $18, $19, $19)""",
            task_id, claim_id, payer_id, category, action, queue, state, Decimal(amount), recoverability, deadline,
            "commercial provider appeal: 90 days from the notice" if deadline else None, filing_deadline, priority,
            "CO-197 on 64483: authorization missing", ["carc.197"],
            [{"line_id": "1", "amount": amount, "reasons": ["CO-197"], "procedure_code": cpt, "modifiers": ["RT"],
              "service_date": (TODAY - dt.timedelta(days=40)).isoformat()}],
            [{"id": "records", "text": "Attach the procedure note", "done": False},
             {"id": "letter", "text": "Write the appeal letter", "done": False}],
            f"rm-{claim_id}-{category}", now - dt.timedelta(days=1))
    return task_id
