"""The outbox relay: publishes committed outbox rows in id order, takes them off the publishing queue
(outbox_pending) only after the broker acknowledged.

One leader at a time: the relay holds a session-level PostgreSQL advisory lock on a dedicated connection; the other
workers' relays wait for it. It wakes on LISTEN/NOTIFY and polls as a fallback. Delivery is at least once: a crash
between producing and dequeuing republishes those rows, and consumers dedupe by event_id.

A row is done only when the broker acknowledged it for a topic that exists: a broker that lost its data (the local
broker restarted empty) still answers a produce to a topic it no longer has with an acknowledgement and stores
nothing. So the relay asks the broker for its topics (fresh metadata, not the producer's cache) before producing a
batch and again after the acknowledgements, and marks nothing sent when a topic of the batch is missing either time.
It never creates topics itself: the worker's topic check does, when allowed (DENIALS_RECREATE_TOPICS).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass, field

import asyncpg
from aiokafka import AIOKafkaProducer

from service import failpoints
from service.adapters import metrics, postgres
from service.adapters.kafka import broker_topics
from service.adapters.store import OUTBOX_CHANNEL
from service.config import Settings
from service.errors import TransientError
from service.logs import get_logger
from service.retry import RetryAbandoned, RetryPolicy

RELAY_LOCK_KEY = 0x72656C6179  # "relay"

log = get_logger("denials.relay")


# Published rows are purged by the leading relay every so often, a bounded amount at a time, so the outbox (the
# largest table, ~6.5 kB a remittance) does not grow for ever and a purge never holds up publishing for long.
PURGE_INTERVAL_S = 30.0
PURGE_CHUNK = 5_000
PURGE_MAX_CHUNKS = 20


async def purge_published(conn: asyncpg.Connection, older_than: dt.timedelta) -> int:
    """Delete published outbox rows written more than `older_than` ago, oldest first, at most
    PURGE_CHUNK * PURGE_MAX_CHUNKS per call. Unpublished rows (still in outbox_pending) are never touched. The
    broker holds what was published; the input's idempotency lives in the inbox and the timers' own tables."""
    # Ids grow with time, so walk id ranges from the oldest row (primary-key range scans, never the whole table) and
    # stop at the first range with nothing old enough: every later row is newer.
    deleted = 0
    low = await conn.fetchval("SELECT min(id) FROM outbox")
    for _ in range(PURGE_MAX_CHUNKS):
        if low is None:
            break
        status = await conn.execute(
            "DELETE FROM outbox o WHERE id >= $1 AND id < $2 AND created_at < now() - $3::interval "
            "AND NOT EXISTS (SELECT 1 FROM outbox_pending p WHERE p.id = o.id)",
            low, low + PURGE_CHUNK, older_than)
        n = int(status.split()[-1])
        if n == 0:
            break
        deleted += n
        low += PURGE_CHUNK
    return deleted


class TopicsMissing(TransientError):  # noqa: N818 - reads as what happened
    """Retryable: topics of the batch are not on the broker (it lost its data, or they were never created)."""

    def __init__(self, topics: list[str], when: str) -> None:
        super().__init__(f"{when}: topics missing on the broker: {', '.join(topics)}")
        self.topics = topics
        self.when = when


async def requeue_published(conn: asyncpg.Connection, since: dt.datetime, topic: str | None = None) -> dict[str, int]:
    """Put published outbox rows written at or after `since` (of `topic`, or every topic) back in the publishing
    queue; the relay publishes them again, in id order, under the same acknowledgement rules. Rows still queued are
    left as they are. Consumers dedupe by event_id, so a row the broker still has does no harm. Returns the rows
    queued per topic."""
    rows = await conn.fetch(
        """WITH queued AS (
               INSERT INTO outbox_pending (id, created_at)
               SELECT o.id, o.created_at FROM outbox o
               WHERE o.created_at >= $1 AND ($2::text IS NULL OR o.topic = $2)
                 AND NOT EXISTS (SELECT 1 FROM outbox_pending p WHERE p.id = o.id)
               ORDER BY o.id
               ON CONFLICT (id) DO NOTHING
               RETURNING id)
           SELECT o.topic, count(*) AS n FROM queued q JOIN outbox o ON o.id = q.id
           GROUP BY o.topic ORDER BY o.topic""",
        since, topic)
    if rows:
        await conn.execute(f"NOTIFY {OUTBOX_CHANNEL}")
    return {r["topic"]: r["n"] for r in rows}


@dataclass(slots=True)
class RelayStats:
    published: int = 0
    batches: int = 0
    is_leader: bool = False
    last_error: str | None = None
    healthy: bool = True
    lag: int = 0
    errors: int = field(default=0)
    purged: int = 0
    missing_topics: tuple[str, ...] = ()


class OutboxRelay:
    def __init__(self, settings: Settings, database_url: str, producer: AIOKafkaProducer) -> None:
        self._settings = settings
        self._url = database_url
        self._producer = producer
        self._retry = RetryPolicy.from_settings(settings)
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self.stats = RelayStats()
        self._last_logged: tuple[str, tuple[str, ...]] | None = None

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Lead when the lock is free; reconnect with the service's backoff on any failure; return when stopped."""
        failure: Exception | None = None  # what ended the last lead
        while not self._stopping.is_set():
            try:
                conn = await self._take_lead(failure)
            except RetryAbandoned:
                return
            failure = None
            if conn is None:
                return
            try:
                self.stats.is_leader = True
                log.info("relay.leading")
                await self._lead(conn)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - every failure here is retried; nothing is marked sent
                failure = exc
            finally:
                self.stats.is_leader = False
                await self._close(conn)

    async def _take_lead(self, failure: Exception | None) -> asyncpg.Connection | None:
        """A connection holding the relay's lock (None: stopped while another process leads), retrying any failure
        with the service's backoff. `failure`, what ended the last lead, counts as the first failed attempt: the
        relay backs off before reconnecting, and the attempts count again from one after every lead."""
        pending = [failure] if failure is not None else []

        async def attempt() -> asyncpg.Connection | None:
            if pending:
                raise pending.pop()
            return await self._connect_and_lock()

        return await self._retry.call(attempt, retry_on=Exception, stop=self._stopping.is_set, sleep=self._sleep,
                                      on_retry=self._failed)

    async def _connect_and_lock(self) -> asyncpg.Connection | None:
        conn = await postgres.connect(self._url, self._settings)
        try:
            await conn.add_listener(OUTBOX_CHANNEL, self._on_notify)
            while not self._stopping.is_set():
                if await conn.fetchval("SELECT pg_try_advisory_lock($1)", RELAY_LOCK_KEY):
                    return conn
                self.stats.is_leader = False
                await self._sleep(max(1.0, self._settings.relay_idle_s * 4))
        except BaseException:
            await self._close(conn)
            raise
        await self._close(conn)
        return None

    def _failed(self, exc: BaseException, attempt: int, delay: float) -> None:
        self.stats.errors += 1
        self.stats.healthy = False
        self.stats.last_error = type(exc).__name__
        self.stats.is_leader = False
        self._log_retry(exc, attempt, delay)

    @staticmethod
    async def _close(conn: asyncpg.Connection) -> None:
        try:
            await asyncio.wait_for(conn.close(), timeout=2)
        except Exception:  # noqa: BLE001 - closing a dead connection
            conn.terminate()

    def _log_retry(self, exc: BaseException, attempt: int, delay: float) -> None:
        """One line per distinct failure, not one per retry: a broker without the batch's topics can last minutes."""
        topics = tuple(exc.topics) if isinstance(exc, TopicsMissing) else ()
        self.stats.missing_topics = topics
        what = (type(exc).__name__, topics)
        if what == self._last_logged:
            return
        self._last_logged = what
        if topics:
            log.warning("relay.topics_missing", topics=list(topics), checked=exc.when, attempt=attempt,
                        delay_s=round(delay, 2))
        else:
            log.warning("relay.retry", error=type(exc).__name__, attempt=attempt, delay_s=round(delay, 2))

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        except TimeoutError:
            pass
        self._wake.clear()

    async def _lead(self, conn: asyncpg.Connection) -> None:
        next_purge = time.monotonic() + PURGE_INTERVAL_S
        while not self._stopping.is_set():
            try:
                # Missing topics keep the connection and the lead (reconnecting would only churn the lock): wait for
                # them with the service's backoff; nothing of the batch is marked sent.
                sent = await self._retry.call(lambda: self.publish_once(conn), retry_on=TopicsMissing,
                                              stop=self._stopping.is_set, sleep=self._sleep,
                                              on_retry=self._topics_missing)
            except RetryAbandoned:
                return
            if not self.stats.healthy or self._last_logged is not None:
                log.info("relay.recovered", published=sent)
            self.stats.healthy = True
            self.stats.missing_topics = ()
            self._last_logged = None
            if self._settings.outbox_retention_h > 0 and time.monotonic() >= next_purge:
                next_purge = time.monotonic() + PURGE_INTERVAL_S
                self.stats.purged += await purge_published(
                    conn, dt.timedelta(hours=self._settings.outbox_retention_h))
            if sent == 0:
                await self._sleep(self._settings.relay_idle_s)

    def _topics_missing(self, exc: BaseException, attempt: int, delay: float) -> None:
        self.stats.healthy = False
        self.stats.last_error = type(exc).__name__
        self._log_retry(exc, attempt, delay)

    async def publish_once(self, conn: asyncpg.Connection) -> int:
        """Publish one batch of unsent rows in id order; returns how many were published."""
        # The first queued ids, then one primary-key probe each (a plain join let the cached plan scan the outbox).
        rows = await conn.fetch(
            """SELECT o.id, o.event_id, o.topic, o.key, o.payload
               FROM (SELECT id FROM outbox_pending ORDER BY id LIMIT $1) p CROSS JOIN LATERAL (
                   SELECT * FROM outbox WHERE outbox.id = p.id OFFSET 0) o
               ORDER BY p.id""", self._settings.relay_batch)
        if not rows:
            self.stats.lag = 0
            return 0
        timeout = self._settings.db_command_timeout_s + 20
        topics = sorted({r["topic"] for r in rows})
        await self._require_topics(topics, "before producing", timeout)
        # One deadline for the whole batch (a send only blocks when the producer's buffer is full): a wait_for per
        # record cost a task and a timer handle each, a few per cent of the worker's CPU.
        async with asyncio.timeout(timeout):
            futures = [await self._producer.send(r["topic"], key=r["key"], value=r["payload"],
                                                 headers=[("event_id", r["event_id"].encode())])
                       for r in rows]
        await asyncio.wait_for(asyncio.gather(*futures), timeout=timeout)
        # Acknowledged is not enough: a broker replaced by an empty one acknowledges records for topics it does not
        # have (and keeps none of them). The topics must still be there after the acknowledgements.
        await self._require_topics(topics, "after the acknowledgements", timeout)
        failpoints.hit("relay.after_produce")  # fault tests: die here, produced but not marked sent
        # Published = no longer queued. The id range bounds the scan whatever plan is cached; the batch's ids are the
        # smallest queued ones, but a row committed meanwhile may fall inside the range, hence the list as well.
        ids = [r["id"] for r in rows]
        await conn.execute("DELETE FROM outbox_pending WHERE id BETWEEN $1 AND $2 AND id = ANY($3::bigint[])",
                           ids[0], ids[-1], ids)
        self.stats.published += len(rows)
        self.stats.batches += 1
        metrics.outbox_published(rows)  # per topic, never raises
        return len(rows)

    async def _require_topics(self, topics: list[str], when: str, timeout: float) -> None:
        """Raise TopicsMissing unless the broker has every one of `topics` now (fresh metadata, not the cache)."""
        present = await broker_topics(self._producer, timeout_s=timeout)
        missing = [t for t in topics if not present.get(t)]
        if missing:
            raise TopicsMissing(missing, when)
