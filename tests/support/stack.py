"""A private stack (broker process + database, each behind its own TcpProxy) for a package of tests that start their
own workers and must not share a consumer group, a relay leader or a proxy with the session's worker.

Why not the session `stack`: the outbox relay runs on one worker per database (advisory lock), so a session worker
started by another package would be the relay leader and publish this package's follow-ups; and a worker in another
consumer group on the same broker would consume these tests' events while the worker under test is killed or cut
off, so a fault would prove nothing. The database is a fresh one on the same server (or embedded), as in conftest.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
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
class PrivateStack:
    bootstrap: str  # through the broker proxy (the broker advertises the proxy's address)
    database_url: str  # through the PostgreSQL proxy
    direct_database_url: str  # for the tests' own assertions and the operator commands' checks
    broker_proxy: TcpProxy
    pg_proxy: TcpProxy
    app_id: str
    workdir: Path
    broker: LocalBroker | None = None

    def replace_broker(self) -> None:
        """Stop the broker process and start a new, empty one on the same port, advertising the same (proxy)
        address: what an operator sees when the in-memory local broker restarts. Every topic and offset is gone."""
        assert self.broker is not None
        old = self.broker
        old.stop()
        self.broker = LocalBroker(port=old.port, advertised_port=old.advertised_port,
                                  log_path=old.log_path).start()

    def worker(self, name: str = "worker", **env: str) -> WorkerProcess:
        """A `denials worker` subprocess in this stack's consumer group, with its own API port and data dir."""
        return WorkerProcess(database_url=self.database_url, bootstrap=self.bootstrap, app_id=self.app_id,
                             data_dir=self.workdir / f"data-{name}", log_path=self.workdir / f"{name}.log",
                             extra_env=env)


@contextmanager
def private_stack(workdir: Path, prefix: str) -> Iterator[PrivateStack]:
    db = database.provision(f"denials_{prefix}")
    pg_proxy = TcpProxy(free_port(), target_host=db.target_host, target_port=db.target_port,
                        target_unix=db.target_unix).start()
    proxy_port = free_port()
    broker = LocalBroker(advertised_port=proxy_port, log_path=workdir / "broker.log").start()
    broker_proxy = TcpProxy(proxy_port, target_host="127.0.0.1", target_port=broker.port).start()
    stack = PrivateStack(bootstrap=broker.bootstrap, database_url=db.url_via(pg_proxy.listen_port),
                         direct_database_url=db.direct_url, broker_proxy=broker_proxy, pg_proxy=pg_proxy,
                         app_id=f"denials-{prefix}-{uuid.uuid4().hex[:6]}", workdir=workdir, broker=broker)
    try:
        yield stack
    finally:
        broker_proxy.stop()
        broker.stop()
        if stack.broker is not None:
            stack.broker.stop()  # a replacement (stop is idempotent)
        pg_proxy.stop()
        database.teardown(db)


def stack_fixtures(scope: str, prefix: str):
    """The `stack` and `db` fixtures of a private stack with this scope: assign them in a conftest as
    `stack, db = stack_fixtures("package", "faults")`."""

    @pytest.fixture(scope=scope)
    def stack(tmp_path_factory) -> Iterator[PrivateStack]:
        with private_stack(tmp_path_factory.mktemp(prefix), prefix) as s:
            yield s

    @pytest.fixture(scope=scope)
    async def db(stack: PrivateStack):
        """A pool straight to the stack's database (not through the proxy), for assertions."""
        pool = await asyncpg.create_pool(stack.direct_database_url, min_size=1, max_size=4)
        yield pool
        await pool.close()

    return stack, db
