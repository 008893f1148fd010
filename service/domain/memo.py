"""A bounded memo for the hot path's pure lookups (code rows by date, deadlines, policies, checklists, JSON)."""

from __future__ import annotations

from typing import Any


class Memo(dict):
    """A dict of answers that forgets them all once it holds `limit`: reads stay plain `dict.get` (the hot path),
    and a process that meets an unbounded variety of keys (a year of dates of service) keeps bounded memory. Clearing
    at once, rather than evicting the least recent, costs one rebuild per `limit` misses and nothing per hit."""

    __slots__ = ("limit",)

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def keep(self, key: Any, value: Any) -> Any:
        """Remember `value` for `key` and return it."""
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value
