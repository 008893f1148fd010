"""The stream side's lifecycle in one worker process: opens the connections service.bootstrap built, runs the relay,
the timers and the dependency probes, and holds the readiness state.

A `mode.Service` started by the faust Worker before the app and stopped after it, so the pool outlives the agents.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import asyncpg
import mode
from aiokafka import AIOKafkaProducer

from agents.broker_watch import BrokerWatch
from service.adapters.claim_timers import run_claim_timers
from service.adapters.faust_compat import disable_topic_auto_creation
from service.adapters.kafka import ensure_topics
from service.adapters.relay import OutboxRelay
from service.adapters.startup import retry_until_up
from service.adapters.task_timers import run_task_timers
from service.bootstrap import Parts
from service.domain.classification import Classifier
from service.logs import get_logger
from topics.catalogue import CATALOGUE

log = get_logger("denials.runtime")


@dataclass(slots=True)
class Health:
    """Readiness parts; `/ready` is true only when every part is."""

    database: bool = False
    broker: bool = False
    paused_by_failure: bool = False
    assigned: bool = False
    # The partitions this worker holds ("topic:partition"), so an operator (and the scale-out bench) can see who
    # works which part of the input.
    partitions: list[str] = field(default_factory=list)
    last_failure: str | None = None
    processed: int = 0
    dead_letters: int = 0
    retries: int = 0
    # Set by the dependency probe (every few seconds), so an outage shows even when no batch or publish fails.
    database_reachable: bool = True
    broker_reachable: bool = True
    details: dict[str, object] = field(default_factory=dict)


class Runtime(mode.Service):
    """Opens the connections bootstrap built, runs the relay and the timers for the worker's lifetime."""

    def __init__(self, parts: Parts, *, run_relay: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        settings = parts.settings
        self.parts = parts
        self.settings = settings
        self.connections = parts.connections
        self.database_url = parts.connections.database_url
        self.bootstrap = parts.connections.bootstrap_servers
        self.run_relay = run_relay
        self.relay: OutboxRelay | None = None
        self._relay_run: asyncio.Future | None = None
        self.classifier: Classifier = parts.classifier
        self.pseudonyms = parts.pseudonyms
        self.health = Health()
        self.draining = asyncio.Event()
        self.inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._timer_stop = asyncio.Event()  # stops the leader-only task timers
        self.app = None  # set by create_app: lets the agents ask whether a rebalance is under way
        self.claim_keyed = {name: settings.topic_partitions for name, spec in CATALOGUE.items()
                            if spec.key == "claim_id"}
        disable_topic_auto_creation()  # topics come from the catalogue only, never from a client naming them
        self.broker_watch = BrokerWatch(settings, self.bootstrap, self.claim_keyed)

    @property
    def pool(self) -> asyncpg.Pool | None:
        return self.connections.pool

    @property
    def producer(self) -> AIOKafkaProducer | None:
        return self.connections.producer

    # -- lifecycle --

    async def on_start(self) -> None:
        await retry_until_up("database", self._open_pool, self.settings)
        claim_keyed = self.claim_keyed
        await retry_until_up("topics", lambda: ensure_topics(self.bootstrap, partitions=claim_keyed), self.settings)
        await retry_until_up("broker", self._open_producer, self.settings)
        if self.run_relay:
            self.relay = OutboxRelay(self.settings, self.database_url, self.producer)
            self._relay_run = self.add_future(self.relay.run())
        self.add_future(self._watch_dependencies())
        self.add_future(self.broker_watch.run(self.producer, self.app, lambda: self.should_stop))
        self.add_future(run_task_timers(self.pool, self.settings, self._timer_stop))
        self.add_future(run_claim_timers(self.pool, self.settings, self._timer_stop))

    async def _open_pool(self) -> asyncpg.Pool:
        pool = await self.connections.open_pool(apply_migrations=True)
        self.health.database = True
        return pool

    async def _open_producer(self) -> AIOKafkaProducer:
        producer = await self.connections.open_producer()
        self.health.broker = True
        return producer

    async def on_stop(self) -> None:
        self._timer_stop.set()
        if self.relay is not None:
            self.relay.stop()
            if self._relay_run is not None:
                # Let the batch being published finish (acknowledged and marked sent) before the producer closes;
                # otherwise every clean stop republishes it on the next start.
                await asyncio.wait({self._relay_run}, timeout=self.settings.shutdown_drain_s)
        await self.connections.close_producer()
        await self.connections.close_pool()

    # -- draining (graceful shutdown) --

    def begin(self) -> bool:
        """An agent starts a batch; False when draining (the batch must be left unacked for redelivery)."""
        if self.draining.is_set():
            return False
        self.inflight += 1
        self._idle.clear()
        return True

    def end(self) -> None:
        self.inflight -= 1
        if self.inflight <= 0:
            self.inflight = 0
            self._idle.set()

    async def drain(self, deadline_s: float) -> bool:
        """Stop taking batches and wait (bounded) for those in flight; True when everything finished."""
        self.draining.set()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout=deadline_s)
            return True
        except TimeoutError:
            return False

    def should_abandon(self) -> bool:
        """A batch still failing transiently is given up (left unacked) when the worker stops or rebalances."""
        app = self.app
        return self.draining.is_set() or self.should_stop or bool(app is not None and app.rebalancing)

    async def pause(self, seconds: float) -> None:
        """The batches' sleep between retries (service.retry), cut short when the worker starts draining."""
        try:
            await asyncio.wait_for(self.draining.wait(), timeout=seconds)
        except TimeoutError:
            pass

    async def _watch_dependencies(self) -> None:
        """Probe PostgreSQL and the broker every few seconds: an idle worker has no failing batch or relay publish
        to reveal an outage, and /ready must still report it."""
        interval = max(1.0, min(5.0, self.settings.session_timeout_s / 3))
        timeout = self.settings.db_connect_timeout_s + 1
        while not self.should_stop:
            self.health.database_reachable = await self._probe(lambda: self.pool.fetchval("SELECT 1"), timeout)
            self.health.broker_reachable = await self._probe(self.producer.client.fetch_all_metadata, timeout)
            await self.sleep(interval)

    @staticmethod
    async def _probe(check, timeout: float) -> bool:
        try:
            await asyncio.wait_for(check(), timeout=timeout)
            return True
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - any failure means "not reachable now"
            return False

    def ready(self) -> tuple[bool, dict[str, object]]:
        relay = self.relay.stats if self.relay else None
        database = self.health.database and self.health.database_reachable
        broker = self.health.broker and self.health.broker_reachable
        parts = {
            "database": database,
            "broker": broker,
            "assigned": self.health.assigned,
            "partitions": self.health.partitions,
            "paused_by_failure": self.health.paused_by_failure,
            "draining": self.draining.is_set(),
            "relay_leader": relay.is_leader if relay else None,
            "relay_healthy": relay.healthy if relay else None,
        }
        broker_ok, reasons, topics = self.broker_watch.state()
        if relay is not None and relay.missing_topics:
            reasons.append(f"outbox relay waiting for topics: {', '.join(relay.missing_topics)}")
        parts["broker_healthy"] = broker_ok
        parts.update(topics)
        ok = (database and broker and broker_ok and self.health.assigned
              and not self.health.paused_by_failure and not self.draining.is_set()
              and (relay is None or relay.healthy))
        parts["reason"] = "; ".join(reasons) if reasons else None
        return ok, parts
