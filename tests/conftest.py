"""Session fixtures for the integration tests: a real broker process and a real PostgreSQL, each behind a TCP proxy
so tests can cut connections without stopping the servers."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import asyncpg
import pytest

from tests.support.stack import PrivateStack, private_stack

# The session's stack is a private stack like any other (tests/support/stack.py): a broker process and a fresh
# database, each behind a TcpProxy so tests can cut connections without stopping the servers.
Stack = PrivateStack


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Stack:
    with private_stack(tmp_path_factory.mktemp("stack"), "test") as s:
        yield s


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
