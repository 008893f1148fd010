"""The faust application: one agent per input topic, concurrency 1, batches taken without auto-ack (agents.take).

Acks happen only after the batch is committed to PostgreSQL or dead-lettered, in order. `stream_wait_empty` is off:
a batch left unacked (the worker stopping or rebalancing during an outage) must not block the rebalance; it is
redelivered from the committed offset to whoever owns the partition next.
"""

from __future__ import annotations

import faust

from agents.batch import BatchProcessor, Decoder, Source, replay_of
from agents.decoders import json_decoders
from agents.runtime import Runtime
from agents.take import take_ahead
from service.adapters.faust_compat import faust_app
from service.config import Settings
from service.logs import get_logger
from topics.catalogue import CATALOGUE, X12_INBOUND

log = get_logger("denials.agents")


def create_app(settings: Settings, runtime: Runtime, bootstrap: str, *,
               extra_decoders: dict[str, tuple[Decoder, bool]] | None = None) -> faust.App:
    # Fetches stay small: a partition's first record is returned whole even when it is larger (KIP-74, checked on the
    # local broker with 5 MB interchanges), and big per-partition fetches only grow the memory a lagging worker holds.
    fetch_bytes = 1_048_576
    request_bytes = max(4 * 1_048_576, settings.x12_max_bytes + 1_048_576)
    app = faust_app(
        settings.app_id,
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        commit_listener=runtime.broker_watch.commit_succeeded,
        broker=[f"kafka://{host}" for host in bootstrap.split(",")],
        store="memory://",
        datadir=str(settings.data_dir / "faust"),
        web_enabled=False,
        autodiscover=False,
        topic_allow_declare=True,
        topic_partitions=settings.topic_partitions,
        consumer_auto_offset_reset="earliest",
        stream_wait_empty=False,
        broker_rebalance_timeout=settings.rebalance_timeout_s,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=max(0.5, settings.session_timeout_s / 5),
        broker_request_timeout=max(30.0, settings.session_timeout_s * 3),
        broker_max_poll_records=500,
        broker_commit_interval=1.0,
        consumer_max_fetch_size=fetch_bytes,
        producer_max_request_size=request_bytes,
        stream_buffer_maxsize=max(4096, settings.batch_max * 4),
        logging_config=None,
    )
    runtime.app = app

    decoders: dict[str, tuple[Decoder, bool]] = {
        name: (decoder, False) for name, decoder in json_decoders(settings.max_record_bytes).items()}
    decoders.update(extra_decoders or {})
    for topic_name, (decoder, in_executor) in decoders.items():
        _register_agent(app, runtime, settings, topic_name, decoder, in_executor)

    @app.on_partitions_assigned.connect
    async def _assigned(sender, assigned, **kwargs) -> None:  # noqa: ARG001 - faust signal signature
        runtime.health.assigned = True
        # faust rebalances eagerly: `assigned` is the whole assignment after the rebalance, not an increment
        runtime.health.partitions = sorted(f"{tp.topic}:{tp.partition}" for tp in assigned)
        log.info("partitions.assigned", count=len(assigned))

    @app.on_partitions_revoked.connect
    async def _revoked(sender, revoked, **kwargs) -> None:  # noqa: ARG001
        runtime.health.assigned = False
        runtime.health.partitions = []

    return app


def _register_agent(app: faust.App, runtime: Runtime, settings: Settings, topic_name: str, decoder: Decoder,
                    in_executor: bool) -> None:
    spec = CATALOGUE[topic_name]
    topic = app.topic(topic_name, key_serializer="raw", value_serializer="raw", partitions=spec.partitions)
    processor = BatchProcessor(runtime, topic_name, decoder, decode_in_executor=in_executor)
    batch_max = 1 if topic_name == X12_INBOUND else settings.batch_max

    async def consume(stream) -> None:
        manual = stream.noack()
        async for events in take_ahead(manual, batch_max, settings.batch_within_s):
            sources = [Source(e.message.topic, e.message.partition, e.message.offset, e.message.key,
                              e.message.value, replay_of(e.message.headers)) for e in events]
            done = await processor.handle(sources)  # never raises, except cancellation
            if done:
                for event in events:
                    await manual.ack(event)

    app.agent(topic, name=f"denials.agents.{topic_name}", concurrency=1)(consume)
