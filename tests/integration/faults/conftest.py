"""The fault suite runs on a private stack (see tests/support/stack.py): its workers are the only consumers and the
only relay, so a kill, a cut or a rebalance is the only thing happening to these tests' events."""

from __future__ import annotations

import pytest

from tests.support.stack import stack_fixtures

stack, db = stack_fixtures("package", "faults")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "faults" in item.path.parts:
            item.add_marker(pytest.mark.faults)
