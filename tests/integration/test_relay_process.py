"""The outbox relay in a process of its own: workers run with DENIALS_RELAY_IN_WORKER=false commit follow-ups and
publish nothing; `denials relay` publishes every one of them, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import subprocess

import asyncpg
import pytest

from tests.support.invariants import check_invariants
from tests.support.ports import eventually
from tests.support.stack import private_stack
from tests.support.worker import denials_command
from tests.support.workload import publish_records, remittance_stream


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with private_stack(tmp_path_factory.mktemp("relay"), "relay") as s:
        yield s


def start_relay(env: dict[str, str], log_path) -> subprocess.Popen:
    with open(log_path, "ab") as log:  # the child keeps its own handle
        return subprocess.Popen([denials_command(), "relay"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)


async def test_a_separate_relay_process_publishes_what_relay_less_workers_commit(stack, fleet, run_id):
    pool = await asyncpg.create_pool(stack.direct_database_url, min_size=1, max_size=2)
    relay = None
    try:
        worker = await fleet.start(f"norelay-{run_id}", DENIALS_RELAY_IN_WORKER="false")
        stream = remittance_stream(run_id, claims=120, per_claim=3, tag="rp")
        await publish_records(stack.bootstrap, stream.records)
        ids = sorted({p.event_id for p in stream.records if p.valid and p.event_id})

        async def all_applied() -> bool:
            return await pool.fetchval("SELECT count(*) FROM inbox WHERE event_id = ANY($1::text[])", ids) == len(ids)

        await eventually(all_applied, timeout=120, message="the worker to apply the stream")
        await asyncio.sleep(1.5)  # several relay idle periods: a relay in the worker would have published by now
        unsent = await pool.fetchval("SELECT count(*) FROM outbox_pending")
        sent = await pool.fetchval("SELECT count(*) FROM outbox") - unsent
        assert unsent > 0 and sent == 0, (unsent, sent)
        state = await asyncio.to_thread(worker.ready_state)
        assert state and state["ready"] is True and state["relay_leader"] is None, state

        relay = start_relay(worker.env, stack.workdir / "relay.log")
        report = await check_invariants(pool, stack.bootstrap, stream.records, claim_prefix=stream.claim_prefix)
        assert await pool.fetchval("SELECT count(*) FROM outbox_pending") == 0
        relay.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(relay.wait, 30) == 0
        print(f"\nrelay process: {report.line()}")
    finally:
        if relay is not None and relay.poll() is None:
            relay.kill()
        await pool.close()


def test_the_relay_command_needs_a_broker(tmp_path):
    import os

    env = {**os.environ, "DENIALS_DATA_DIR": str(tmp_path)}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    done = subprocess.run([denials_command(), "relay"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "KAFKA_BOOTSTRAP_SERVERS" in done.stderr
