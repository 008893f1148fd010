"""The fault suite runs on a private stack (see tests/support/stack.py): its workers are the only consumers and the
only relay, so a kill, a cut or a rebalance is the only thing happening to these tests' events."""

from __future__ import annotations

import asyncpg
import pytest

from tests.support.stack import PrivateStack, private_stack


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "faults" in item.path.parts:
            item.add_marker(pytest.mark.faults)


@pytest.fixture(scope="package")
def stack(tmp_path_factory) -> PrivateStack:
    with private_stack(tmp_path_factory.mktemp("faults"), "faults") as s:
        yield s


@pytest.fixture(scope="package")
async def db(stack: PrivateStack):
    pool = await asyncpg.create_pool(stack.direct_database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
def fleet(stack: PrivateStack):
    from tests.support.fleet import Fleet

    f = Fleet(stack)
    yield f
    f.stop_all()
