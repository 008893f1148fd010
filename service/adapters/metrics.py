"""Prometheus metrics (prometheus-client) of the worker and the API, served at `/metrics`.

What is measured, and where:
- the pipeline (agents/batch.py, one call per batch, never per record): records consumed and dead-lettered per
  topic; per committed unit of work (`MeteredUnitOfWork`, the store's unit of work with counting added): decisions by
  cause and payer type, how long the batch took to apply, and each applied event's event-time-to-commit;
- the relay (service/adapters/relay.py): outbox rows published per topic;
- the database, read when Prometheus scrapes (at most every `DENIALS_METRICS_DB_REFRESH_S`, one cheap query each):
  tasks by queue and state, unsent outbox rows and the age of the oldest, unresolved dead letters;
- the consumer (worker only): lag per topic and partition = the high watermark the consumer saw in its last fetch
  response minus the offset the group committed (never `end_offsets()`: the test broker answers it wrongly).

Labels carry only closed vocabularies: topic (the catalogue), cause (the decision categories), payer TYPE, queue,
task state, partition number. Never a claim id, payer claim number, payer id or anything of a patient: a value
outside its vocabulary is counted as `other`. Every recording function swallows its own errors: metrics never
raise into the pipeline.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from service.adapters.faust_compat import committed_offsets
from service.adapters.store import PostgresUnitOfWork
from service.domain.classification.vocabulary import CATEGORIES, QUEUES
from service.domain.tasks import TASK_STATES
from service.logs import get_logger
from service.x12.payer_types import PAYER_TYPES
from topics.catalogue import CATALOGUE

log = get_logger("denials.metrics")

OTHER = "other"
TOPICS = frozenset(CATALOGUE)
CAUSES = frozenset(CATEGORIES)
QUEUE_NAMES = frozenset(QUEUES)

# Seconds. Applying a batch: milliseconds to tens of seconds (retries are outside: one attempt is timed).
APPLY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Event time (occurred_at, set by the billing platform) to commit: sub-second when live, days for a re-sent file.
LAG_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0, 604800.0,
               2592000.0)

EVENTS_CONSUMED = Counter("denials_events_consumed", "Input records handled (committed or dead-lettered)",
                          ["topic"], registry=None)
EVENTS_DEAD_LETTERED = Counter("denials_events_dead_lettered", "Input records (or parts of one) sent to the dead "
                               "letters", ["topic"], registry=None)
CONFLICTING_DUPLICATES = Counter("denials_conflicting_duplicates", "Input records that reused a known event id with "
                                 "other content (dead-lettered; the first version stays applied)", ["topic"],
                                 registry=None)
DECISIONS = Counter("denials_decisions", "Adjustments classified (committed decisions)", ["cause", "payer_type"],
                    registry=None)
APPLY_SECONDS = Histogram("denials_batch_apply_seconds", "Time to apply one batch in one transaction (to commit)",
                          ["topic"], buckets=APPLY_BUCKETS, registry=None)
COMMIT_LAG_SECONDS = Histogram("denials_event_time_to_commit_seconds", "From an applied event's occurred_at to the "
                               "commit of its batch", ["topic"], buckets=LAG_BUCKETS, registry=None)
OUTBOX_PUBLISHED = Counter("denials_outbox_published", "Outbox rows the relay published (broker acknowledged)",
                           ["topic"], registry=None)
ERRORS = Counter("denials_metrics_errors", "Metrics that could not be recorded or read (the pipeline went on)",
                 ["where"], registry=None)
PIPELINE = (EVENTS_CONSUMED, EVENTS_DEAD_LETTERED, CONFLICTING_DUPLICATES, DECISIONS, APPLY_SECONDS,
            COMMIT_LAG_SECONDS, OUTBOX_PUBLISHED, ERRORS)


def _topic(name: str) -> str:
    return name if name in TOPICS else OTHER


class _Children:
    """Pre-bound label children, looked up once per label value (a dict hit afterwards, no formatting)."""

    def __init__(self, metric: Any, clean: Callable[..., tuple[str, ...]]) -> None:
        self._metric = metric
        self._clean = clean
        self._cache: dict[Any, Any] = {}

    def __call__(self, *key: str) -> Any:
        child = self._cache.get(key)
        if child is None:
            child = self._cache[key] = self._metric.labels(*self._clean(*key))
        return child


_consumed = _Children(EVENTS_CONSUMED, lambda t: (_topic(t),))
_dead = _Children(EVENTS_DEAD_LETTERED, lambda t: (_topic(t),))
_conflicting = _Children(CONFLICTING_DUPLICATES, lambda t: (_topic(t),))
_apply = _Children(APPLY_SECONDS, lambda t: (_topic(t),))
_lag = _Children(COMMIT_LAG_SECONDS, lambda t: (_topic(t),))
_published = _Children(OUTBOX_PUBLISHED, lambda t: (_topic(t),))
_decisions = _Children(DECISIONS, lambda c, p: (c if c in CAUSES else OTHER, p if p in PAYER_TYPES else OTHER))
_errors = _Children(ERRORS, lambda w: (w,))


def _failed(where: str) -> None:
    try:
        _errors(where).inc()
    except Exception:  # noqa: BLE001 - nothing more to do
        pass


# -- recording (hot path: once per batch) ------------------------------------------------------------------------

def events_consumed(topic: str, count: int, done: bool) -> None:
    """A batch of `count` records was handled (done: committed or dead-lettered); a given-up batch is not counted
    (it is redelivered and counted then)."""
    try:
        if done and count:
            _consumed(topic).inc(count)
    except Exception:  # noqa: BLE001 - metrics never break the pipeline
        _failed("consumed")


def dead_lettered(topic: str, count: int) -> None:
    try:
        _dead(topic).inc(count)
    except Exception:  # noqa: BLE001
        _failed("dead_lettered")


def conflicting_duplicates(topic: str, count: int) -> None:
    try:
        _conflicting(topic).inc(count)
    except Exception:  # noqa: BLE001
        _failed("conflicting_duplicates")


def outbox_published(rows: Sequence[Any]) -> None:
    """The relay published these outbox rows (each has a `topic`): one increment per topic of the batch."""
    try:
        for topic, n in Tally(r["topic"] for r in rows).items():
            _published(topic).inc(n)
    except Exception:  # noqa: BLE001
        _failed("published")


# -- API refusals: labels are the route's name (a template, never an id) and the reason -----------------

API_REFUSALS = Counter("denials_api_refusals", "API requests refused with 401 or 403, by route name and reason "
                       "(missing, malformed, unknown, not_bearer, revoked, expired, forbidden)",
                       ["route", "reason", "status"], registry=None)
REFUSAL_REASONS = frozenset({"missing", "malformed", "unknown", "not_bearer", "revoked", "expired", "forbidden"})
_refusals = _Children(API_REFUSALS, lambda r, why, st: (r, why if why in REFUSAL_REASONS else OTHER, st))


def api_refused(route: str, reason: str, status: int) -> None:
    """One refused request; `route` is the route table's name (e.g. `get_task`), so the label set stays bounded."""
    try:
        _refusals(route, reason, str(status)).inc()
    except Exception:  # noqa: BLE001 - metrics never break a request
        _failed("api_refused")


class MeteredUnitOfWork(PostgresUnitOfWork):
    """The store's unit of work, counting what it commits: decisions by cause and payer type, the batch's apply time
    and each newly applied event's event-time-to-commit. Nothing is counted for a batch that rolls back."""

    def __init__(self, topic: str, items: Sequence[Any], pool: asyncpg.Pool, *, acquire_timeout: float = 10) -> None:
        super().__init__(pool, acquire_timeout=acquire_timeout)
        self._topic = topic
        self._items = items
        self._fresh: set[str] | None = None
        self._decisions: Tally[tuple[str, str]] = Tally()
        self._started = 0.0

    async def __aenter__(self) -> MeteredUnitOfWork:
        self._started = time.perf_counter()
        await super().__aenter__()
        return self

    async def claim_inbox(self, items: Iterable[Any]) -> set[str]:
        fresh = await super().claim_inbox(items)
        self._fresh = fresh
        return fresh

    async def save(self, changes: Any) -> None:
        await super().save(changes)
        try:
            self._decisions.update((row.decision.category, row.remittance.payer.type) for row in changes.decisions)
        except Exception:  # noqa: BLE001
            _failed("decisions")

    async def commit(self) -> None:
        await super().commit()
        try:
            now = time.time()
            _apply(self._topic).observe(time.perf_counter() - self._started)
            for (cause, payer_type), n in self._decisions.items():
                _decisions(cause, payer_type).inc(n)
            fresh = self._fresh or set()
            observe = _lag(self._topic).observe
            for item in self._items:
                if item.event_id in fresh:
                    observe(max(0.0, now - item.event.occurred_at.timestamp()))
        except Exception:  # noqa: BLE001
            _failed("commit")


# -- read at scrape time -----------------------------------------------------------------------------------------

_TASKS_SQL = "SELECT queue, state, count(*) AS n FROM appeal_tasks GROUP BY queue, state"
_OUTBOX_SQL = ("SELECT count(*) AS n, EXTRACT(EPOCH FROM now() - min(created_at)) AS age "
               "FROM outbox_pending")
_DEAD_SQL = "SELECT count(*) FROM dead_letters WHERE status = 'new'"


@dataclass(slots=True)
class DatabaseSnapshot:
    tasks: dict[tuple[str, str], int] = field(default_factory=dict)
    outbox_unsent: int = 0
    outbox_oldest_age_s: float = 0.0
    dead_letters_new: int = 0
    read_at: float = 0.0  # monotonic; 0 = never read
    ok: bool = False


class DatabaseCollector(Collector):
    """Gauges from the database, refreshed by `refresh()` (called by the /metrics handler before it renders, at most
    once per `ttl_s`): the scrape never runs a query synchronously, and a slow database never blocks the loop."""

    def __init__(self, pool_provider: Callable[[], asyncpg.Pool | None], *, ttl_s: float, timeout_s: float) -> None:
        self._pool_provider = pool_provider
        self._ttl_s = ttl_s
        self._timeout_s = timeout_s
        self._lock = asyncio.Lock()
        self.snapshot = DatabaseSnapshot()

    async def refresh(self) -> None:
        if self.snapshot.read_at and time.monotonic() - self.snapshot.read_at < self._ttl_s:
            return
        async with self._lock:
            if self.snapshot.read_at and time.monotonic() - self.snapshot.read_at < self._ttl_s:
                return
            pool = self._pool_provider()
            if pool is None:
                return
            try:
                async with pool.acquire(timeout=self._timeout_s) as conn:
                    tasks = await conn.fetch(_TASKS_SQL, timeout=self._timeout_s)
                    outbox = await conn.fetchrow(_OUTBOX_SQL, timeout=self._timeout_s)
                    dead = await conn.fetchval(_DEAD_SQL, timeout=self._timeout_s)
            except Exception as exc:  # noqa: BLE001 - keep the last values; say so in the scrape
                self.snapshot.ok = False
                self.snapshot.read_at = time.monotonic()
                _failed("database")
                log.warning("metrics.database_unavailable", error=type(exc).__name__)
                return
            counts: dict[tuple[str, str], int] = {}
            for r in tasks:
                key = (r["queue"] if r["queue"] in QUEUE_NAMES else OTHER,
                       r["state"] if r["state"] in TASK_STATES else OTHER)
                counts[key] = counts.get(key, 0) + r["n"]
            self.snapshot = DatabaseSnapshot(tasks=counts, outbox_unsent=outbox["n"],
                                             outbox_oldest_age_s=float(outbox["age"] or 0.0),
                                             dead_letters_new=dead or 0, read_at=time.monotonic(), ok=True)

    def collect(self):
        s = self.snapshot
        tasks = GaugeMetricFamily("denials_tasks", "Appeal tasks by queue and state (from the database)",
                                  labels=["queue", "state"])
        for (queue, state), n in sorted(s.tasks.items()):
            tasks.add_metric([queue, state], n)
        yield tasks
        yield GaugeMetricFamily("denials_outbox_unsent", "Outbox rows not yet published", value=s.outbox_unsent)
        yield GaugeMetricFamily("denials_outbox_oldest_unsent_age_seconds",
                                "Age of the oldest unpublished outbox row (0 when none)", value=s.outbox_oldest_age_s)
        yield GaugeMetricFamily("denials_dead_letters_unresolved", "Dead letters with status new",
                                value=s.dead_letters_new)
        yield GaugeMetricFamily("denials_metrics_database_up", "1 when the last database read for metrics worked",
                                value=1 if s.ok else 0)


class ConsumerCollector(Collector):
    """Consumer lag per topic and partition from the faust consumer (`consumer_provider()`, None when not running):
    the high watermark its last fetch response reported minus the group's committed offset. An empty partition
    (high watermark 0) has lag 0 even before any commit; a partition without a fetch yet, or holding records but
    without a commit yet (the first second of a new group), has no sample rather than a made-up one."""

    def __init__(self, consumer_provider: Callable[[], Any], relay_provider: Callable[[], Any] | None = None) -> None:
        self._consumer_provider = consumer_provider
        self._relay_provider = relay_provider

    def lags(self) -> list[tuple[str, int, int]]:
        consumer = self._consumer_provider()
        if consumer is None:
            return []
        out = []
        try:
            committed = committed_offsets(consumer)
            for tp in sorted(consumer.assignment()):
                try:
                    high = consumer.highwater(tp)
                except Exception:  # noqa: BLE001 - revoked meanwhile, or no fetch yet
                    continue
                done = committed.get(tp)
                if done is None and high == 0:
                    done = 0  # nothing was ever written there: nothing to catch up on
                if high is None or done is None:
                    continue
                out.append((_topic(tp.topic), int(tp.partition), max(0, int(high) - int(done))))
        except Exception:  # noqa: BLE001 - not started, stopping, rebalancing
            _failed("consumer")
        return out

    def collect(self):
        lag = GaugeMetricFamily("denials_consumer_lag", "Records not yet committed by the consumer group: high "
                                "watermark (from fetch responses) minus committed offset",
                                labels=["topic", "partition"])
        for topic, partition, n in self.lags():
            lag.add_metric([topic, str(partition)], n)
        yield lag
        relay = self._relay_provider() if self._relay_provider else None
        if relay is not None:
            yield GaugeMetricFamily("denials_relay_leader", "1 when this worker's outbox relay holds the leader lock",
                                    value=1 if relay.stats.is_leader else 0)


# -- the registry a server renders -------------------------------------------------------------------------------

@dataclass(slots=True)
class MetricsEndpoint:
    registry: CollectorRegistry
    database: DatabaseCollector

    async def render(self) -> tuple[bytes, str]:
        await self.database.refresh()
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def build_endpoint(pool_provider: Callable[[], asyncpg.Pool | None], *, ttl_s: float, timeout_s: float,
                   consumer_provider: Callable[[], Any] | None = None,
                   relay_provider: Callable[[], Any] | None = None) -> MetricsEndpoint:
    """A registry for one server: the process's pipeline metrics, the process and platform collectors, the database
    gauges and (in the worker) the consumer's lag. One registry per server, so several servers in one process (tests)
    never collide."""
    registry = CollectorRegistry(auto_describe=True)
    for metric in PIPELINE:
        registry.register(metric)
    registry.register(API_REFUSALS)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    database = DatabaseCollector(pool_provider, ttl_s=ttl_s, timeout_s=timeout_s)
    registry.register(database)
    if consumer_provider is not None or relay_provider is not None:
        registry.register(ConsumerCollector(consumer_provider or (lambda: None), relay_provider))
    return MetricsEndpoint(registry=registry, database=database)
