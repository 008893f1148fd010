"""Leader-only periodic work: one process at a time holds a PostgreSQL advisory lock for a pass, and the pass repeats
on an interval with capped, jittered backoff after failures (a database outage must not kill a timer)."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from zoneinfo import ZoneInfo

import asyncpg

from service.config import Settings
from service.logs import get_logger

log = get_logger("denials.leadership")


def business_today(settings: Settings) -> dt.date:
    """Deadlines are calendar days of the billing office: a day ends at midnight in its time zone."""
    return dt.datetime.now(ZoneInfo(settings.task_timezone)).date()


@asynccontextmanager
async def leader_connection(pool: asyncpg.Pool, key: int, *,
                            timeout: float) -> AsyncIterator[asyncpg.Connection | None]:
    """A pool connection holding the advisory lock `key` for the block, or None when another process holds it."""
    async with pool.acquire(timeout=timeout) as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
            yield None
            return
        try:
            yield conn
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", key)


async def every(interval_s: float, stop: asyncio.Event, one_pass: Callable[[], Awaitable[object]], *,
                settings: Settings, name: str) -> None:
    """Run `one_pass` every `interval_s` until `stop` is set; after a failure wait with capped exponential backoff
    (never longer than the interval) and try again."""
    attempt = 0
    while not stop.is_set():
        delay = interval_s
        try:
            await one_pass()
            attempt = 0
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a database outage must not kill the timer; try again later
            attempt += 1
            delay = min(interval_s, settings.retry_initial_s * 2 ** min(attempt, 10)) * random.uniform(0.5, 1.0)
            log.warning(f"{name}.retry", error=type(exc).__name__, attempt=attempt)
        try:
            await asyncio.wait_for(stop.wait(), timeout=delay)
        except TimeoutError:
            pass
