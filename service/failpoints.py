"""Failpoints: named places in the code where a fault-injection test can make the process die on purpose.

Set `DENIALS_FAILPOINTS` to a comma-separated list of `name:action[@n]`, read once at start-up:

    DENIALS_FAILPOINTS=relay.after_produce:exit@3

`exit` ends the process at once with `os._exit(FAILPOINT_EXIT_CODE)`, like a crash or SIGKILL: no cleanup, no
offset commit, no `finally`. `@n` fires on the n-th time the point is reached (default: the first).

Unset (production), `hit()` is one dictionary lookup that finds nothing. Known points:

- `relay.after_produce`: the relay's batch is acknowledged by the broker but not yet marked sent in the outbox.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

ENV_VAR = "DENIALS_FAILPOINTS"
FAILPOINT_EXIT_CODE = 86
ACTIONS = frozenset({"exit"})


@dataclass(slots=True)
class Failpoint:
    name: str
    action: str
    at: int = 1
    hits: int = 0


class FailpointError(ValueError):
    pass


def parse(spec: str) -> dict[str, Failpoint]:
    """`name:action[@n],...` -> failpoints by name; a malformed spec is an error (a typo must not pass silently)."""
    points: dict[str, Failpoint] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, sep, rest = part.partition(":")
        action, _, count = rest.partition("@")
        if not sep or not name or action not in ACTIONS:
            raise FailpointError(f"{ENV_VAR}: {part!r} is not name:action[@n] with action in {sorted(ACTIONS)}")
        try:
            at = int(count) if count else 1
        except ValueError:
            raise FailpointError(f"{ENV_VAR}: {part!r}: @n must be a positive integer") from None
        if at < 1:
            raise FailpointError(f"{ENV_VAR}: {part!r}: @n must be a positive integer")
        points[name] = Failpoint(name, action, at)
    return points


_ACTIVE: dict[str, Failpoint] = parse(os.environ.get(ENV_VAR, ""))


def hit(name: str) -> None:
    """Mark that execution reached `name`; performs the configured action when it is armed and due."""
    point = _ACTIVE.get(name)
    if point is None:
        return
    point.hits += 1
    if point.hits == point.at and point.action == "exit":
        sys.stderr.write(f'{{"event": "failpoint.exit", "failpoint": "{name}", "hit": {point.hits}}}\n')
        sys.stderr.flush()
        os._exit(FAILPOINT_EXIT_CODE)


def active() -> dict[str, Failpoint]:
    return dict(_ACTIVE)
