"""The demo stream and the benchmark's workload, applied through the pure path (the real decoders and
`process_batch` against an in-memory unit of work), end in exactly the decisions, tasks and follow-ups they ended in
before the CPU work of issue 23: a digest of every decision row, every outbox record (classified events with their
explanations and checklists, task changes, follow-ups) and every claim's final tasks must equal the golden values.

The golden values were computed on commit e650c8c (main before the change) with this file copied into that tree, and
computed again on 765a64c (after the business-time order of facts changed decisions on purpose; the CPU work gave the
same digests before and after its merge):

    PYTHONPATH=. python -m tests.unit.service_layer.test_final_state_digest

Every UUID in the digested stream (outbox event ids, task ids) counts as the ordinal of its first appearance, so the
digests do not depend on how ids are laid out; the values were regenerated for that on 3a83203 (no other change),
and the same values came out with the outbox and task namespaces replaced by random ones.

The rules version (VERSION plus a digest of the tables) is left out, so an edit that changes no decision (a table's
`ref` column, a comment) keeps the digests. Regenerate them the same way only when a change of the rules is meant to
change decisions (and say so in the commit); a performance change must leave them as they are.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import re

from bench.domain import MemoryUnitOfWork
from bench.workload import remittances
from service.demo.stream import DEFAULT_CLAIMS, DEFAULT_SEED, build_stream
from service.domain.classification import load_classifier
from tests.support.pure_path import apply_batches
from topics.catalogue import CLAIMS_REMITTANCE

GOLDEN_DEMO = "4a03e9a0bebd77e8f77336107698ebe9c38c4bd72dc7cc3afbcaea1b7669cf43"
GOLDEN_BENCH = "d6bdc1a96e387f1dfcbe69be8be61bbde5ae975cf0e336a65262bb51aa46c967"


# Every UUID in the stream (outbox event ids, task ids, ids derived from them) is replaced by the ordinal of its first
# appearance, so the digests say what was decided and emitted, not how ids are laid out: a change of the id layout
# (time-ordered ids, issue 23) keeps them, a change of which rows share an id does not.
_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class _Ordinals:
    def __init__(self) -> None:
        self.seen: dict[bytes, bytes] = {}

    def __call__(self, row: bytes) -> bytes:
        return _UUID.sub(lambda m: self.seen.setdefault(m.group(), b"<id%d>" % len(self.seen)), row)


def _masked(row: bytes) -> bytes:
    return _UUID.sub(b"<id>", row)


class RecordingUnitOfWork(MemoryUnitOfWork):
    """The benchmark's in-memory store, also keeping every decision row and outbox record it was handed."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[bytes] = []
        self.rules_version = load_classifier().rules_version.encode()

    async def save(self, changes) -> None:
        # A batch's claims come from a set, so their order (not their content) follows the hash seed: sort per batch.
        rows = [repr((row.remittance.event_id, row.task_id, dataclasses.astuple(row.decision))).encode()
                for row in changes.decisions]
        rows += [b"\x1e".join((rec.event_id.encode(), rec.topic.encode(), rec.key, rec.payload))
                 for rec in changes.outbox]
        # sorted by their content with the ids masked, so the order (and the ordinals) does not follow the id layout
        rows = [row.replace(self.rules_version, b"<rules>") for row in rows]
        self.rows.extend(sorted(rows, key=lambda row: (_masked(row), row)))
        await super().save(changes)


def _digest(uow: RecordingUnitOfWork) -> str:
    h = hashlib.sha256()
    ordinal = _Ordinals()
    for row in uow.rows:
        h.update(ordinal(row))
        h.update(b"\x00")
    for claim_id in sorted(uow.claims):
        claim = uow.claims[claim_id]
        tasks = [repr((t.task_id, t.state, t.category, t.action, t.queue, str(t.amount_at_risk), t.deadline,
                       t.filing_deadline, str(t.priority),
                       tuple((x.line_id, str(x.amount), str(x.paid)) for x in t.lines),
                       tuple(i.id for i in t.checklist))).encode() for t in claim.tasks.values()]
        h.update(ordinal(repr((claim_id, claim.state, sorted(tasks, key=lambda t: (_masked(t), t)))).encode()))
    return h.hexdigest()


async def _apply(batches: list[list[tuple[str, bytes]]]) -> str:
    uow = RecordingUnitOfWork()
    await apply_batches(batches, uow, load_classifier(),
                        member_digest=lambda member: hashlib.sha256(member.encode()).hexdigest())
    return _digest(uow)


def demo_digest() -> str:
    """The default demo stream (500 claims, seed 21), one batch per wave as the demo publishes it."""
    stream = build_stream(DEFAULT_CLAIMS, DEFAULT_SEED, "golden")
    return asyncio.run(_apply([[(r.topic, r.value) for r in wave] for wave in stream.waves]))


def bench_digest(events: int = 3000, batch: int = 500) -> str:
    """The benchmark's workload (seed 7): patients repeat across batches, so history is read and extended."""
    values = [(CLAIMS_REMITTANCE, v) for _, v in remittances(events)]
    return asyncio.run(_apply([values[i:i + batch] for i in range(0, len(values), batch)]))


def test_the_demo_stream_ends_in_the_same_decisions_tasks_and_followups():
    assert demo_digest() == GOLDEN_DEMO


def test_the_benchmark_workload_ends_in_the_same_decisions_tasks_and_followups():
    assert bench_digest() == GOLDEN_BENCH


if __name__ == "__main__":
    print(f'GOLDEN_DEMO = "{demo_digest()}"')
    print(f'GOLDEN_BENCH = "{bench_digest()}"')
