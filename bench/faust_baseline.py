"""The framework ceiling: a bare faust agent consuming the benchmark topic, configured as well as faust allows
(large stream buffer, big polls and fetches, `noack_take` batches, acks after each batch), doing only `json.loads`.

Run as a subprocess by `bench.throughput`; writes {"events": n, "elapsed_s": t, "eps": r} to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import faust


def write_result(path: str, events: int, elapsed: float) -> None:
    """Blocking on purpose: the measurement is over and the process exits right after."""
    Path(path).write_text(json.dumps({"events": events, "elapsed_s": elapsed,
                                      "eps": events / elapsed if elapsed else None}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--events", type=int, required=True)
    ap.add_argument("--group", default=f"bench-faust-{os.getpid()}")
    ap.add_argument("--out", required=True, help="file to write the JSON result to (faust redirects stdout)")
    args = ap.parse_args()

    app = faust.App(
        args.group, broker=f"kafka://{args.bootstrap}", store="memory://", web_enabled=False, autodiscover=False,
        datadir=tempfile.mkdtemp(prefix="bench-faust-"), consumer_auto_offset_reset="earliest",
        broker_rebalance_timeout=4, broker_session_timeout=6, broker_heartbeat_interval=1,
        broker_max_poll_records=2000, consumer_max_fetch_size=8 * 1024 * 1024, stream_buffer_maxsize=65536,
        broker_commit_interval=1.0, stream_wait_empty=False,
    )
    topic = app.topic(args.topic, key_serializer="raw", value_serializer="raw")
    state = {"seen": 0, "t0": None}

    @app.agent(topic, concurrency=1)
    async def consume(stream):
        manual = stream.noack()
        async for events in manual.noack_take(1000, within=0.05):
            if state["t0"] is None:
                state["t0"] = time.perf_counter()
            for event in events:
                json.loads(event.message.value)
            for event in events:
                await manual.ack(event)
            state["seen"] += len(events)
            if state["seen"] >= args.events:
                elapsed = time.perf_counter() - state["t0"]
                write_result(args.out, state["seen"], elapsed)
                os._exit(0)  # the measurement is done; do not wait for a graceful rebalance

    sys.argv = [sys.argv[0], "worker", "-l", "warn", "--without-web"]
    app.main()


if __name__ == "__main__":
    main()
