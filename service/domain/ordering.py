"""The order in which a claim's facts count: business time first, then a deterministic tie-break.

Kafka orders a claim's records within one topic, never across topics: a 277 status and an 835 remittance of the same
claim may arrive in either order, and a backlog replayed from several topics interleaves them arbitrarily. So the
arrival order is no basis for a decision; the business time each record carries is:

- a remittance: its production date (DTM*405, the date the payer decided; appeal windows count from it);
- a 277 / 277CA status: its effective date (STC02; the record's `occurred_at` date when the payer sent none);
- a submission: the date it was sent (`occurred_at`: the contract's only date for it);
- a provider adjustment (PLB): the production date of its 835.

Ties (the same day) are broken by kind (what was sent before what came back: submission, acknowledgement, status,
reversal, adjudication, provider adjustment; a CLP02-22 reversal and the re-adjudication on one 835 share a date),
then by `occurred_at`, then by event id, so two different facts never compare equal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from service.domain.model import Event, ProviderAdjustment, Remittance, StatusReport, Submission

# What was sent comes before what came back on the same business day.
KIND_RANK = {"submitted": 0, "acknowledgement": 1, "status": 2, "reversal": 3, "remittance": 4,
             "provider_adjustment": 5}


@dataclass(frozen=True, order=True, slots=True)
class FactKey:
    """Where a fact sits in its claim's business-time order (compare keys with < and >)."""

    day: dt.date
    rank: int
    at: dt.datetime
    event_id: str

    def to_json(self) -> list[Any]:
        return [self.day.isoformat(), self.rank, self.at.isoformat(), self.event_id]

    @classmethod
    def from_json(cls, value: list[Any]) -> FactKey:
        return cls(dt.date.fromisoformat(value[0]), int(value[1]), dt.datetime.fromisoformat(value[2]), value[3])


def fact_kind(event: Event) -> str:
    if isinstance(event, Remittance):
        return "reversal" if event.is_reversal else "remittance"
    if isinstance(event, Submission):
        return "submitted"
    if isinstance(event, StatusReport):
        return event.kind
    if isinstance(event, ProviderAdjustment):
        return "provider_adjustment"
    raise TypeError(type(event).__name__)


def business_day(event: Event) -> dt.date:
    """The date the fact happened in the business (see the module notes)."""
    if isinstance(event, (Remittance, ProviderAdjustment)):
        return event.production_date
    if isinstance(event, StatusReport) and event.status.effective_date is not None:
        return event.status.effective_date
    return event.occurred_at.astimezone(dt.UTC).date()


def fact_key(event: Event) -> FactKey:
    """The event's place in its claim's business-time order."""
    return FactKey(business_day(event), KIND_RANK[fact_kind(event)], event.occurred_at, event.event_id)


def in_business_order(events: list[Event]) -> list[Event]:
    """The events sorted as they count (a batch applies its events of one claim in this order)."""
    return sorted(events, key=fact_key)
