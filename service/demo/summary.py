"""What one demo run did, read back from PostgreSQL and the broker, and how it is shown.

Every count is scoped to the run's namespace (claim and event ids start with `<run_id>-`), so runs that share a
database never mix. Follow-ups are counted by reading them back from their topics (deduplicated by event id: the
relay publishes at least once), not from the outbox.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import asyncpg
from rich import box
from rich.console import Console
from rich.table import Table

from service.adapters.kafka import read_topic
from service.domain.tasks import OPEN_STATES
from topics.catalogue import FOLLOWUP_KINDS, followup_topic

FOLLOWUP_TOPICS = tuple(followup_topic(kind) for kind in FOLLOWUP_KINDS)


def like(prefix: str) -> str:
    """A LIKE pattern for ids starting with `prefix` (run ids hold no LIKE wildcards)."""
    return prefix + "%"


@dataclass(slots=True)
class Summary:
    run_id: str
    seed: int
    claims: int
    patients: int
    events_published: int
    events_by_topic: dict[str, int]
    events_processed: int = 0
    dead_letters: int = 0
    decisions: int = 0
    denials_by_category: dict[str, int] = field(default_factory=dict)
    denied_amount_by_category: dict[str, Decimal] = field(default_factory=dict)
    top_codes_by_category: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    tasks_by_queue: dict[str, int] = field(default_factory=dict)
    open_tasks_by_queue: dict[str, int] = field(default_factory=dict)
    at_risk_by_queue: dict[str, Decimal] = field(default_factory=dict)
    tasks_by_state: dict[str, int] = field(default_factory=dict)
    followups_by_topic: dict[str, int] = field(default_factory=dict)
    outbox_followups_by_topic: dict[str, int] = field(default_factory=dict)
    dollars_at_risk: Decimal = Decimal("0.00")
    elapsed_s: float = 0.0

    @property
    def denials(self) -> int:
        return sum(self.denials_by_category.values())

    def as_json(self) -> dict[str, Any]:
        """The `--json` object: identical for two runs with the same seed, apart from run_id and elapsed_s."""
        return {
            "run_id": self.run_id,
            "seed": self.seed,
            "claims": self.claims,
            "patients": self.patients,
            "events_published": self.events_published,
            "events_by_topic": self.events_by_topic,
            "events_processed": self.events_processed,
            "dead_letters": self.dead_letters,
            "decisions": self.decisions,
            "denials": self.denials,
            "denials_by_category": self.denials_by_category,
            "tasks_by_queue": self.tasks_by_queue,
            "tasks_by_state": self.tasks_by_state,
            "followups_by_topic": self.followups_by_topic,
            "dollars_at_risk": float(self.dollars_at_risk),
            "elapsed_s": round(self.elapsed_s, 1),
        }


async def processed_count(conn: asyncpg.Connection, prefix: str) -> tuple[int, int]:
    """(events applied or recognised in the inbox, events dead-lettered) for the run."""
    row = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM inbox WHERE event_id LIKE $1) AS processed,"
        " (SELECT count(*) FROM dead_letters WHERE source_event_id LIKE $1"
        "   OR substring(key FROM 1 FOR $2) = $3) AS dead",
        like(prefix), len(prefix.encode()), prefix.encode())
    return row["processed"], row["dead"]


async def outbox_state(conn: asyncpg.Connection, prefix: str) -> tuple[dict[str, int], int]:
    """(follow-up rows per topic, rows of any topic not yet published) caused by the run's events."""
    rows = await conn.fetch(
        "SELECT o.topic, count(*) AS n, count(p.id) AS unsent FROM outbox o"
        " LEFT JOIN outbox_pending p ON p.id = o.id WHERE o.causation_id LIKE $1 GROUP BY o.topic", like(prefix))
    followups = {r["topic"]: r["n"] for r in rows if r["topic"].startswith("followups.")}
    return dict(sorted(followups.items())), sum(r["unsent"] for r in rows)


async def fill_from_database(conn: asyncpg.Connection, summary: Summary, prefix: str) -> None:
    pattern = like(prefix)
    summary.events_processed, summary.dead_letters = await processed_count(conn, prefix)
    summary.decisions = await conn.fetchval("SELECT count(*) FROM decisions WHERE claim_id LIKE $1", pattern)
    rows = await conn.fetch(
        "SELECT category, group_code || '-' || reason AS code, count(*) AS n, sum(amount) AS amount"
        " FROM decisions WHERE claim_id LIKE $1 AND is_denial GROUP BY category, code", pattern)
    counts: Counter[str] = Counter()
    amounts: dict[str, Decimal] = {}
    codes: dict[str, Counter[str]] = {}
    for r in rows:
        counts[r["category"]] += r["n"]
        amounts[r["category"]] = amounts.get(r["category"], Decimal(0)) + r["amount"]
        codes.setdefault(r["category"], Counter())[r["code"]] += r["n"]
    order = sorted(counts, key=lambda c: (-counts[c], c))
    summary.denials_by_category = {c: counts[c] for c in order}
    summary.denied_amount_by_category = {c: amounts[c] for c in order}
    summary.top_codes_by_category = {c: sorted(codes[c].items(), key=lambda kv: (-kv[1], kv[0]))[:3] for c in order}

    tasks = await conn.fetch(
        "SELECT queue, state, count(*) AS n, sum(amount_at_risk) AS amount FROM appeal_tasks"
        " WHERE claim_id LIKE $1 GROUP BY queue, state", pattern)
    by_queue: Counter[str] = Counter()
    open_by_queue: Counter[str] = Counter()
    at_risk: dict[str, Decimal] = {}
    by_state: Counter[str] = Counter()
    for r in tasks:
        by_queue[r["queue"]] += r["n"]
        by_state[r["state"]] += r["n"]
        if r["state"] in OPEN_STATES:
            open_by_queue[r["queue"]] += r["n"]
            at_risk[r["queue"]] = at_risk.get(r["queue"], Decimal(0)) + r["amount"]
    queues = sorted(by_queue, key=lambda q: (-by_queue[q], q))
    summary.tasks_by_queue = {q: by_queue[q] for q in queues}
    summary.open_tasks_by_queue = {q: open_by_queue[q] for q in queues}
    summary.at_risk_by_queue = {q: at_risk.get(q, Decimal(0)) for q in queues}
    summary.tasks_by_state = dict(sorted(by_state.items()))
    summary.dollars_at_risk = sum(at_risk.values(), Decimal("0")).quantize(Decimal("0.01"))
    summary.outbox_followups_by_topic, _ = await outbox_state(conn, prefix)


async def read_followups(bootstrap: str, prefix: str, *, timeout_s: float = 20) -> dict[str, int]:
    """Follow-ups of the run on every `followups.*.v1` topic, counted once per event id."""
    key_prefix = prefix.encode()

    async def count(topic: str) -> tuple[str, int]:
        seen: set[str] = set()
        for record in await read_topic(bootstrap, topic, timeout_s=timeout_s):
            if record.key is None or not record.key.startswith(key_prefix):
                continue
            seen.add(json.loads(record.value)["event_id"])
        return topic, len(seen)

    results = await asyncio.gather(*(count(t) for t in FOLLOWUP_TOPICS))
    return {topic: n for topic, n in sorted(results) if n}


def _money(value: Decimal) -> str:
    return f"${value:,.2f}"


def render(summary: Summary, console: Console) -> None:
    """The summary tables (stdout)."""
    console.print(f"[bold]denials demo[/bold] run {summary.run_id} · seed {summary.seed} · {summary.claims:,} claims "
                  f"of {summary.patients:,} patients · {summary.elapsed_s:.1f} s")

    stream = Table(title="Stream", box=box.SIMPLE_HEAD, title_justify="left")
    stream.add_column("input topic")
    stream.add_column("events", justify="right")
    for topic, n in summary.events_by_topic.items():
        stream.add_row(topic, f"{n:,}")
    stream.add_row("[bold]published[/bold]", f"[bold]{summary.events_published:,}[/bold]")
    stream.add_row("processed (inbox)", f"{summary.events_processed:,}")
    stream.add_row("dead letters", f"{summary.dead_letters:,}")
    console.print(stream)

    denials = Table(title=f"Denials by cause ({summary.denials:,} of {summary.decisions:,} adjustment decisions)",
                    box=box.SIMPLE_HEAD, title_justify="left")
    denials.add_column("category")
    denials.add_column("denials", justify="right")
    denials.add_column("denied", justify="right")
    denials.add_column("top codes")
    for category, n in summary.denials_by_category.items():
        codes = ", ".join(f"{code} ×{k}" for code, k in summary.top_codes_by_category.get(category, []))
        denials.add_row(category, f"{n:,}", _money(summary.denied_amount_by_category[category]), codes)
    console.print(denials)

    tasks = Table(title="Appeal tasks by queue", box=box.SIMPLE_HEAD, title_justify="left")
    tasks.add_column("queue")
    tasks.add_column("tasks", justify="right")
    tasks.add_column("open", justify="right")
    tasks.add_column("at risk (open)", justify="right")
    for queue, n in summary.tasks_by_queue.items():
        tasks.add_row(queue, f"{n:,}", f"{summary.open_tasks_by_queue.get(queue, 0):,}",
                      _money(summary.at_risk_by_queue.get(queue, Decimal(0))))
    states = ", ".join(f"{state} {n:,}" for state, n in summary.tasks_by_state.items())
    tasks.add_row("[bold]all[/bold]", f"[bold]{sum(summary.tasks_by_queue.values()):,}[/bold]",
                  f"[bold]{sum(summary.open_tasks_by_queue.values()):,}[/bold]",
                  f"[bold]{_money(summary.dollars_at_risk)}[/bold]")
    console.print(tasks)
    console.print(f"  task states: {states}")

    followups = Table(title="Follow-ups (read back from the broker)", box=box.SIMPLE_HEAD, title_justify="left")
    followups.add_column("topic")
    followups.add_column("events", justify="right")
    for topic, n in summary.followups_by_topic.items():
        followups.add_row(topic, f"{n:,}")
    followups.add_row("[bold]all[/bold]", f"[bold]{sum(summary.followups_by_topic.values()):,}[/bold]")
    console.print(followups)
