"""Records applied through the pure path: the real decoders and `process_batch` against an in-memory unit of work
(as `bench.domain` does), for tests that compare what that path decides."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from agents.decoders import json_decoders
from service.domain.pricing import Tolerance, load_pricing_rules
from service.service_layer.handlers import Inbound, Pricing, process_batch

AS_OF = dt.date(2026, 12, 1)  # fixed: priorities and "the window closed" clauses depend on the day
PRICING = Pricing(load_pricing_rules(), Tolerance())


async def apply_batches(batches: list[list[tuple[str, bytes]]], uow, classifier, *,
                        member_digest: Callable[[str], str]) -> None:
    """Each batch of (topic, record value) decoded and applied in order, offsets counting across batches."""
    decoders = json_decoders(1 << 20)
    offset = 0
    for batch in batches:
        items = []
        for topic, value in batch:
            items.append(Inbound(topic, decoders[topic](value).events[0], 0, offset))
            offset += 1
        await process_batch(items, uow, classifier, as_of=AS_OF, pricing=PRICING, member_digest=member_digest)
