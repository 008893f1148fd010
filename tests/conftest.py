"""Session fixtures for the integration tests: a real broker process and a real PostgreSQL, each behind a TCP proxy
so tests can cut connections without stopping the servers."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from service.adapters.local_broker import LocalBroker
from tests.support import database
from tests.support.ports import free_port
from tests.support.proxy import TcpProxy
from tests.support.worker import WorkerProcess


@dataclass
class Stack:
    bootstrap: str  # through the broker proxy (the broker advertises the proxy's address)
    database_url: str  # through the PostgreSQL proxy
    direct_database_url: str  # for the tests' own assertions
    broker_proxy: TcpProxy
    pg_proxy: TcpProxy
    app_id: str
    workdir: Path

    def worker(self, name: str = "worker", **env: str) -> WorkerProcess:
        return WorkerProcess(database_url=self.database_url, bootstrap=self.bootstrap, app_id=self.app_id,
                             data_dir=self.workdir / f"data-{name}", log_path=self.workdir / f"{name}.log",
                             extra_env=env)


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Stack:
    workdir = tmp_path_factory.mktemp("stack")
    db = database.provision()
    pg_proxy = TcpProxy(free_port(), target_host=db.target_host, target_port=db.target_port,
                        target_unix=db.target_unix).start()
    proxy_port = free_port()
    broker = LocalBroker(advertised_port=proxy_port, log_path=workdir / "broker.log").start()
    broker_proxy = TcpProxy(proxy_port, target_host="127.0.0.1", target_port=broker.port).start()
    try:
        yield Stack(bootstrap=broker.bootstrap, database_url=db.url_via(pg_proxy.listen_port),
                    direct_database_url=db.direct_url, broker_proxy=broker_proxy, pg_proxy=pg_proxy,
                    app_id=f"denials-test-{uuid.uuid4().hex[:6]}", workdir=workdir)
    finally:
        broker_proxy.stop()
        broker.stop()
        pg_proxy.stop()
        database.teardown(db)


@pytest.fixture(scope="session")
async def db(stack: Stack):
    """A pool straight to the test database (not through the proxy), for assertions."""
    pool = await asyncpg.create_pool(stack.direct_database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
def worker(stack: Stack):
    """One worker for the session's integration tests; fault tests start their own."""
    w = stack.worker("session-worker").start()
    try:
        w.wait_ready(timeout=90)
        yield w
    finally:
        w.stop()


@pytest.fixture
def run_id() -> str:
    """A namespace for the claim and event ids of one test."""
    return uuid.uuid4().hex[:10]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "integration" in Path(str(item.fspath)).parts:
            item.add_marker(pytest.mark.integration)


os.environ.setdefault("DENIALS_LOG_FORMAT", "json")
