"""The service's own CPU per event, without I/O: decoding and applying the benchmark's remittances in batches through
the real decoder and `process_batch`, against an in-memory unit of work. Prints JSON.

    python -m bench.domain --events 20000 --json

What it measures is what the worker must spend on every event whatever the broker and the database cost: contract
validation and mapping (`decode_ms_per_event`), then classification with history, the claim aggregate, tasks and
their priorities, and the outbox records serialised (`apply_ms_per_event`). It is CPU time of this process
(`time.process_time`), so it repeats within a few per cent on a busy machine, unlike the end-to-end rates of
`bench.throughput`. `bound_eps` is the rate one process could not exceed even if the broker, the database and faust
cost nothing. `--profile` prints the largest costs (cProfile, which inflates them but keeps their order).

By default the collector keeps Python's settings, as every figure in docs/performance.md before 2026-12-07 was
taken, so the command compares across commits. `--worker-gc` applies the worker's settings after the warm-up
(`service.gc_tuning.tune` with `DENIALS_GC_THRESHOLD`: collect, `gc.freeze()`, a raised threshold), which is what the
worker itself pays: about 10-17 % less CPU per event, a change of the instrument and not of the service.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import io
import json
import pstats
import statistics
import sys
import time
from collections.abc import Iterable

from agents.decoders import json_decoders
from bench.workload import remittances
from service.bootstrap import Parts, bootstrap
from service.domain.claim import Claim
from service.domain.model import HistorySession, Remittance
from service.gc_tuning import tune
from service.service_layer.handlers import Inbound, process_batch, sessions_from
from service.service_layer.unit_of_work import Changes, InboxItem
from topics.catalogue import CLAIMS_REMITTANCE


class MemoryUnitOfWork:
    """Keeps what the next batches read back (claims, patients' history, business keys), as the store does. Not the
    service-layer tests' fake: that one deep-copies every claim it hands out, a cost the worker never pays and this
    benchmark would then measure."""

    def __init__(self) -> None:
        self.inbox: set[str] = set()
        self.claims: dict[str, Claim] = {}
        self.history: dict[str, list[HistorySession]] = {}
        self.originals: dict[str, str] = {}
        self.outbox_records = 0

    async def __aenter__(self) -> MemoryUnitOfWork:
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass

    async def claim_inbox(self, items: Iterable[InboxItem]) -> set[str]:
        new = {i.event_id for i in items} - self.inbox
        self.inbox |= new
        return new

    async def inbox_digests(self, event_ids: Iterable[str]) -> dict[str, str | None]:
        return {}  # the benchmark never re-sends an id

    async def known_claims(self, claim_ids: Iterable[str]) -> set[str]:
        return {c for c in claim_ids if c in self.claims}

    async def load_claims(self, claim_ids: Iterable[str]) -> dict[str, Claim]:
        return {c: self.claims.get(c) or Claim(claim_id=c) for c in claim_ids}

    async def load_history(self, patient_keys: Iterable[str], since: dt.date) -> dict[str, list[HistorySession]]:
        return {k: [s for s in self.history.get(k, ()) if s.service_date >= since] for k in patient_keys}

    async def find_originals(self, business_keys: Iterable[str]) -> dict[str, str]:
        return {k: self.originals[k] for k in business_keys if k in self.originals}

    async def load_fee_schedule(self, keys):
        return []

    async def load_authorizations(self, member_digests):
        return []

    async def save(self, changes: Changes) -> None:
        self.outbox_records += len(changes.outbox)
        for claim in changes.claims:
            for task in claim.tasks.values():
                task.changed = False
            self.claims[claim.claim_id] = claim
        for remit, key, duplicate_of in changes.remittances:
            if duplicate_of is None:
                self.originals.setdefault(key, remit.event_id)
                self._remember(remit)

    def _remember(self, remit: Remittance) -> None:
        if not remit.patient_key or remit.is_reversal:
            return
        self.history.setdefault(remit.patient_key, []).extend(
            sessions_from(remit.claim_id, remit.lines, lambda line: line.covered))

    async def commit(self) -> None:
        pass


async def one_pass(values: list[bytes], batch: int, parts: Parts) -> dict[str, float]:
    decode = json_decoders(1 << 20)[CLAIMS_REMITTANCE]
    uow = MemoryUnitOfWork()
    decode_s = apply_s = 0.0
    decisions = 0
    for start in range(0, len(values), batch):
        t0 = time.process_time()
        items = [Inbound(CLAIMS_REMITTANCE, decode(v).events[0], 0, start + i)
                 for i, v in enumerate(values[start:start + batch])]
        t1 = time.process_time()
        report = await process_batch(items, uow, parts.classifier, clock=parts.clock, pricing=parts.pricing,
                                     member_digest=parts.member_digest)
        t2 = time.process_time()
        decode_s += t1 - t0
        apply_s += t2 - t1
        decisions += report.decisions
    n = len(values)
    return {"decode_ms": decode_s * 1000 / n, "apply_ms": apply_s * 1000 / n,
            "outbox_per_event": uow.outbox_records / n, "decisions_per_event": decisions / n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=500, help="events per batch (DENIALS_BATCH_MAX)")
    ap.add_argument("--repeat", type=int, default=3, help="passes over the events; the median is reported")
    ap.add_argument("--profile", action="store_true", help="print the largest costs of one pass to stderr")
    ap.add_argument("--json", action="store_true", help="print the result as one JSON line (always the last line)")
    ap.add_argument("--worker-gc", action="store_true",
                    help="collect, freeze and set the collector's thresholds after the warm-up as the worker does "
                         "(service/gc_tuning.py, DENIALS_GC_THRESHOLD's default); without it, Python's defaults, "
                         "whose full collections walk every start-up object (~10 %% more CPU per event)")
    args = ap.parse_args()
    if args.events < 1 or args.batch < 1 or args.repeat < 1:
        ap.error("--events, --batch and --repeat must be at least 1")
    values = [v for _, v in remittances(args.events)]
    parts = bootstrap()  # the worker's classifier, clock, pricing and member digest
    asyncio.run(one_pass(values[: min(len(values), 1000)], args.batch, parts))  # warm-up: imports, caches
    if args.worker_gc:
        tune(parts.settings.gc_threshold)
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(asyncio.run, one_pass(values, args.batch, parts))
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
        print(out.getvalue(), file=sys.stderr)
    passes = [asyncio.run(one_pass(values, args.batch, parts)) for _ in range(args.repeat)]
    decode_ms = statistics.median(p["decode_ms"] for p in passes)
    apply_ms = statistics.median(p["apply_ms"] for p in passes)
    result = {
        "events": args.events, "batch": args.batch, "passes": args.repeat,
        "decode_ms_per_event": round(decode_ms, 4), "apply_ms_per_event": round(apply_ms, 4),
        "cpu_ms_per_event": round(decode_ms + apply_ms, 4),
        "bound_eps": round(1000 / (decode_ms + apply_ms), 1),
        "outbox_records_per_event": round(passes[0]["outbox_per_event"], 3),
        "decisions_per_event": round(passes[0]["decisions_per_event"], 3),
        "gc": f"worker ({parts.settings.gc_threshold}, frozen)" if args.worker_gc else "python",
    }
    if not args.json:
        print(f"decode {decode_ms:.3f} ms/event, apply {apply_ms:.3f} ms/event: at most "
              f"{result['bound_eps']:,.0f} events/s in one process before any I/O", file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
