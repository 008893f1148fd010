"""`/health` says the process is alive; `/ready` says it can do its work: partitions assigned, PostgreSQL and the
broker reachable, not paused by a transient failure. Checked on an idle worker, where no failing batch or relay
publish reveals the outage: readiness must find out by itself."""

from __future__ import annotations

import pytest

from tests.support.fleet import alive, is_ready, not_ready_for
from tests.support.ports import eventually


async def test_an_idle_running_worker_is_alive_and_ready_with_every_part_true(fleet, run_id):
    worker = await fleet.start(f"ready-{run_id}")
    state = await eventually(lambda: is_ready(worker), timeout=60, message="/ready")
    assert await alive(worker)
    assert state["database"] and state["broker"] and state["assigned"] and not state["paused_by_failure"]


@pytest.mark.parametrize(("proxy", "part", "back_within"),
                         [("pg_proxy", "database", 60), ("broker_proxy", "broker", 90)], ids=["postgres", "broker"])
async def test_an_idle_worker_is_not_ready_while_a_server_is_unreachable_and_ready_after(
        stack, fleet, run_id, proxy, part, back_within):
    worker = await fleet.start(f"ready-{part}-{run_id}")
    getattr(stack, proxy).cut()
    try:
        state = await eventually(lambda: not_ready_for(worker, part), timeout=45, message=f"/ready to see {part} gone")
        assert state["ready"] is False
        assert await alive(worker), "/health stays 200: the process is alive, restarting it would not help"
    finally:
        getattr(stack, proxy).restore()
    await eventually(lambda: is_ready(worker), timeout=back_within, message=f"/ready after {part} returns")
