"""The service's one retry policy (service/retry.py): delays, cap, jitter, stop, and what is retried. No real sleeping:
the sleep is a recorder and the jitter a chosen draw."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError

from service.adapters.driver_errors import error_name, translate, translated
from service.config import Settings
from service.errors import BrokerUnreachable, PermanentError, TransientError
from service.retry import RetryAbandoned, RetryPolicy


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def failing(times: int, error: Exception | None = None):
    """An operation failing `times` times (TransientError unless `error`), then returning 'ok'; counts its calls."""
    calls = []

    async def operation() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error or TransientError("not now")
        return "ok"

    operation.calls = calls
    return operation


def no_jitter(low: float, high: float) -> float:
    return high


async def test_delays_double_from_twice_the_initial_delay_up_to_the_cap():
    sleeps = Sleeps()
    policy = RetryPolicy(initial_s=0.1, max_s=1.0, uniform=no_jitter)
    assert await policy.call(failing(6), sleep=sleeps) == "ok"
    assert sleeps.delays == pytest.approx([0.2, 0.4, 0.8, 1.0, 1.0, 1.0])


async def test_delays_stop_doubling_after_ten_retries_whatever_the_cap():
    sleeps = Sleeps()
    policy = RetryPolicy(initial_s=1.0, max_s=1e9, uniform=no_jitter)
    await policy.call(failing(12), sleep=sleeps)
    assert sleeps.delays[9:] == [1024.0, 1024.0, 1024.0]


async def test_each_delay_is_drawn_between_half_and_all_of_the_backoff():
    draws = []

    def uniform(low: float, high: float) -> float:
        draws.append((low, high))
        return low

    sleeps = Sleeps()
    await RetryPolicy(initial_s=0.1, max_s=1.0, uniform=uniform).call(failing(3), sleep=sleeps)
    assert draws == [(0.5, 1.0)] * 3
    assert sleeps.delays == pytest.approx([0.1, 0.2, 0.4])


async def test_real_jitter_stays_within_bounds():
    sleeps = Sleeps()
    await RetryPolicy(initial_s=0.1, max_s=1.0).call(failing(50), sleep=sleeps)
    backoff = [min(1.0, 0.1 * 2 ** min(n, 10)) for n in range(1, 51)]
    assert all(b / 2 <= d <= b for d, b in zip(sleeps.delays, backoff, strict=True))
    assert len(set(sleeps.delays)) > 1


async def test_the_settings_give_the_initial_delay_and_the_cap():
    policy = RetryPolicy.from_settings(Settings(DENIALS_RETRY_INITIAL_S=0.5, DENIALS_RETRY_MAX_S=3))
    assert (policy.initial_s, policy.max_s) == (0.5, 3)
    sleeps = Sleeps()
    await policy.with_max(1.5).call(failing(3), sleep=sleeps)
    assert all(d <= 1.5 for d in sleeps.delays)


async def test_without_a_stop_transient_failures_are_retried_until_the_operation_works():
    operation = failing(200)
    assert await RetryPolicy(initial_s=0.01, max_s=0.02).call(operation, sleep=Sleeps()) == "ok"
    assert len(operation.calls) == 201


async def test_a_permanent_error_is_not_retried():
    operation = failing(1, PermanentError("processing_error", "bad data"))
    sleeps = Sleeps()
    with pytest.raises(PermanentError):
        await RetryPolicy(initial_s=0.1, max_s=1).call(operation, sleep=sleeps)
    assert len(operation.calls) == 1 and sleeps.delays == []


async def test_any_other_error_propagates_unless_the_caller_retries_it():
    with pytest.raises(KeyError):
        await RetryPolicy(initial_s=0.1, max_s=1).call(failing(1, KeyError("x")), sleep=Sleeps())
    assert await RetryPolicy(initial_s=0.1, max_s=1).call(
        failing(2, KeyError("x")), retry_on=Exception, sleep=Sleeps()) == "ok"


async def test_cancellation_is_never_retried():
    with pytest.raises(asyncio.CancelledError):
        await RetryPolicy(initial_s=0.1, max_s=1).call(
            failing(1, asyncio.CancelledError()), retry_on=Exception, sleep=Sleeps())


async def test_a_stop_that_holds_before_the_pause_gives_up_without_sleeping():
    sleeps, retries = Sleeps(), []
    with pytest.raises(RetryAbandoned) as given_up:
        await RetryPolicy(initial_s=0.1, max_s=1).call(
            failing(5), stop=lambda: True, sleep=sleeps, on_retry=lambda *a: retries.append(a[1]))
    assert sleeps.delays == [] and retries == [1]  # the failure is still reported
    assert isinstance(given_up.value.__cause__, TransientError) and given_up.value.attempts == 1


async def test_a_stop_that_holds_after_a_pause_gives_up_without_another_attempt():
    stopping = False

    async def sleep(seconds: float) -> None:
        nonlocal stopping
        stopping = True  # e.g. a rebalance began meanwhile

    operation = failing(5)
    with pytest.raises(RetryAbandoned):
        await RetryPolicy(initial_s=0.1, max_s=1).call(operation, stop=lambda: stopping, sleep=sleep)
    assert len(operation.calls) == 1


async def test_every_retried_failure_is_reported_with_its_attempt_and_pause():
    seen = []
    await RetryPolicy(initial_s=0.1, max_s=1, uniform=no_jitter).call(
        failing(2), sleep=Sleeps(), on_retry=lambda exc, attempt, delay: seen.append((type(exc), attempt, delay)))
    assert seen == [(TransientError, 1, pytest.approx(0.2)), (TransientError, 2, pytest.approx(0.4))]


def test_driver_errors_are_translated_at_the_boundary_into_transient_or_permanent():
    assert isinstance(translate(KafkaConnectionError()), BrokerUnreachable)
    assert isinstance(translate(ConnectionRefusedError()), TransientError)
    assert isinstance(translate(TimeoutError()), TransientError)
    assert isinstance(translate(asyncpg.exceptions.SerializationError("x")), TransientError)
    assert isinstance(translate(asyncpg.exceptions.AdminShutdownError("x")), TransientError)
    data_error = translate(asyncpg.exceptions.UntranslatableCharacterError("x"))
    assert isinstance(data_error, PermanentError) and data_error.error_class == "processing_error"
    assert isinstance(translate(asyncpg.exceptions.UniqueViolationError("x")), PermanentError)
    bug = KeyError("x")
    assert translate(bug) is bug  # not a driver error: unchanged


def test_a_translated_error_keeps_the_driver_error_as_cause_and_name_but_no_value():
    with pytest.raises(PermanentError) as raised, translated():
        raise asyncpg.exceptions.UntranslatableCharacterError("Jane Doe \\u0000")
    assert isinstance(raised.value.__cause__, asyncpg.exceptions.UntranslatableCharacterError)
    assert error_name(raised.value) == "UntranslatableCharacterError"
    assert "Jane" not in str(raised.value)
    assert error_name(TransientError("x")) == "TransientError"


async def test_a_periodic_pass_that_fails_is_tried_again_sooner_than_its_interval_and_stops_when_told():
    from service.adapters.leadership import every

    stop, runs = asyncio.Event(), []

    async def one_pass() -> None:
        runs.append(1)
        if len(runs) < 3:
            raise ConnectionRefusedError  # a database outage must not kill the timer
        stop.set()

    settings = Settings(DENIALS_RETRY_INITIAL_S=0.001, DENIALS_RETRY_MAX_S=0.002)
    await asyncio.wait_for(every(3600, stop, one_pass, settings=settings, name="timers"), timeout=5)
    assert len(runs) == 3


async def test_the_relay_backs_off_after_losing_its_lead_and_counts_attempts_again_from_one():
    from service.adapters.relay import OutboxRelay

    class Scripted(OutboxRelay):
        """Connects as scripted (an error or a connection), leads as scripted (an error, or stop)."""

        def __init__(self) -> None:
            super().__init__(Settings(DENIALS_RETRY_INITIAL_S=0.1, DENIALS_RETRY_MAX_S=1), "postgresql://unused", None)
            self.connects = [ConnectionRefusedError(), ConnectionRefusedError(), "conn-1", ConnectionRefusedError(),
                             "conn-2"]
            self.leads = [KafkaConnectionError(), None]
            self.attempts: list[tuple[str, int]] = []
            self.pauses: list[float] = []

        async def _connect_and_lock(self):
            step = self.connects.pop(0)
            if isinstance(step, Exception):
                raise step
            return step

        async def _lead(self, conn) -> None:
            step = self.leads.pop(0)
            if step is not None:
                raise step
            self.stop()

        @staticmethod
        async def _close(conn) -> None:
            pass

        async def _sleep(self, seconds: float) -> None:
            self.pauses.append(seconds)

        def _failed(self, exc, attempt, delay) -> None:
            self.attempts.append((type(exc).__name__, attempt))
            super()._failed(exc, attempt, delay)

    relay = Scripted()
    await asyncio.wait_for(relay.run(), timeout=5)
    assert relay.attempts == [("ConnectionRefusedError", 1), ("ConnectionRefusedError", 2),
                              ("KafkaConnectionError", 1), ("ConnectionRefusedError", 2)]
    assert len(relay.pauses) == 4 and relay.stats.errors == 4 and not relay.connects
