"""`/health` says the process is alive; `/ready` says it can do its work: partitions assigned, PostgreSQL and the
broker reachable, not paused by a transient failure. Checked on an idle worker, where no failing batch or relay
publish reveals the outage: readiness must find out by itself."""

from __future__ import annotations

from tests.support.fleet import alive, is_ready, not_ready
from tests.support.ports import eventually


async def not_ready_for(worker, part: str) -> dict | None:
    """The /ready body once it is 503 and names `part` as the reason."""
    state = await not_ready(worker)
    return state if state is not None and state.get(part) is False else None


async def test_an_idle_running_worker_is_alive_and_ready_with_every_part_true(fleet, run_id):
    worker = await fleet.start(f"ready-{run_id}")
    state = await eventually(lambda: is_ready(worker), timeout=60, message="/ready")
    assert await alive(worker)
    assert state["database"] and state["broker"] and state["assigned"] and not state["paused_by_failure"]


async def test_an_idle_worker_is_not_ready_while_postgres_is_unreachable_and_ready_after(stack, fleet, run_id):
    worker = await fleet.start(f"ready-pg-{run_id}")
    stack.pg_proxy.cut()
    try:
        state = await eventually(lambda: not_ready_for(worker, "database"), timeout=45,
                                 message="/ready to see PostgreSQL gone")
        assert state["ready"] is False
        assert await alive(worker), "/health stays 200: the process is alive, restarting it would not help"
    finally:
        stack.pg_proxy.restore()
    await eventually(lambda: is_ready(worker), timeout=60, message="/ready after PostgreSQL returns")


async def test_an_idle_worker_is_not_ready_while_the_broker_is_unreachable_and_ready_after(stack, fleet, run_id):
    worker = await fleet.start(f"ready-broker-{run_id}")
    stack.broker_proxy.cut()
    try:
        state = await eventually(lambda: not_ready_for(worker, "broker"), timeout=45,
                                 message="/ready to see the broker gone")
        assert state["ready"] is False
        assert await alive(worker)
    finally:
        stack.broker_proxy.restore()
    await eventually(lambda: is_ready(worker), timeout=90, message="/ready after the broker returns")
