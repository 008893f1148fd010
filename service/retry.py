"""The service's one retry policy: capped exponential backoff with jitter, on tenacity.

Every loop that waits out a failure runs through it: start-up waiting for its servers, the agents' batches, the outbox
relay and the leader-only timers. The delays come from DENIALS_RETRY_INITIAL_S (twice that before the first retry,
doubling after each failure) up to DENIALS_RETRY_MAX_S, each one drawn between half and all of that: processes that
failed together do not retry together. A caller says what is worth retrying (the service's TransientError unless it
says otherwise), how to sleep (a sleep that a stop or a wake-up may cut short) and, optionally, when to give up: a
stop condition, checked before and after every pause.

No driver here: callers translate driver errors at their boundary (service.adapters.driver_errors).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, TypeVar

import tenacity

from service.errors import DenialsError, TransientError

if TYPE_CHECKING:
    from service.config import Settings

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]
# Told of every failure about to be retried: the error, how many attempts failed so far (1, 2, ...), the pause (s).
OnRetry = Callable[[BaseException, int, float], None]


class RetryAbandoned(DenialsError):
    """The caller's stop condition held while a failure was being retried: the work was given up, not done. Its
    __cause__ is the last failure."""

    def __init__(self, attempts: int) -> None:
        super().__init__(f"given up after {attempts} failed attempt(s)")
        self.attempts = attempts


class _Stopped(Exception):  # noqa: N818 - private: leaves tenacity's loop from the pause, becomes RetryAbandoned
    pass


class _Jittered(tenacity.wait.wait_base):
    """A tenacity wait scaled by a random factor in [low, high]."""

    def __init__(self, base: tenacity.wait.wait_base, low: float, high: float,
                 uniform: Callable[[float, float], float]) -> None:
        self._base, self._low, self._high, self._uniform = base, low, high, uniform

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        return self._base(retry_state) * self._uniform(self._low, self._high)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Capped exponential backoff with jitter: the delay after failed attempt n is initial_s * 2**min(n, 10), at most
    max_s, times a factor drawn from `jitter`."""

    initial_s: float
    max_s: float
    jitter: tuple[float, float] = (0.5, 1.0)
    uniform: Callable[[float, float], float] = field(default=random.uniform, compare=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """DENIALS_RETRY_INITIAL_S and DENIALS_RETRY_MAX_S."""
        return cls(initial_s=settings.retry_initial_s, max_s=settings.retry_max_s)

    def with_max(self, max_s: float) -> RetryPolicy:
        """The same policy under another cap (a periodic pass never waits longer than its interval)."""
        return replace(self, max_s=max_s)

    def wait(self) -> tenacity.wait.wait_base:
        """The policy as a tenacity wait strategy."""
        # tenacity's exponent starts at 0 for the first retry; the service's delays always began at twice the initial
        # delay, and stopped doubling after ten retries whatever the cap
        base = tenacity.wait_exponential(multiplier=self.initial_s * 2, exp_base=2,
                                         max=min(self.max_s, self.initial_s * 2**10))
        low, high = self.jitter
        return _Jittered(base, low, high, self.uniform)

    async def call(self, operation: Callable[[], Awaitable[T]], *,
                   retry_on: type[BaseException] | tuple[type[BaseException], ...] = TransientError,
                   stop: Callable[[], bool] | None = None, sleep: Sleep = asyncio.sleep,
                   on_retry: OnRetry | None = None) -> T:
        """`await operation()` until it returns; a failure of a `retry_on` type is retried after a pause, any other
        propagates at once (so does cancellation). Without `stop`, retries for ever; with it, raises RetryAbandoned
        when `stop()` holds before or after a pause."""
        last: list[tuple[BaseException, int]] = []

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome is not None else None
            assert exc is not None  # only failures are retried
            last[:] = [(exc, state.attempt_number)]
            if on_retry is not None:
                on_retry(exc, state.attempt_number, state.upcoming_sleep)

        async def pause(seconds: float) -> None:
            if stop is not None and stop():
                raise _Stopped
            await sleep(seconds)
            if stop is not None and stop():
                raise _Stopped

        async def attempt() -> T:  # a coroutine function: tenacity awaits only those
            return await operation()

        retrying = tenacity.AsyncRetrying(
            retry=tenacity.retry_if_exception_type(retry_on), wait=self.wait(), stop=tenacity.stop_never,
            sleep=pause, before_sleep=before_sleep, reraise=True)
        try:
            return await retrying(attempt)
        except _Stopped:
            exc, attempts = last[0]
            raise RetryAbandoned(attempts) from exc
