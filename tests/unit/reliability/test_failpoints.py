"""DENIALS_FAILPOINTS parsing and firing: unset does nothing; a typo is an error, never silently ignored."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from service import failpoints
from service.failpoints import FAILPOINT_EXIT_CODE, FailpointError, parse


def test_an_empty_spec_arms_nothing_and_hit_is_a_no_op():
    assert parse("") == {}
    assert failpoints.active() == {}  # the test process runs without DENIALS_FAILPOINTS
    failpoints.hit("relay.after_produce")


def test_a_spec_names_the_point_the_action_and_the_hit_it_fires_on():
    points = parse("relay.after_produce:exit@3, other.point:exit")
    assert (points["relay.after_produce"].action, points["relay.after_produce"].at) == ("exit", 3)
    assert points["other.point"].at == 1


@pytest.mark.parametrize("spec", ["relay.after_produce", "relay.after_produce:explode", ":exit",
                                  "relay.after_produce:exit@0", "relay.after_produce:exit@x"])
def test_a_malformed_spec_is_an_error_naming_the_variable(spec):
    with pytest.raises(FailpointError, match="DENIALS_FAILPOINTS"):
        parse(spec)


def test_exit_ends_the_process_with_its_own_code_on_the_nth_hit_only():
    code = "from service import failpoints\nfor i in range(5):\n    print(i, flush=True)\n    failpoints.hit('p')\n"
    env = {**os.environ, "DENIALS_FAILPOINTS": "p:exit@3"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == FAILPOINT_EXIT_CODE
    assert done.stdout.split() == ["0", "1", "2"] and '"failpoint": "p"' in done.stderr
