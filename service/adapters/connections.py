"""The process's one PostgreSQL pool and one broker producer.

service.bootstrap builds a `Connections` (nothing opens yet); the process opens what it needs at start (the worker:
both; `denials api`: the pool; `denials relay`: the producer) and everything that needs them reads them from here:
the agents, the API, the relay, the timers, `/metrics` and `/ready`.
"""

from __future__ import annotations

import asyncio

import asyncpg
from aiokafka import AIOKafkaProducer

from service.adapters import postgres
from service.adapters.kafka import start_relay_producer
from service.adapters.migrate import migrate
from service.config import Settings
from service.logs import get_logger

log = get_logger("denials.connections")


class Connections:
    def __init__(self, settings: Settings, database_url: str | None, bootstrap_servers: str | None) -> None:
        self.settings = settings
        self.database_url = database_url
        self.bootstrap_servers = bootstrap_servers
        self.pool: asyncpg.Pool | None = None
        self.producer: AIOKafkaProducer | None = None

    async def open_pool(self, *, apply_migrations: bool) -> asyncpg.Pool:
        """The pool (once); with `apply_migrations`, pending migrations are applied first on a connection of its
        own."""
        if self.pool is not None:
            return self.pool
        if self.database_url is None:
            raise RuntimeError("no database URL was given to service.bootstrap")
        if apply_migrations:
            conn = await postgres.connect(self.database_url, self.settings)
            try:
                applied = await migrate(conn)
                if applied:
                    log.info("migrations.applied", versions=applied)
            finally:
                await conn.close()
        self.pool = await postgres.create_pool(self.database_url, self.settings)
        return self.pool

    async def open_producer(self) -> AIOKafkaProducer:
        if self.producer is not None:
            return self.producer
        if self.bootstrap_servers is None:
            raise RuntimeError("no broker address was given to service.bootstrap")
        self.producer = await start_relay_producer(self.bootstrap_servers, self.settings)
        return self.producer

    async def close_producer(self) -> None:
        producer, self.producer = self.producer, None
        if producer is not None:
            try:
                await asyncio.wait_for(producer.stop(), timeout=10)
            except Exception:  # noqa: BLE001 - best effort at shutdown
                pass

    async def close_pool(self) -> None:
        pool, self.pool = self.pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), timeout=10)
            except Exception:  # noqa: BLE001
                pool.terminate()
