"""The apply path's caches and shortcuts give what the uncached code gives (issue 23, item 1):

- the classifier's memos (non-denial readings, code lookups, deadlines) and the coverage policies' cache by stretch of
  in-force dates, over the benchmark's workload and the demo stream: every decision equals the decision of a
  classifier whose caches are emptied before each remittance;
- the policy cache keyed by the stretch between row boundaries equals a fresh lookup on every day of a year whose
  rows start and stop inside it;
- a task's snapshot equals `copy.copy`, and scoring each distinct priority input once equals scoring every task.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from bench.domain import MemoryUnitOfWork
from bench.workload import remittances
from service.demo.stream import DEFAULT_CLAIMS, DEFAULT_SEED, build_stream
from service.domain.classification import load_classifier
from service.domain.identity import fast_uuid5
from service.domain.memo import Memo
from service.domain.model import Decision, Procedure
from service.domain.policy import load_coverage
from service.domain.tasks import _TASK_NS_BYTES, TaskLine, open_task, refresh_priorities, snapshot, task_id_for
from tests.support.pure_path import apply_batches
from topics.catalogue import CLAIMS_REMITTANCE


class _Uncached:
    """The classifier with every cache emptied before each remittance: each decision is computed from scratch."""

    def __init__(self, classifier) -> None:
        self._inner = classifier
        self.rules_version = classifier.rules_version
        self.clocks = classifier.clocks

    def classify(self, remit, **kwargs):
        self._inner._reset_caches()
        self._inner.coverage._cache.clear()
        return self._inner.classify(remit, **kwargs)

    def classify_status(self, report, **kwargs):
        return self._inner.classify_status(report, **kwargs)


class _Rows(MemoryUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple] = []

    async def save(self, changes) -> None:
        self.rows.extend(sorted(repr((row.remittance.event_id, row.task_id, dataclasses.astuple(row.decision)))
                                for row in changes.decisions))
        await super().save(changes)


def _apply(batches: list[list[tuple[str, bytes]]], classifier) -> list[tuple]:
    uow = _Rows()
    asyncio.run(apply_batches(batches, uow, classifier, member_digest=lambda member: f"digest-{member}"))
    return uow.rows


def _workload(n: int) -> list[list[tuple[str, bytes]]]:
    values = [(CLAIMS_REMITTANCE, v) for _, v in remittances(n)]
    return [values[i:i + 250] for i in range(0, len(values), 250)]


def _demo() -> list[list[tuple[str, bytes]]]:
    """The demo stream, one batch per wave as the demo publishes it."""
    return [[(r.topic, r.value) for r in wave] for wave in build_stream(DEFAULT_CLAIMS, DEFAULT_SEED, "caches").waves]


@pytest.mark.parametrize("batches", [_workload(1500), _demo()], ids=["bench-workload", "demo-stream"])
def test_the_cached_classification_equals_the_uncached_one(batches):
    cached = _apply(batches, load_classifier().with_coverage({}))  # a clone: its own, empty caches to fill
    uncached = _apply(batches, _Uncached(load_classifier().with_coverage({})))
    assert len(cached) > 1000
    assert cached == uncached


def test_the_policy_cache_by_stretch_of_dates_equals_a_lookup_per_day():
    base = load_coverage()
    policies = copy.deepcopy(base.policies)
    rows = policies["medicare_lcd"]
    # a limit that changes on April 1st, a repeat criterion from February 10th, a levels row until October 31st
    first = rows["frequency"][0]
    later = {**first, "limit": int(first["limit"]) + 1, "start": dt.date(2026, 4, 1)}
    first["stop"] = dt.date(2026, 3, 31)
    rows["frequency"].append(later)
    rows["repeat"][0]["start"] = dt.date(2026, 2, 10)
    rows["levels"][0]["stop"] = dt.date(2026, 10, 31)
    changed = dataclasses.replace(base, policies=policies, _cache=Memo(8192), _terms_cache=Memo(8192))
    assert {dt.date(2026, 2, 10), dt.date(2026, 4, 1), dt.date(2026, 11, 1)} <= set(changed._boundaries)
    families = sorted({f for kind in ("frequency", "repeat", "levels") for r in rows[kind] for f in r["families"]})
    day, seen = dt.date(2025, 12, 20), set()
    while day <= dt.date(2027, 1, 10):
        for family in families:
            for payer_type, payer_id in (("medicare", "MCR-JL"), ("medicare_advantage", "MA-HUM")):
                cached = changed.policy_for(payer_type, payer_id, family, day)
                fresh = dataclasses.replace(changed, _cache=Memo(8192), _terms_cache=Memo(8192))
                assert cached == fresh.policy_for(payer_type, payer_id, family, day), (family, day)
                seen.add((family, cached.frequency.limit if cached.frequency else None, cached.repeat is None,
                          cached.levels is None))
        day += dt.timedelta(days=1)
    # the stretches did read differently (the limit, the repeat row and the levels row came and went)
    assert len({s[1] for s in seen if s[0] == first["families"][0]}) == 2
    assert {s[2] for s in seen if s[0] == rows["repeat"][0]["families"][0]} == {True, False}
    assert {s[3] for s in seen if s[0] == rows["levels"][0]["families"][0]} == {True, False}


def _decision(line_id: str, amount: str, category: str = "coding", deadline: dt.date | None = None) -> Decision:
    return Decision(line_id=line_id, adjustment_index=0, group="CO", reason="4", amount=Decimal(amount),
                    remarks=(), category=category, is_denial=True, action="corrected_claim", queue="coding",
                    appealable=True, recoverability=0.6, explanation="x", rule_id="carc.4", rules_version="v",
                    deadline=deadline, procedure=Procedure("64483", ("RT",)), service_date=dt.date(2026, 3, 2))


def test_a_task_snapshot_equals_a_shallow_copy():
    at = dt.datetime(2026, 3, 20, 12, tzinfo=dt.UTC)
    task = open_task("C1", "P1", "commercial", [_decision("1", "120.00", deadline=dt.date(2026, 9, 1))],
                     source_event_id="E1", at=at)
    task.refresh_priority(dt.date(2026, 4, 1))
    task.assignee = "ana"
    snap, reference = snapshot(task), copy.copy(task)
    reference.changed = False
    assert snap is not task and not snap.changed and task.changed
    for f in dataclasses.fields(task):
        assert getattr(snap, f.name) == getattr(reference, f.name), f.name


def test_scoring_each_distinct_priority_input_once_equals_scoring_every_task():
    at = dt.datetime(2026, 3, 20, 12, tzinfo=dt.UTC)
    today = dt.date(2026, 4, 1)
    tasks = [open_task(f"C{i % 3}", "P1", payer, [_decision("1", amount, category, deadline)],
                       source_event_id="E1", at=at)
             for i, (payer, amount, category, deadline) in enumerate([
                 ("commercial", "120.00", "coding", dt.date(2026, 9, 1)),
                 ("commercial", "120.00", "coding", dt.date(2026, 9, 1)),
                 ("medicare", "120.00", "coding", dt.date(2026, 9, 1)),
                 ("commercial", "120.0", "coding", dt.date(2026, 4, 5)),
                 ("commercial", "99.99", "coding", None),
                 ("commercial", "120.00", "coding", dt.date(2026, 3, 1))])]
    tasks += [snapshot(t) for t in tasks]
    expected = [copy.deepcopy(t) for t in tasks]
    for t in expected:
        t.refresh_priority(today)
    refresh_priorities(tasks, today)
    assert [(t.priority, t.priority_parts) for t in tasks] == [(t.priority, t.priority_parts) for t in expected]
    assert len({id(t.priority_parts) for t in tasks}) == len(tasks)  # each task holds its own parts


def test_the_cached_task_id_is_the_uuid5():
    assert task_id_for("C1", "P1", "coding") == fast_uuid5(_TASK_NS_BYTES, "C1\x1fP1\x1fcoding")
    assert task_id_for("C1", "P1", "coding") == fast_uuid5(_TASK_NS_BYTES, "C1\x1fP1\x1fcoding")


def test_a_task_line_with_its_paid_amount_equals_dataclasses_replace():
    values = {"line_id": "2", "amount": Decimal("10.50"), "reasons": ("CO-4",), "procedure_code": "64484",
              "modifiers": ("RT",), "service_date": dt.date(2026, 3, 2), "paid": Decimal("1.00"),
              "value": Decimal("5.25")}
    assert {f.name for f in dataclasses.fields(TaskLine)} == set(values)  # a new field: with_paid must carry it
    line = TaskLine(**values)
    assert line.with_paid(Decimal("7.00")) == dataclasses.replace(line, paid=Decimal("7.00"))
    assert line.with_paid(None) == dataclasses.replace(line, paid=None)
