"""How close a task's clocks are, for the work queue's eye: the escalation points of reference 6.5 (T-30, T-14,
T-3) as levels the web page colours. Pure: dates in, a level out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# (level, at most this many days left), most urgent first; reference 6.5 escalates at T-30, T-14 and T-3.
LEVELS: tuple[tuple[str, int], ...] = (("urgent", 3), ("close", 14), ("approaching", 30))
CLOCK_WORDS = {"deadline": "appeal window", "filing_deadline": "timely filing"}


@dataclass(frozen=True, slots=True)
class Urgency:
    level: str  # passed | urgent | close | approaching | later | none
    days_left: int | None  # negative once passed
    clock: str | None  # deadline | filing_deadline
    due: dt.date | None

    def describe(self) -> str:
        if self.due is None or self.clock is None or self.days_left is None:
            return "no deadline"
        what = CLOCK_WORDS[self.clock]
        if self.days_left < 0:
            return f"{what} passed {-self.days_left} days ago ({self.due.isoformat()})"
        if self.days_left == 0:
            return f"{what} ends today ({self.due.isoformat()})"
        return f"{what}: {self.days_left} days left ({self.due.isoformat()})"


def task_urgency(deadline: dt.date | None, filing_deadline: dt.date | None, today: dt.date, *,
                 is_open: bool = True) -> Urgency:
    """The nearest clock still running (else the last one that passed) and its level; closed tasks have none."""
    clocks = [(d, name) for d, name in ((deadline, "deadline"), (filing_deadline, "filing_deadline")) if d]
    if not is_open or not clocks:
        return Urgency("none", None, None, None)
    running = sorted(c for c in clocks if c[0] >= today)
    due, clock = running[0] if running else max(clocks)
    days = (due - today).days
    if days < 0:
        return Urgency("passed", days, clock, due)
    level = next((name for name, limit in LEVELS if days <= limit), "later")
    return Urgency(level, days, clock, due)
