"""faust's aiokafka transport with one setting faust does not expose: how long a fetch may wait for data.

faust creates its consumer with `fetch_max_wait_ms=1500`. Apache Kafka answers a fetch as soon as data arrives, so the
value is only an idle upper bound there; a broker that does not wake parked fetches on new data (the Tansu broker
used for local runs and tests) makes it the delivery latency instead. DENIALS_FETCH_MAX_WAIT_MS sets it.
"""

from __future__ import annotations

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport):  # type: ignore[override]
        consumer = super()._create_worker_consumer(transport)
        # aiokafka reads this attribute when it builds its fetcher at start (aiokafka 0.14, pinned minor)
        consumer._fetch_max_wait_ms = self.app.conf.denials_fetch_max_wait_ms  # noqa: SLF001
        return consumer

    async def _commit(self, offsets):  # type: ignore[override]
        ok = await super()._commit(offsets)
        listener = getattr(self.app, "denials_commit_listener", None)
        if ok and listener is not None:
            listener()  # the worker's broker watch: commits work (again)
        return ok


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    Consumer = _Consumer


class DenialsApp(faust.App):
    """A faust App whose consumer honours DENIALS_FETCH_MAX_WAIT_MS (everything else is faust's)."""

    def __init__(self, *args, fetch_max_wait_ms: int = 25, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.conf.denials_fetch_max_wait_ms = fetch_max_wait_ms
        self.denials_commit_listener = None  # called (in the consumer's thread) after each successful commit

    def _new_transport(self):  # type: ignore[override]
        return Transport(self.conf.broker_consumer, self)
