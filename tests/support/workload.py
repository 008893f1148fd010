"""Streams of realistic remittances for the fault and operations tests, and a publisher that remembers where each
record landed (topic, partition, offset), so the invariant check can account for every single one.

Every claim gets a short history in event time: a first remittance with a denial (authorization, necessity,
coding, bundling, missing information, eligibility, COB, timely filing, frequency, duplicate, patient cost share),
then later remittances that deny it again, pay it (closing the task as won) or partly pay it. A small share of the
records are malformed on purpose (not JSON, schema violations) and must end as dead letters.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer

from tests.support import events

REMITTANCE_TOPIC = "claims.remittance.v1"


@dataclass
class Published:
    """One record as the test published it, and (after publishing) where the broker put it."""

    topic: str
    key: bytes | None
    value: bytes | None
    event_id: str | None  # None for records that cannot be decoded
    valid: bool
    claim_id: str | None = None
    expected_decisions: int | None = None  # one decision per adjustment, for a remittance that is applied
    partition: int = -1
    offset: int = -1

    @property
    def position(self) -> tuple[str, int, int]:
        return (self.topic, self.partition, self.offset)


# (line templates, claim-level adjustments): the first remittance of a claim. Amounts are what the line charged.
def _denials() -> list[tuple[list[dict], list[dict]]]:
    L = events.line  # noqa: N806 - a short name for a table of lines
    return [
        ([L("1", "64483", ["RT"], charge=1200.0, paid=0.0,
            adjustments=[{"group": "CO", "reason": "197", "amount": 1200.0}])], []),
        ([L("1", "62323", [], charge=900.0, paid=0.0, remarks=["N115"],
            adjustments=[{"group": "CO", "reason": "50", "amount": 900.0}])], []),
        ([L("1", "64635", ["LT"], charge=1500.0, paid=0.0,
            adjustments=[{"group": "CO", "reason": "4", "amount": 1500.0}])], []),
        ([L("1", "64493", ["RT"], charge=800.0, paid=560.0,
            adjustments=[{"group": "CO", "reason": "45", "amount": 240.0}]),
          L("2", "20552", [], charge=150.0, paid=0.0,
            adjustments=[{"group": "CO", "reason": "97", "amount": 150.0}])], []),
        ([L("1", "64490", ["RT"], charge=950.0, paid=0.0, remarks=["M51"],
            adjustments=[{"group": "CO", "reason": "16", "amount": 950.0}])], []),
        ([L("1", "64483", ["LT"], charge=1200.0, paid=0.0,
            adjustments=[{"group": "CO", "reason": "27", "amount": 1200.0}])], []),
        ([L("1", "62321", [], charge=700.0, paid=0.0,
            adjustments=[{"group": "OA", "reason": "22", "amount": 700.0}])], []),
        ([L("1", "64484", ["RT"], charge=600.0, paid=0.0,
            adjustments=[{"group": "CO", "reason": "29", "amount": 600.0}])], []),
        ([L("1", "64635", ["RT"], charge=1500.0, paid=0.0,
            adjustments=[{"group": "CO", "reason": "119", "amount": 1500.0}])], []),
        ([L("1", "20610", [], charge=250.0, paid=0.0,
            adjustments=[{"group": "OA", "reason": "18", "amount": 250.0}])], []),
        ([L("1", "64483", ["RT"], charge=1200.0, paid=900.0,
            adjustments=[{"group": "PR", "reason": "1", "amount": 300.0}])], []),
        ([L("1", "64483", ["RT"], charge=1200.0, paid=0.0, remarks=["N386"],
            adjustments=[{"group": "CO", "reason": "50", "amount": 1200.0}]),
          L("2", "77003", ["26"], charge=200.0, paid=0.0,
            adjustments=[{"group": "CO", "reason": "197", "amount": 200.0}])],
         [{"group": "OA", "reason": "23", "amount": 0.0}]),
    ]


def _follow_up(first: list[dict], step: int, rng: random.Random) -> list[dict]:
    """A later remittance for the same lines: denied again, paid in full, or paid in part."""
    L = events.line  # noqa: N806
    choice = rng.choice(("again", "paid", "partial")) if step else "again"
    out = []
    for line in first:
        code, mods, charge = line["procedure"]["code"], line["procedure"]["modifiers"], line["charge"]
        if choice == "paid":
            out.append(L(line["line_id"], code, mods, charge=charge, paid=round(charge * 0.8, 2),
                         adjustments=[{"group": "CO", "reason": "45", "amount": round(charge * 0.2, 2)}]))
        elif choice == "partial":
            out.append(L(line["line_id"], code, mods, charge=charge, paid=round(charge * 0.5, 2),
                         adjustments=[{"group": "CO", "reason": "45", "amount": round(charge * 0.3, 2)},
                                      {"group": "PR", "reason": "2", "amount": round(charge * 0.2, 2)}]))
        else:
            out.append(json.loads(json.dumps(line)))
    return out


def adjustments_in(event: dict) -> int:
    claim = event["claim"]
    return len(claim.get("adjustments", [])) + sum(len(x.get("adjustments", [])) for x in claim.get("lines", []))


def occurred(base: dt.datetime, minutes: int) -> str:
    return (base + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Stream:
    """The records of one test, in the order they are meant to be published."""

    run_id: str
    records: list[Published] = field(default_factory=list)

    @property
    def claim_prefix(self) -> str:
        return f"FC-{self.run_id}-"

    @property
    def valid(self) -> list[Published]:
        return [r for r in self.records if r.valid]

    @property
    def invalid(self) -> list[Published]:
        return [r for r in self.records if not r.valid]

    @property
    def event_ids(self) -> set[str]:
        return {r.event_id for r in self.records if r.valid and r.event_id}


def remittance_stream(run_id: str, *, claims: int, per_claim: int, bad_every: int = 97, seed: int = 7,
                      tag: str = "rm") -> Stream:
    """`claims * per_claim` remittances (plus one malformed record every `bad_every`), each claim's in event-time
    order. Claims are interleaved, as a clearinghouse feed would be."""
    rng = random.Random(seed)
    templates = _denials()
    base = dt.datetime(2026, 2, 2, 8, 0, tzinfo=dt.UTC)
    stream = Stream(run_id)
    histories: list[list[Published]] = []
    for c in range(claims):
        claim_id = f"{stream.claim_prefix}{c}"
        first, claim_adj = templates[c % len(templates)]
        payer = rng.choice(({"id": "BCBS-TX", "name": "Blue Cross TX", "type": "commercial"},
                            {"id": "MCR-JH", "name": "Medicare JH", "type": "medicare"},
                            {"id": "AETNA", "name": "Aetna", "type": "commercial"}))
        history = []
        for step in range(per_claim):
            lines = first if step == 0 else _follow_up(first, step, rng)
            eid = f"{tag}-{run_id}-{c}-{step}"
            ev = events.remittance(eid, claim_id, payer=payer, lines=json.loads(json.dumps(lines)),
                                   claim_adjustments=claim_adj if step == 0 else None,
                                   occurred_at=occurred(base, c + step * 1440), trace_number=f"EFT-{eid}",
                                   payer_claim_number=f"ICN-{claim_id}-{step}",
                                   production_date=(base + dt.timedelta(days=step)).date().isoformat())
            history.append(Published(REMITTANCE_TOPIC, claim_id.encode(), json.dumps(ev).encode(), eid, True,
                                     claim_id, adjustments_in(ev)))
        histories.append(history)
    # Interleave claims while keeping each claim's own order.
    cursors = [0] * claims
    remaining = claims * per_claim
    n = 0
    while remaining:
        c = rng.randrange(claims)
        if cursors[c] >= per_claim:
            c = next(i for i in range(claims) if cursors[i] < per_claim)
        stream.records.append(histories[c][cursors[c]])
        cursors[c] += 1
        remaining -= 1
        n += 1
        if bad_every and n % bad_every == 0:
            stream.records.append(malformed(run_id, n, rng))
    return stream


def malformed(run_id: str, n: int, rng: random.Random) -> Published:
    """A record that can never be applied: broken JSON, or a schema violation (wrong type, bad date)."""
    claim_id = f"FC-{run_id}-bad-{n}"
    kind = n % 3
    if kind == 0:
        value = b'{"event_id": "broken-' + str(n).encode() + b'", "claim": {'
    else:
        ev = events.remittance(f"bad-{run_id}-{n}", claim_id)
        if kind == 1:
            ev["claim"]["total_paid"] = "lots"
        else:
            ev["remit"]["production_date"] = "2026-02-31"
        value = json.dumps(ev).encode()
    return Published(REMITTANCE_TOPIC, claim_id.encode(), value, None, False, claim_id)


async def publish_records(bootstrap: str, records: Sequence[Published], *, timeout_s: float = 60) -> None:
    """Produce the records in order and fill in each one's partition and offset from the broker's acknowledgement."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all", request_timeout_ms=15000,
                                max_request_size=8 * 1_048_576, enable_idempotence=False)
    await asyncio.wait_for(producer.start(), timeout=timeout_s)
    try:
        futures = [await producer.send(r.topic, key=r.key, value=r.value) for r in records]
        metadata = await asyncio.wait_for(asyncio.gather(*futures), timeout=timeout_s)
        for record, meta in zip(records, metadata, strict=True):
            record.partition, record.offset = meta.partition, meta.offset
    finally:
        await asyncio.wait_for(producer.stop(), timeout=timeout_s)


def chunks(records: Sequence[Published], *sizes: float) -> Iterable[list[Published]]:
    """Split records at the given fractions (e.g. 0.3, 0.7 -> three parts)."""
    cuts = [0, *(int(len(records) * f) for f in sizes), len(records)]
    for a, b in zip(cuts, cuts[1:], strict=False):
        yield list(records[a:b])
