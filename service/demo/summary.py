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
from service.domain.priority import NOTHING_EXPECTED
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
    # Claims a 277 denied (F2) or a 277CA rejected (A3/A6/A7/A8): work opened by a status, not by an 835 adjustment,
    # so the cause table's adjustment counts do not include them. {bucket: {"tasks", "amount", "categories"}}
    status_work: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks_by_queue: dict[str, int] = field(default_factory=dict)
    open_tasks_by_queue: dict[str, int] = field(default_factory=dict)
    at_risk_by_queue: dict[str, Decimal] = field(default_factory=dict)
    tasks_by_state: dict[str, int] = field(default_factory=dict)
    followups_by_topic: dict[str, int] = field(default_factory=dict)
    outbox_followups_by_topic: dict[str, int] = field(default_factory=dict)
    dollars_at_risk: Decimal = Decimal("0.00")  # open tasks that can still bring money back (no write-offs)
    expected_recovery: Decimal = Decimal("0.00")  # the same, each weighed by its recoverability
    write_offs_open: tuple[int, Decimal] = (0, Decimal("0.00"))  # open tasks whose work is a write-off
    top_priorities: list[dict[str, Any]] = field(default_factory=list)  # the open tasks a worker takes first
    check: dict[str, Any] | None = None  # the pre-submission check on the run's first submissions
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
            "status_work": self.status_work,
            "tasks_by_queue": self.tasks_by_queue,
            "tasks_by_state": self.tasks_by_state,
            "followups_by_topic": self.followups_by_topic,
            "dollars_at_risk": float(self.dollars_at_risk),
            "expected_recovery": float(self.expected_recovery),
            "write_offs_open": {"tasks": self.write_offs_open[0], "amount": float(self.write_offs_open[1])},
            "top_priorities": self.top_priorities,
            "presubmission_check": self.check,
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
    summary.status_work = await status_work(conn, pattern)

    # At risk: what open work can still bring back. A write-off (or a task with no recoverability) is lost money,
    # not money at risk, so it is counted apart.
    tasks = await conn.fetch(
        "SELECT queue, state, count(*) AS n,"
        " coalesce(sum(amount_at_risk) FILTER (WHERE NOT action = ANY($2::text[]) AND recoverability > 0), 0)"
        "   AS amount,"
        " coalesce(sum(amount_at_risk * recoverability::numeric)"
        "   FILTER (WHERE NOT action = ANY($2::text[]) AND recoverability > 0), 0) AS expected,"
        " count(*) FILTER (WHERE action = ANY($2::text[]) OR recoverability <= 0) AS lost_n,"
        " coalesce(sum(amount_at_risk) FILTER (WHERE action = ANY($2::text[]) OR recoverability <= 0), 0) AS lost"
        " FROM appeal_tasks WHERE claim_id LIKE $1 GROUP BY queue, state", pattern, sorted(NOTHING_EXPECTED))
    by_queue: Counter[str] = Counter()
    open_by_queue: Counter[str] = Counter()
    at_risk: dict[str, Decimal] = {}
    by_state: Counter[str] = Counter()
    expected = Decimal(0)
    lost_n, lost = 0, Decimal(0)
    for r in tasks:
        by_queue[r["queue"]] += r["n"]
        by_state[r["state"]] += r["n"]
        if r["state"] in OPEN_STATES:
            open_by_queue[r["queue"]] += r["n"]
            at_risk[r["queue"]] = at_risk.get(r["queue"], Decimal(0)) + r["amount"]
            expected += r["expected"]
            lost_n += r["lost_n"]
            lost += r["lost"]
    queues = sorted(by_queue, key=lambda q: (-by_queue[q], q))
    summary.tasks_by_queue = {q: by_queue[q] for q in queues}
    summary.open_tasks_by_queue = {q: open_by_queue[q] for q in queues}
    summary.at_risk_by_queue = {q: at_risk.get(q, Decimal(0)) for q in queues}
    summary.tasks_by_state = dict(sorted(by_state.items()))
    summary.dollars_at_risk = sum(at_risk.values(), Decimal("0")).quantize(Decimal("0.01"))
    summary.expected_recovery = expected.quantize(Decimal("0.01"))
    summary.write_offs_open = (lost_n, lost.quantize(Decimal("0.01")))
    summary.top_priorities = await top_priorities(conn, pattern)
    summary.outbox_followups_by_topic, _ = await outbox_state(conn, prefix)


async def status_work(conn: asyncpg.Connection, pattern: str) -> dict[str, dict[str, Any]]:
    """Tasks a 277 status opened (denied F2, rejected A3-A8), by bucket: how many, the amount, and their causes."""
    rows = await conn.fetch(
        "SELECT substring(origin FROM 8) AS bucket, category, count(*) AS n, sum(amount_at_risk) AS amount"
        " FROM appeal_tasks WHERE claim_id LIKE $1 AND origin LIKE 'status:%' GROUP BY bucket, category",
        pattern)
    out: dict[str, dict[str, Any]] = {}
    for r in sorted(rows, key=lambda r: (r["bucket"], -r["n"], r["category"])):
        entry = out.setdefault(r["bucket"], {"tasks": 0, "amount": 0.0, "categories": {}})
        entry["tasks"] += r["n"]
        entry["amount"] = round(entry["amount"] + float(r["amount"]), 2)
        entry["categories"][r["category"]] = r["n"]
    return out


async def top_priorities(conn: asyncpg.Connection, pattern: str, limit: int = 10) -> list[dict[str, Any]]:
    """The open tasks a worker takes first (highest priority), without ids (the JSON stays the same per seed)."""
    rows = await conn.fetch(
        "SELECT queue, category, action, payer_type, amount_at_risk, priority,"
        " priority_parts->>'expected_recovery' AS expected, priority_parts->>'clock' AS clock,"
        " priority_parts->>'days_left' AS days_left, (priority_parts->>'overdue')::boolean AS overdue,"
        " priority_parts->>'late_option' AS late"
        " FROM appeal_tasks WHERE claim_id LIKE $1 AND state = ANY($2::text[])"
        " ORDER BY priority DESC, amount_at_risk DESC, category, task_id LIMIT $3", pattern, sorted(OPEN_STATES), limit)
    out = []
    for r in rows:
        if r["clock"]:
            when = f"{'appeal' if r['clock'] == 'deadline' else 'filing'} in {r['days_left']} d"
        elif r["overdue"]:
            when = "late: good cause" if r["late"] else "overdue"
        else:
            when = "no deadline"
        out.append({"queue": r["queue"], "category": r["category"], "action": r["action"],
                    "payer_type": r["payer_type"], "at_risk": float(r["amount_at_risk"]),
                    "expected": float(Decimal(r["expected"] or "0")), "priority": round(float(r["priority"]), 1),
                    "when": when})
    return out


PAYER_SHORT = {"medicare": "Medicare", "medicare_advantage": "MA", "medicaid": "Medicaid", "commercial": "commercial",
               "workers_comp": "WC", "other": "other"}


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
    for bucket, label in (("denied", "277 status: denied (F2)"), ("rejected", "277CA: rejected (A3-A8)")):
        work = summary.status_work.get(bucket)
        if work:
            causes = ", ".join(f"{c} ×{k}" for c, k in work["categories"].items())
            denials.add_row(f"[italic]{label}[/italic]", f"{work['tasks']:,}",
                            _money(Decimal(str(work["amount"]))), causes)
    console.print(denials)
    if summary.status_work:
        console.print("  277 rows: claims a status denied or rejected before an 835 said why (tasks below, not in "
                      "the count above)")

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
    console.print(f"  at risk: open work that can still bring money back; expected recovery "
                  f"{_money(summary.expected_recovery)}")
    console.print(f"  open write-offs (nothing to recover, not at risk): {summary.write_offs_open[0]:,} tasks, "
                  f"{_money(summary.write_offs_open[1])}")

    if summary.top_priorities:
        top = Table(title="Top priorities (open; score = expected recovery in dollars x urgency)",
                    box=box.SIMPLE_HEAD, title_justify="left")
        top.add_column("#", justify="right", no_wrap=True, min_width=2)
        top.add_column("task (cause, action, payer)", ratio=1)
        for name, justify in (("at risk", "right"), ("expected", "right"), ("score", "right"), ("clock", "left")):
            top.add_column(name, justify=justify, no_wrap=True)
        for rank, t in enumerate(summary.top_priorities, start=1):
            task = f"{t['category']}, {t['action']}, {PAYER_SHORT.get(t['payer_type'], t['payer_type'])}"
            top.add_row(str(rank), task, _money(Decimal(str(t["at_risk"]))), _money(Decimal(str(t["expected"]))),
                        f"{t['priority']:,.1f}", t["when"])
        console.print(top)

    followups = Table(title="Follow-ups (read back from the broker)", box=box.SIMPLE_HEAD, title_justify="left")
    followups.add_column("topic")
    followups.add_column("events", justify="right")
    for topic, n in summary.followups_by_topic.items():
        followups.add_row(topic, f"{n:,}")
    followups.add_row("[bold]all[/bold]", f"[bold]{sum(summary.followups_by_topic.values()):,}[/bold]")
    console.print(followups)


def render_check(summary: Summary, console: Console) -> None:
    """The pre-submission check's section: what it flagged and the denials it would have prevented."""
    check = summary.check
    if not check:
        return
    table = Table(title=f"Pre-submission check ({check['claims_checked']:,} first submissions)", box=box.SIMPLE_HEAD,
                  title_justify="left")
    table.add_column("rule")
    table.add_column("findings", justify="right")
    table.add_column("denials prevented", justify="right")
    table.add_column("denied", justify="right")
    for row in check["by_rule"]:
        table.add_row(row["rule_id"], f"{row['findings']:,}", f"{row['denials_prevented']:,}",
                      _money(Decimal(str(row["amount"]))) if row["denials_prevented"] else "")
    console.print(table)
    clean = check["claims_checked"] - check["flagged"] - check["warned"]
    console.print("  denials check on the run's first submissions, with the patients' history from PostgreSQL")
    console.print(f"  flagged as likely denied {check['flagged']:,} · warnings only {check['warned']:,} · clean "
                  f"{clean:,}; flagged but paid in full {check['flagged_but_paid']:,}")
    console.print(f"  would have prevented {check['prevented_denials']:,} of {check['denied_lines']:,} denied lines "
                  f"({_money(Decimal(str(check['prevented_amount'])))} of "
                  f"{_money(Decimal(str(check['denied_amount'])))}) on the claims' first adjudications")
