"""The worker's watch on the broker: are the catalogue's topics there, and do offset commits and fetches work?

A broker that loses its data (the local broker restarted empty, same address) looks healthy to a reachability probe:
it answers metadata requests. What breaks is quieter: aiokafka retries the failing offset commit every 100 ms for as
long as the topic is gone (logging each retry), fetches find no partitions, and the relay's produces are acknowledged
and dropped. So the worker

- checks its topics every DENIALS_TOPIC_CHECK_INTERVAL_S, on every metadata update its clients get and on the first
  failed commit or fetch of a streak, and recreates the missing ones from the catalogue when DENIALS_RECREATE_TOPICS
  allows (then makes the consumer rejoin, so it starts from the new topics' beginning: faust would otherwise skip the
  new records below the offsets it had read before);
- counts the aiokafka log lines that report a failed commit or fetch (and drops them: one structured line per
  condition change replaces ten a second), and the commits that succeed;
- reports, through `/ready`, the topics still missing and failures sustained past DENIALS_BROKER_FAILURE_THRESHOLD_S.

The decisions are in service/broker_health.py (plain values); this module only feeds it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from aiokafka import AIOKafkaProducer

from service.adapters.faust_compat import (
    COMMIT_FAILURE_LOG_LINES,
    FETCH_FAILURE_LOG_LINES,
    add_metadata_listener,
    force_metadata_update,
    request_rejoin,
    worker_kafka_consumer,
)
from service.adapters.kafka import broker_topics, ensure_topics, wanted_partitions
from service.broker_health import COMMIT, FETCH, BrokerHealth
from service.config import Settings
from service.logs import get_logger

log = get_logger("denials.broker")


def _failure_lines() -> dict[str, tuple[tuple[str, str], ...]]:
    """aiokafka's loggers and, for each, the message prefixes that mean "a commit / a fetch failed" and which."""
    table: dict[str, list[tuple[str, str]]] = {}
    for kind, lines in ((COMMIT, COMMIT_FAILURE_LOG_LINES), (FETCH, FETCH_FAILURE_LOG_LINES)):
        for logger_name, prefixes in lines.items():
            table.setdefault(logger_name, []).extend((kind, prefix) for prefix in prefixes)
    return {logger_name: tuple(pairs) for logger_name, pairs in table.items()}


_FAILURE_LINES = _failure_lines()
MIN_CHECK_GAP_S = 1.0  # metadata updates come in bursts while a topic is missing; one check a second is plenty


def _error_name(record: logging.LogRecord) -> str:
    args = record.args if isinstance(record.args, tuple) else ()
    last = args[-1] if args else None
    if isinstance(last, BaseException):
        return type(last).__name__
    if isinstance(last, str) and last.isidentifier():
        return last
    return "UnknownTopicOrPartitionError" if "unknown topic" in str(record.msg) else "KafkaError"


class BrokerWatch(logging.Filter):
    def __init__(self, settings: Settings, bootstrap: str, partitions: dict[str, int]) -> None:
        super().__init__()
        self.settings = settings
        self.bootstrap = bootstrap
        self.partitions = partitions
        self.recreate = settings.recreates_topics(bootstrap)
        self.health = BrokerHealth(threshold_s=settings.broker_failure_threshold_s)
        self.recreated = 0  # topics recreated since start
        self._lock = threading.Lock()  # aiokafka's consumer (and its logging) runs in a thread of its own
        self._loop: asyncio.AbstractEventLoop | None = None
        self._trigger: asyncio.Event | None = None
        self._last_check = 0.0
        self._consumer_hooked = False

    # -- observations (any thread) --

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        for kind, prefix in _FAILURE_LINES.get(record.name, ()):
            if message.startswith(prefix):
                error = _error_name(record)
                with self._lock:
                    started = self.health.failure(kind, error, time.monotonic())
                if started:
                    log.warning(f"broker.{kind}_failed", error=error)
                    self.poke()
                return False  # reported as one line per condition change instead
        return True

    def commit_succeeded(self) -> None:
        with self._lock:
            self.health.success(COMMIT)

    def poke(self) -> None:
        """Ask for a topic check soon (safe from any thread)."""
        loop, trigger = self._loop, self._trigger
        if loop is not None and trigger is not None and not loop.is_closed():
            loop.call_soon_threadsafe(trigger.set)

    # -- readiness --

    def state(self) -> tuple[bool, list[str], dict[str, object]]:
        with self._lock:
            now = time.monotonic()
            reasons = self.health.reasons(now)
            extra = {"topics_missing": list(self.health.missing_topics),
                     "topics_recreate": self.recreate}
            if self.health.mismatched_topics:
                extra["topics_mismatched"] = {t: {"partitions": p, "catalogue": w}
                                              for t, (p, w) in self.health.mismatched_topics.items()}
        return not reasons, reasons, extra

    # -- the loop --

    def install(self) -> None:
        for name in _FAILURE_LINES:
            logging.getLogger(name).addFilter(self)

    def uninstall(self) -> None:
        for name in _FAILURE_LINES:
            logging.getLogger(name).removeFilter(self)

    async def run(self, producer: AIOKafkaProducer, app, should_stop) -> None:
        """Check and report until `should_stop()`; never raises (a failed check is retried at the next one)."""
        self._loop = asyncio.get_running_loop()
        self._trigger = asyncio.Event()
        self.install()
        producer.client.cluster.add_listener(lambda _cluster: self.poke())
        next_check = 0.0
        try:
            while not should_stop():
                now = time.monotonic()
                self._hook_consumer(app)
                if now >= next_check or (self._trigger.is_set() and now - self._last_check >= MIN_CHECK_GAP_S):
                    self._trigger.clear()
                    self._last_check = now
                    next_check = now + self.settings.topic_check_interval_s
                    await self._check(producer, app)
                self._report()
                try:
                    await asyncio.wait_for(self._trigger.wait(), timeout=1.0)
                except TimeoutError:
                    pass
        finally:
            self.uninstall()

    async def _check(self, producer: AIOKafkaProducer, app) -> None:
        timeout = self.settings.db_connect_timeout_s + 5
        try:
            present = await broker_topics(producer, timeout_s=timeout)
            wanted = wanted_partitions(self.partitions)
            missing = [t for t in wanted if not present.get(t)]
            if missing and self.recreate:
                created = await ensure_topics(self.bootstrap, partitions=self.partitions, only=missing,
                                              timeout_s=timeout)
                if created:
                    self.recreated += len(created)
                    log.warning("broker.topics_recreated", topics=created, count=len(created))
                    self._rejoin(app)
                present = await broker_topics(producer, timeout_s=timeout)
                missing = [t for t in wanted if not present.get(t)]
            mismatched = {t: (present[t], n) for t, n in wanted.items() if present.get(t) and present[t] != n}
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - broker unreachable: the dependency probe reports that
            log.debug("broker.topic_check_failed", error=type(exc).__name__)
            return
        with self._lock:
            self.health.topics(missing, mismatched)

    def _report(self) -> None:
        with self._lock:
            changes = self.health.changes(time.monotonic())
        for change in changes:
            event = f"broker.{change.condition}" if change.active else f"broker.{change.condition}_cleared"
            (log.warning if change.active else log.info)(event, **change.detail)

    # -- the faust consumer (lives in its own thread and event loop) --

    def _hook_consumer(self, app) -> None:
        if self._consumer_hooked:
            return
        consumer, loop = worker_kafka_consumer(app)
        if consumer is None:
            return
        self._consumer_hooked = True
        loop.call_soon_threadsafe(add_metadata_listener, consumer, lambda _cluster: self.poke())

    def _rejoin(self, app) -> None:
        """Make the consumer rejoin the group after topics were recreated: a rebalance makes faust forget the offsets
        it had read (it drops records below them) and the consumer read the new topics from their start."""
        consumer, loop = worker_kafka_consumer(app)
        if consumer is None:
            return

        def rejoin() -> None:
            force_metadata_update(consumer)  # runs in the client's own task: nothing here waits for it
            request_rejoin(consumer)

        loop.call_soon_threadsafe(rejoin)
