"""Session fixtures for the integration tests: a real broker process and a real PostgreSQL, each behind a TCP proxy
so tests can cut connections without stopping the servers."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support.fleet import Fleet
from tests.support.identifiers import SESSION_PHI_KEY
from tests.support.stack import PrivateStack, stack_fixtures

# The session's stack is a private stack like any other (tests/support/stack.py): a broker process and a fresh
# database, each behind a TcpProxy so tests can cut connections without stopping the servers. The fault and
# operations packages override `stack` and `db` with their own; `fleet` runs on whichever stack is in scope.
Stack = PrivateStack
stack, db = stack_fixtures("session", "test")

# Examples are judged by what they return, not by how fast a shared machine ran them: hypothesis's default 200 ms
# deadline turned machine load into failures (two in a 20x run of the unit suite). A test that guards against a hang
# sets its own, generous deadline.
settings.register_profile("denials", deadline=None)
settings.load_profile("denials")


@pytest.fixture
def fleet(stack: Stack):
    """Workers a test starts; whatever is still running at teardown is stopped."""
    f = Fleet(stack)
    yield f
    f.stop_all()


@pytest.fixture(scope="session")
def worker(stack: Stack):
    """One worker for the session's integration tests; fault tests start their own. It stores the patient
    identifiers encrypted with the session's test key."""
    w = stack.worker("session-worker", DENIALS_PHI_KEY=SESSION_PHI_KEY).start()
    try:
        w.wait_ready(timeout=90)
        yield w
    finally:
        w.stop()


def pytest_addoption(parser):
    parser.addoption("--screenshots", metavar="DIR", default=None,
                     help="save the browser tests' screenshots (each view at 1400x900 and 1024x768) in DIR "
                          "(default: a directory under pytest's temporary path)")


@pytest.fixture(scope="session")
def screenshots(request, tmp_path_factory) -> Path:
    """Where the browser tests save their screenshots for review."""
    chosen = request.config.getoption("screenshots")
    path = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def run_id() -> str:
    """A namespace for the claim and event ids of one test."""
    return uuid.uuid4().hex[:10]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "integration" in Path(str(item.fspath)).parts:
            item.add_marker(pytest.mark.integration)


os.environ.setdefault("DENIALS_LOG_FORMAT", "json")
