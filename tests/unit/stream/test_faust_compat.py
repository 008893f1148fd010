"""service/adapters/faust_compat.py reaches into faust's and aiokafka's private API. These tests fail loudly when the
installed versions are not the ones the module was checked against, and check that each private attribute or method
it relies on is still there, with the shape it uses, on the installed versions."""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import inspect
import logging
import tomllib
from collections.abc import Mapping
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from service.adapters import faust_compat
from tests.unit.stream.streams import event, in_memory_stream

ROOT = Path(__file__).resolve().parents[3]
RECHECK = ("re-check every function in service/adapters/faust_compat.py against the installed release, "
           "then update {constant} there")


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _parameters(function) -> list[str]:
    return [f"{p.kind.name}:{p.name}" for p in inspect.signature(function).parameters.values()]


# -- the versions --


@pytest.mark.parametrize(("distribution", "constant"), [
    ("faust-streaming", "FAUST_STREAMING_MINOR"),
    ("aiokafka", "AIOKAFKA_MINOR"),
])
def test_the_installed_version_is_the_minor_the_compat_module_was_checked_against(distribution, constant):
    installed = importlib.metadata.version(distribution)
    checked = getattr(faust_compat, constant)
    assert _minor(installed) == checked, (
        f"{distribution} {installed} is installed but faust_compat was checked against {checked}.x: "
        + RECHECK.format(constant=constant))


@pytest.mark.parametrize(("distribution", "constant"), [
    ("faust-streaming", "FAUST_STREAMING_MINOR"),
    ("aiokafka", "AIOKAFKA_MINOR"),
])
def test_pyproject_pins_the_minor_the_compat_module_was_checked_against(distribution, constant):
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    requirements = [Requirement(d) for d in dependencies if Requirement(d).name == distribution]
    assert len(requirements) == 1, f"pyproject.toml should list {distribution} once"
    specifier = requirements[0].specifier
    major, minor = (int(part) for part in getattr(faust_compat, constant).split("."))
    assert specifier.contains(importlib.metadata.version(distribution))
    assert not specifier.contains(f"{major}.{minor + 1}.0"), (
        f"pyproject.toml lets {distribution} move past {major}.{minor}: pin the minor (<{major}.{minor + 1}) and "
        + RECHECK.format(constant=constant))
    if minor:
        assert not specifier.contains(f"{major}.{minor - 1}.999"), f"pyproject.toml allows an older {distribution}"


# -- faust streams: read_in_background, remove_processor --


def test_the_stream_internals_have_the_shape_the_compat_module_uses():
    from faust.streams import Stream

    assert _parameters(Stream._enable_passive) == [
        "POSITIONAL_OR_KEYWORD:self", "POSITIONAL_OR_KEYWORD:channel", "KEYWORD_ONLY:declare"], RECHECK.format(
        constant="FAUST_STREAMING_MINOR")
    assert not hasattr(Stream, "remove_processor"), (
        "faust now has a public Stream.remove_processor: use it in faust_compat.remove_processor")


async def test_a_stream_read_in_background_runs_its_processors_without_anyone_iterating_it():
    app, channel, stream = in_memory_stream()
    seen: list[int] = []

    async def record(value):
        seen.append(value)
        return value

    stream.add_processor(record)
    try:
        faust_compat.read_in_background(stream)
        faust_compat.read_in_background(stream)  # idempotent: one reader
        for offset in range(3):
            await channel.put(await event(channel, "topic-a", 0, offset))
        for _ in range(100):
            if len(seen) == 3:
                break
            await asyncio.sleep(0.01)
        assert seen == [0, 1, 2]
    finally:
        faust_compat.remove_processor(stream, record)
        await stream.stop()
    assert record not in stream._processors  # noqa: SLF001 - what remove_processor relies on


# -- the faust app and its consumer --


async def test_the_app_builds_its_consumer_through_the_overridden_hooks_with_the_fetch_wait_set():
    import aiokafka

    app = faust_compat.faust_app("compat-test", fetch_max_wait_ms=37, broker="kafka://127.0.0.1:1",
                                 store="memory://", autodiscover=False, web_enabled=False)
    assert faust_compat.app_consumer(app) is None, "app._consumer: None until the consumer is created"
    consumer = app.consumer
    thread = consumer._thread  # noqa: SLF001
    try:
        assert faust_compat.app_consumer(app) is consumer
        # App._new_transport -> Transport.Consumer -> Consumer._new_consumer_thread were all called
        assert type(thread).__name__ == "DenialsConsumerThread", RECHECK.format(constant="FAUST_STREAMING_MINOR")
        assert faust_compat.worker_kafka_consumer(app) == (None, None), "before the consumer thread starts"
        kafka_consumer = thread._create_worker_consumer(app.transport)  # noqa: SLF001
        assert isinstance(kafka_consumer, aiokafka.AIOKafkaConsumer)
        assert kafka_consumer._fetch_max_wait_ms == 37  # noqa: SLF001
        assert isinstance(thread.thread_loop, asyncio.AbstractEventLoop)
        thread._consumer = kafka_consumer  # noqa: SLF001 - what on_start does
        assert faust_compat.worker_kafka_consumer(app) == (kafka_consumer, thread.thread_loop)
        await kafka_consumer.stop()
    finally:
        thread.thread_loop.close()


async def test_a_successful_commit_reaches_the_commit_listener_and_a_failed_one_does_not():
    from faust.types import TP

    commits: list[int] = []
    app = faust_compat.faust_app("compat-commit", fetch_max_wait_ms=25, commit_listener=lambda: commits.append(1),
                                 broker="kafka://127.0.0.1:1", store="memory://", autodiscover=False,
                                 web_enabled=False)
    thread = app.consumer._thread  # noqa: SLF001
    tp = TP("topic-a", 0)

    class KafkaConsumer:  # the two calls faust's _commit makes on the aiokafka consumer
        fail = False
        committed: list[dict] = []

        def assignment(self):
            return {tp}

        async def commit(self, offsets):
            if self.fail:
                raise RuntimeError("the broker said no")
            self.committed.append(offsets)

    async def no_crash(_exc):  # faust crashes the consumer thread after a failed commit: not in this test
        return None

    kafka_consumer = KafkaConsumer()
    thread._consumer = kafka_consumer  # noqa: SLF001
    thread.crash = no_crash
    try:
        assert await thread._commit({tp: 5}) is True  # noqa: SLF001
        assert commits == [1]
        assert [o.offset for offsets in kafka_consumer.committed for o in offsets.values()] == [5]
        kafka_consumer.fail = True
        assert await thread._commit({tp: 6}) is False  # noqa: SLF001
        assert commits == [1]
    finally:
        thread.thread_loop.close()


def test_the_faust_consumer_keeps_its_committed_offsets_by_partition():
    from faust.types import TP

    app = faust_compat.faust_app("compat-offsets", fetch_max_wait_ms=25, broker="kafka://127.0.0.1:1",
                                 store="memory://", autodiscover=False, web_enabled=False)
    consumer = app.consumer
    try:
        committed = faust_compat.committed_offsets(consumer)
        assert isinstance(committed, Mapping), RECHECK.format(constant="FAUST_STREAMING_MINOR")
        assert committed.get(TP("topic-a", 0)) is None
        assert faust_compat.committed_offsets(object()) == {}
    finally:
        consumer._thread.thread_loop.close()  # noqa: SLF001


def test_the_faust_hooks_overridden_have_the_signatures_the_overrides_assume():
    import faust
    from faust.transport.drivers import aiokafka as faust_aiokafka

    thread = faust_aiokafka.AIOKafkaConsumerThread
    expected = {
        thread._create_worker_consumer: ["POSITIONAL_OR_KEYWORD:self", "POSITIONAL_OR_KEYWORD:transport"],
        thread._commit: ["POSITIONAL_OR_KEYWORD:self", "POSITIONAL_OR_KEYWORD:offsets"],
        faust_aiokafka.Consumer._new_consumer_thread: ["POSITIONAL_OR_KEYWORD:self"],
        faust.App._new_transport: ["POSITIONAL_OR_KEYWORD:self"],
    }
    for function, parameters in expected.items():
        assert _parameters(function) == parameters, (
            f"{function.__qualname__} changed: " + RECHECK.format(constant="FAUST_STREAMING_MINOR"))
    assert faust_aiokafka.Transport.Consumer is faust_aiokafka.Consumer
    assert "_committed_offset" in inspect.getsource(faust.transport.consumer.Consumer.__init__)


# -- aiokafka clients --


def test_the_aiokafka_internals_have_the_shape_the_compat_module_uses():
    from aiokafka import AIOKafkaConsumer
    from aiokafka.client import AIOKafkaClient
    from aiokafka.cluster import ClusterMetadata
    from aiokafka.consumer.group_coordinator import GroupCoordinator

    recheck = RECHECK.format(constant="AIOKAFKA_MINOR")
    # set_fetch_max_wait_ms: the constructor keeps it in the attribute start() builds the fetcher from
    assert "self._fetch_max_wait_ms = fetch_max_wait_ms" in inspect.getsource(AIOKafkaConsumer.__init__), recheck
    assert "fetch_max_wait_ms=self._fetch_max_wait_ms" in inspect.getsource(AIOKafkaConsumer.start), recheck
    # add_metadata_listener, force_metadata_update, request_rejoin: called from plain (not async) functions
    assert "self._client = AIOKafkaClient(" in inspect.getsource(AIOKafkaConsumer.__init__), recheck
    assert _parameters(ClusterMetadata.add_listener) == ["POSITIONAL_OR_KEYWORD:self",
                                                         "POSITIONAL_OR_KEYWORD:listener"], recheck
    assert _parameters(AIOKafkaClient.force_metadata_update) == ["POSITIONAL_OR_KEYWORD:self"], recheck
    assert not inspect.iscoroutinefunction(AIOKafkaClient.force_metadata_update), recheck
    assert "self._coordinator = GroupCoordinator(" in inspect.getsource(AIOKafkaConsumer.start), recheck
    assert _parameters(GroupCoordinator.request_rejoin) == ["POSITIONAL_OR_KEYWORD:self"], recheck
    assert not inspect.iscoroutinefunction(GroupCoordinator.request_rejoin), recheck
    # disable_topic_auto_creation: the client builds its requests from the module global it replaces
    assert "MetadataRequest(" in inspect.getsource(AIOKafkaClient), recheck


async def test_an_aiokafka_consumer_takes_the_fetch_wait_and_metadata_listener_it_is_given():
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1")
    try:
        faust_compat.set_fetch_max_wait_ms(consumer, 42)
        assert consumer._fetch_max_wait_ms == 42  # noqa: SLF001
        listener = lambda _cluster: None  # noqa: E731
        faust_compat.add_metadata_listener(consumer, listener)
        assert listener in consumer._client.cluster._listeners  # noqa: SLF001
    finally:
        await consumer.stop()


@pytest.mark.parametrize("lines", [faust_compat.COMMIT_FAILURE_LOG_LINES, faust_compat.FETCH_FAILURE_LOG_LINES])
def test_aiokafka_still_logs_the_failure_lines_the_broker_watch_counts(lines):
    for logger_name, prefixes in lines.items():
        module = importlib.import_module(logger_name)
        assert isinstance(getattr(module, "log", None), logging.Logger) and module.log.name == logger_name, (
            f"{logger_name} no longer logs under its own name: " + RECHECK.format(constant="AIOKAFKA_MINOR"))
        source = inspect.getsource(module)
        for prefix in prefixes:
            assert f'"{prefix}' in source, (
                f"{logger_name} no longer logs {prefix!r}: " + RECHECK.format(constant="AIOKAFKA_MINOR"))
