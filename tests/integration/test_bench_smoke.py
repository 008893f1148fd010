"""The benchmark harness runs end to end on a small stream (the CI smoke): it starts its own broker and database,
measures the ceiling, the framework and the service, and prints one JSON object with every field on its last line.
No timing is asserted: performance is measured and reported (docs/performance.md), not asserted in tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIELDS = ("ceiling_eps", "framework_eps", "service_eps", "service_lines_per_s", "ratio_service_to_framework",
          "relay_eps", "p50_ms", "p99_ms", "rss_mb", "cpu_count")


def test_the_throughput_benchmark_smoke_prints_every_field(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS",)}
    result = subprocess.run(
        [sys.executable, "-m", "bench.throughput", "--events", "2000", "--latency-seconds", "2", "--vacuum-debt",
         "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    for field in FIELDS:
        assert field in report, field
    assert report["events"] == 2000 and report["dead_letters"] == 0
    assert report["service_eps"] > 0 and report["framework_eps"] > 0 and report["ceiling_eps"] > 0
    assert report["decisions"] > 2000  # three lines per remittance, most with two adjustments
    assert report["latency_events"] > 0
    if report["database_cpu_ms_per_event"] is not None:  # the server's processes can be seen: the debt is timed
        assert report["vacuum_debt_cpu_ms_per_event"] >= 0
