"""Start-up waits for the servers it needs: started before its database or broker, a process retries, never exits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from service.config import Settings
from service.errors import DenialsError
from service.logs import get_logger
from service.retry import RetryPolicy

T = TypeVar("T")

log = get_logger("denials.startup")


async def retry_until_up(what: str, opener: Callable[[], Awaitable[T]], settings: Settings) -> T:
    """`await opener()` until it works, with the service's backoff: start-up waits for its servers (the worker's
    pool, topics and producer; the relay command's producer)."""

    def waiting(exc: BaseException, attempt: int, delay: float) -> None:
        # the service's own connection errors say where in one value-free sentence (host, port, database)
        detail = {"detail": str(exc)} if isinstance(exc, DenialsError) else {}
        log.warning("startup.waiting", dependency=what, error=type(exc).__name__, attempt=attempt, **detail)

    # any failure to start means "not up yet" (a misconfigured database too: it may be created meanwhile)
    return await RetryPolicy.from_settings(settings).call(opener, retry_on=Exception, on_retry=waiting)
