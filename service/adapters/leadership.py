"""Leader-only periodic work: one process at a time holds a PostgreSQL advisory lock for a pass, and the pass repeats
on an interval with capped, jittered backoff after failures (a database outage must not kill a timer)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from zoneinfo import ZoneInfo

import asyncpg

from service.config import Settings
from service.logs import get_logger
from service.retry import RetryAbandoned, RetryPolicy

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
    """Run `one_pass` every `interval_s` until `stop` is set; after a failure try again with the service's backoff
    (never longer than the interval)."""

    async def wait(seconds: float) -> None:
        try:
            await asyncio.wait_for(stop.wait(), timeout=seconds)
        except TimeoutError:
            pass

    def retrying(exc: BaseException, attempt: int, delay: float) -> None:
        log.warning(f"{name}.retry", error=type(exc).__name__, attempt=attempt)

    policy = RetryPolicy.from_settings(settings).with_max(interval_s)
    while not stop.is_set():
        try:
            # a database outage must not kill the timer: any failure is tried again later
            await policy.call(one_pass, retry_on=Exception, stop=stop.is_set, sleep=wait, on_retry=retrying)
        except RetryAbandoned:
            return
        await wait(interval_s)
