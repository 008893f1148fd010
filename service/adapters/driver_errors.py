"""Driver errors become the service's own at the adapters' edge: TransientError (wait and retry, never a dead
letter) or PermanentError (this input can never be applied as sent). Callers decide on those two types, not on
asyncpg's, aiokafka's or the operating system's exceptions; anything else (a bug) passes through unchanged, and callers
that dead-letter treat it as permanent too.

A translated error's message names only the driver error's type (no values: they may hold PHI); the driver error stays
its __cause__, and logs and health name it (error_name).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from aiokafka.errors import KafkaError

from service.adapters import postgres
from service.errors import BrokerUnreachable, DenialsError, PermanentError, TransientError


def translate(exc: BaseException) -> BaseException:
    """The service's error for a driver error (`exc` itself when it is not a driver error)."""
    if isinstance(exc, DenialsError) or not isinstance(exc, Exception):
        return exc
    name = type(exc).__name__
    if isinstance(exc, KafkaError):
        # broker unavailable, timeouts, leadership moves: all worth waiting for
        translated: DenialsError = BrokerUnreachable(f"the broker failed: {name}")
    elif postgres.is_permanent_data_error(exc):
        translated = PermanentError("processing_error", f"{name}: the database rejected the data")
    elif postgres.is_transient(exc) or isinstance(exc, asyncio.TimeoutError):
        translated = TransientError(f"not available now: {name}")
    else:
        return exc
    translated.__cause__ = exc
    translated.driver_error = name  # type: ignore[attr-defined] - read by error_name
    return translated


@contextmanager
def translated() -> Iterator[None]:
    """Raise the service's error for any driver error raised in the block."""
    try:
        yield
    except Exception as exc:
        error = translate(exc)
        if error is exc:
            raise
        raise error from exc


def error_name(exc: BaseException) -> str:
    """What logs and health call a failure: the driver error behind a translated one, else its own type."""
    return getattr(exc, "driver_error", None) or type(exc).__name__
