"""Operations tests (dead-letter commands, readiness, bad input on the stream) start their own workers with their
own settings, so they run on a private stack (see tests/support/stack.py), like the fault suite."""

from __future__ import annotations

import asyncpg
import pytest

from tests.support.fleet import Fleet
from tests.support.stack import PrivateStack, private_stack


@pytest.fixture(scope="package")
def stack(tmp_path_factory) -> PrivateStack:
    with private_stack(tmp_path_factory.mktemp("operations"), "ops") as s:
        yield s


@pytest.fixture(scope="package")
async def db(stack: PrivateStack):
    pool = await asyncpg.create_pool(stack.direct_database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
def fleet(stack: PrivateStack):
    f = Fleet(stack)
    yield f
    f.stop_all()
