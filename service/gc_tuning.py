"""Garbage-collector settings for the long-running worker.

Measured (`python -m bench.throughput --events 10000`, docs/performance.md): with Python's defaults the worker spent
a large share of its CPU in full collections that walk every object it loaded at start (code tables, rules, faust,
pydantic models), with single pauses over 200 ms, which is what the p99 latency was made of. Freezing the objects
that exist once the worker is built moves them out of the collector's sight for good, and a larger first-generation
threshold makes the young collections (which find the few cycles a batch leaves) rarer. Nothing is leaked by this:
cycles are still collected, only less often.
"""

from __future__ import annotations

import gc


def parse_threshold(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def tune(threshold: str) -> None:
    """Collect once, freeze what survives (the start-up objects), then apply the thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*parse_threshold(threshold))
