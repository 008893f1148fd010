"""The broker-health decisions (service/broker_health.py) as plain values: which broker counts as local, when failures
are sustained, what /ready's reason says, and one change per condition (not one line per failed retry)."""

from __future__ import annotations

import datetime as dt

import pytest

from service.broker_health import COMMIT, FETCH, BrokerHealth, is_local_bootstrap
from service.config import Settings
from service.entrypoints.commands.outbox import parse_since


@pytest.mark.parametrize(("bootstrap", "local"), [
    ("127.0.0.1:9092", True),
    ("localhost:9092", True),
    ("127.0.0.1:9092,localhost:9093", True),
    ("[::1]:9092", True),
    ("kafka://127.0.0.1:9092", True),
    ("kafka:9092", False),
    ("127.0.0.1:9092,kafka-2:9092", False),  # one remote server makes it a shared cluster
    ("10.0.0.5:9092", False),
    ("", False),
])
def test_only_a_broker_on_this_machine_counts_as_the_local_one(bootstrap, local):
    assert is_local_bootstrap(bootstrap) is local


def test_recreation_defaults_to_the_local_broker_and_the_setting_overrides_it():
    assert Settings().recreates_topics("127.0.0.1:9092") is True
    assert Settings().recreates_topics("kafka:9092") is False
    assert Settings(DENIALS_RECREATE_TOPICS="false").recreates_topics("127.0.0.1:9092") is False
    assert Settings(DENIALS_RECREATE_TOPICS="true").recreates_topics("kafka:9092") is True


def test_failures_shorter_than_the_threshold_keep_the_worker_ready():
    h = BrokerHealth(threshold_s=10)
    for t in range(0, 9):
        h.failure(COMMIT, "UnknownTopicOrPartitionError", float(t))
    assert h.ready(9.0) and h.reasons(9.0) == []


def test_failures_sustained_past_the_threshold_make_it_not_ready_with_the_error_named():
    h = BrokerHealth(threshold_s=10)
    for i in range(0, 121):  # ten a second for 12 s, as aiokafka retries a commit
        h.failure(COMMIT, "UnknownTopicOrPartitionError", i / 10)
    assert not h.ready(12.0)
    assert h.reasons(12.0) == ["offset commits failing for 12s (UnknownTopicOrPartitionError)"]


def test_a_successful_commit_ends_the_streak_and_readiness_returns():
    h = BrokerHealth(threshold_s=2)
    for i in range(0, 40):
        h.failure(COMMIT, "UnknownTopicOrPartitionError", i / 10)
    assert not h.ready(4.0)
    h.success(COMMIT)
    assert h.ready(4.1)


def test_fetch_failures_that_stop_count_as_recovered_after_a_quiet_period():
    h = BrokerHealth(threshold_s=2, quiet_s=5)
    for i in range(0, 30):
        h.failure(FETCH, "KafkaConnectionError", i / 10)
    assert h.reasons(3.0) == ["fetches failing for 3s (KafkaConnectionError)"]
    assert h.ready(2.9 + 5.1), "no failure for longer than the quiet period: recovered"


def test_a_failure_after_a_quiet_period_starts_a_new_streak():
    h = BrokerHealth(threshold_s=2, quiet_s=5)
    assert h.failure(COMMIT, "X", 0.0) is True
    assert h.failure(COMMIT, "X", 1.0) is False
    assert h.failure(COMMIT, "X", 7.0) is True  # 6 s after the last one
    assert h.ready(7.5), "the new streak is not sustained yet"


def test_missing_topics_make_it_not_ready_and_are_named():
    h = BrokerHealth(threshold_s=10)
    h.topics(["followups.rebill.v1", "appeals.tasks.v1"])
    assert h.reasons(0.0) == ["topics missing on the broker: appeals.tasks.v1, followups.rebill.v1"]
    h.topics([])
    assert h.ready(0.0)


def test_mismatched_partitions_are_reported_but_do_not_stop_the_worker():
    h = BrokerHealth(threshold_s=10)
    h.topics([], {"claims.remittance.v1": (4, 12)})
    assert h.ready(0.0)
    assert h.conditions(0.0)["topics_mismatched"] == ("claims.remittance.v1",)


def test_each_condition_change_is_reported_once_not_once_per_failure():
    h = BrokerHealth(threshold_s=1, quiet_s=3)
    assert h.changes(0.0) == []
    reported = []
    for i in range(0, 100):  # 10 s of failures, ten a second
        h.failure(COMMIT, "UnknownTopicOrPartitionError", i / 10)
        reported += h.changes(i / 10)
    assert [(c.condition, c.active) for c in reported] == [("commit_failing", True)]
    assert reported[0].detail["error"] == "UnknownTopicOrPartitionError"
    h.topics(["appeals.tasks.v1"])
    h.topics(["appeals.tasks.v1"])
    assert [(c.condition, c.active) for c in h.changes(10.0)] == [("topics_missing", True)]
    assert h.changes(10.0) == []
    h.success(COMMIT)
    h.topics([])
    assert sorted((c.condition, c.active) for c in h.changes(11.0)) == [
        ("commit_failing", False), ("topics_missing", False)]


def test_the_auto_creation_switch_patches_what_it_expects_in_aiokafka():
    # service/adapters/faust_compat.disable_topic_auto_creation replaces aiokafka.client.MetadataRequest (aiokafka 0.14)
    import aiokafka.client
    from aiokafka.protocol.metadata import MetadataRequest

    from service.adapters.faust_compat import disable_topic_auto_creation

    assert aiokafka.__version__.startswith("0.14."), "re-check disable_topic_auto_creation for this aiokafka"
    assert aiokafka.client.MetadataRequest.__name__ in ("MetadataRequest", "_NoAutoCreate")
    original = aiokafka.client.MetadataRequest
    try:
        disable_topic_auto_creation()
        patched = aiokafka.client.MetadataRequest
        assert issubclass(patched, MetadataRequest)
        assert patched(["t"])._allow_auto_topic_creation is False
        disable_topic_auto_creation()  # idempotent
        assert aiokafka.client.MetadataRequest is patched
    finally:
        aiokafka.client.MetadataRequest = original


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-03-02", dt.datetime(2026, 3, 2, tzinfo=dt.UTC)),
    ("2026-03-02T14:00:00Z", dt.datetime(2026, 3, 2, 14, tzinfo=dt.UTC)),
    ("2026-03-02T14:00:00+02:00", dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)),
])
def test_republish_since_takes_iso_dates_and_times_utc_unless_zoned(text, expected):
    assert parse_since(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "", "03/02/2026"])
def test_republish_since_rejects_anything_else_in_one_sentence(text):
    with pytest.raises(ValueError, match=r"^--since: .* is not an ISO 8601 date or time"):
        parse_since(text)
