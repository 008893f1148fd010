"""Conflicting duplicates: an event id seen again with other content (DESIGN.md invariant 8).

An event id is immutable. A redelivery (the same content: the same content digest) changes nothing and says nothing;
the same id with another digest is a producer's mistake (a correction sent under the old id, two systems minting the
same id). The first version stays applied; the later one is reported so the agent dead-letters it with both digests.
A digest the inbox does not know (rows from before digests were kept) is "unknown": never flagged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol


class _Item(Protocol):
    @property
    def event_id(self) -> str: ...

    digest: str | None


class _Digests(Protocol):
    async def inbox_digests(self, event_ids: Iterable[str]) -> dict[str, str | None]: ...


@dataclass(frozen=True, slots=True)
class Conflict:
    """`item` reused the id of an event applied with `first_digest`; `item.digest` is its own."""

    item: _Item
    first_digest: str

    @property
    def digest(self) -> str:
        return self.item.digest or ""


def differ(first: str | None, later: str | None) -> bool:
    """Both digests known, of the same scheme (`cj1:...`), and different."""
    if not first or not later:
        return False
    return first.partition(":")[0] == later.partition(":")[0] and first != later


async def find_conflicts(items: Sequence[_Item], chosen: dict[str, _Item], fresh_ids: set[str],
                         uow: _Digests) -> list[Conflict]:
    """The items that reuse a known event id with other content. `chosen`: the one item per event id the batch
    applies (or found already applied); `fresh_ids`: the ids the inbox admitted in this batch."""
    with_digest = {i.event_id for i in items if i.digest}
    wanted = [eid for eid in chosen if eid not in fresh_ids and eid in with_digest]
    stored = await uow.inbox_digests(wanted) if wanted else {}
    conflicts: list[Conflict] = []
    for item in items:
        eid = item.event_id
        first = chosen[eid].digest if eid in fresh_ids else stored.get(eid)
        if item is chosen[eid] and eid in fresh_ids:
            continue  # the version this batch applies
        if differ(first, item.digest):
            conflicts.append(Conflict(item, first))  # type: ignore[arg-type] - differ() checked it
    return conflicts
