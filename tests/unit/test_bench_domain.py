"""The I/O-free benchmark (`python -m bench.domain`) runs the real decoder and `process_batch` and reports the
service's own CPU per event as one JSON line. No timing is asserted (docs/performance.md reports the numbers)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.domain", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_the_domain_benchmark_prints_its_fields_as_json():
    result = run("--events", "400", "--batch", "100", "--repeat", "1", "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["events"] == 400 and report["batch"] == 100
    assert report["decode_ms_per_event"] > 0 and report["apply_ms_per_event"] > 0
    # Each field is rounded on its own to 4 places, so the rounded parts may sum to the rounded total +- 1e-4.
    parts = report["decode_ms_per_event"] + report["apply_ms_per_event"]
    assert abs(report["cpu_ms_per_event"] - parts) <= 1.5e-4
    assert report["bound_eps"] > 0
    # the workload's three lines carry about five adjustments, and most remittances publish several records
    assert 4 < report["decisions_per_event"] < 7
    assert 2 < report["outbox_records_per_event"] < 6


def test_the_domain_benchmark_rejects_a_count_below_one():
    result = run("--events", "0")
    assert result.returncode == 2
    assert "--events" in result.stderr
