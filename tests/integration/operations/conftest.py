"""Operations tests (dead-letter commands, readiness, bad input on the stream) start their own workers with their
own settings, so they run on a private stack (see tests/support/stack.py), like the fault suite."""

from __future__ import annotations

from tests.support.stack import stack_fixtures

stack, db = stack_fixtures("package", "ops")
