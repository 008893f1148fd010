"""`/health` (the process is alive) and `/ready` (it can do its work), the one definition both HTTP servers use: the
worker's (ready when its runtime says so) and `denials api`'s (ready when the database answers)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
from aiohttp import web

# Whether the process is ready, and the parts of the answer `/ready` reports.
Readiness = Callable[[], Awaitable[tuple[bool, dict[str, object]]]]


def mount_health(app: web.Application, ready: Readiness) -> None:
    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def readiness(_: web.Request) -> web.Response:
        ok, parts = await ready()
        return web.json_response({"ready": ok, **parts}, status=200 if ok else 503)

    app.router.add_get("/health", health)
    app.router.add_get("/ready", readiness)


def database_readiness(pool_provider: Callable[[], asyncpg.Pool | None], timeout_s: float) -> Readiness:
    """Ready when the database answers a `SELECT 1` within `timeout_s` (the API alone needs nothing else)."""

    async def ready() -> tuple[bool, dict[str, object]]:
        pool = pool_provider()
        try:
            if pool is None:
                raise ConnectionError("the database is not connected yet")
            async with asyncio.timeout(timeout_s):
                await pool.fetchval("SELECT 1")
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            return False, {"database": False, "error": type(exc).__name__}
        return True, {"database": True}

    return ready
