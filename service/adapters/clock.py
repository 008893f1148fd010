"""The system clock: the one place the running service reads the date and time (service.bootstrap builds it and hands
it to the service layer, which takes a clock rather than reading one)."""

from __future__ import annotations

import datetime as dt


class SystemClock:
    def today(self) -> dt.date:
        return dt.date.today()

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FixedClock:
    """A clock stopped at one instant (tests, replays)."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def today(self) -> dt.date:
        return self.at.date()

    def now(self) -> dt.datetime:
        return self.at
