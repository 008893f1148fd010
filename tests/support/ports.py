"""Free TCP ports and waiting for conditions with deadlines (never fixed sleeps)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from service.adapters.local_broker import free_port, wait_for_port

__all__ = ["eventually", "free_port", "wait_for_port"]


async def eventually(check: Callable[[], Awaitable[object]], *, timeout: float = 30, interval: float = 0.1,
                     message: str = "condition") -> object:
    """Await `check()` until it returns a truthy value or the deadline passes (then fail with the last value)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        last = await check()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}; last value: {last!r}")
        await asyncio.sleep(interval)
