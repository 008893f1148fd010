"""The scale-out report's drain curve: per input partition, what was still uncommitted at each tenth of the run."""

from __future__ import annotations

import datetime as dt

from bench.throughput import drain_curve

T0 = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_each_partition_drains_to_zero_at_its_last_commit():
    commits = [(0, at(0), 5), (1, at(0), 2), (0, at(5), 5), (1, at(10), 8)]
    curve = {d["partition"]: d for d in drain_curve(commits, {0: 10, 1: 10}, points=2)}
    assert curve[0]["lag"] == [5, 0, 0]
    assert curve[0]["drained_s"] == 5.0
    assert curve[1]["lag"] == [8, 8, 0]
    assert curve[1]["drained_s"] == 10.0


def test_a_partition_never_fully_committed_shows_its_remaining_lag_and_no_drain_time():
    curve = drain_curve([(0, at(0), 3), (1, at(4), 4)], {0: 5, 1: 4}, points=1)
    by = {d["partition"]: d for d in curve}
    assert by[0]["lag"] == [2, 2] and by[0]["drained_s"] is None
    assert by[1]["lag"] == [4, 0] and by[1]["drained_s"] == 4.0


def test_no_commits_means_no_curve():
    assert drain_curve([], {0: 3}) == []
