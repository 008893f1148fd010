"""Does the final state depend on arrival order? The demo stream applied in several interleavings across topics and
partitions, each into a fresh database on the given PostgreSQL server, through the real decoders, `process_batch` and
the asyncpg unit of work (no broker: the orders are the point). Prints JSON.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python -m bench.interleavings --claims 900 --json

Orders (each keeps a claim's records of one topic in publishing order, as one partition does):
`waves` the demo's own publishing order; `status_first` every claim-status record, then every remittance, then the
provider adjustments; `remittances_first` the other way round; `shuffled:N` the (topic, partition) queues drained in
random batches (seed N), as consumers of several topics and partitions would. `final_state` is the digest the
interleaving tests compare: tasks, claim states, decisions and follow-ups by business key, never by generated ids.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import uuid
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from agents.decoders import json_decoders
from service.adapters import postgres
from service.adapters.migrate import migrate
from service.adapters.store import PostgresUnitOfWork
from service.bootstrap import Parts, bootstrap
from service.demo.stream import Outgoing, build_stream
from service.service_layer.handlers import Inbound, process_batch
from topics.catalogue import CLAIMS_REMITTANCE, CLAIMS_STATUS, PROVIDER_ADJUSTMENTS

PARTITIONS = 6  # the catalogue's default for the input topics


def partition_of(record: Outgoing, partitions: int = PARTITIONS) -> int:
    """A stable stand-in for the producer's partitioner: what matters is that one key stays on one partition."""
    return zlib.crc32(record.key) % partitions


def by_topic(records: Iterable[Outgoing], *topics: str) -> list[Outgoing]:
    return [r for t in topics for r in records if r.topic == t]


def shuffled(records: Sequence[Outgoing], seed: int, *, partitions: int = PARTITIONS,
             max_batch: int = 40) -> list[list[Outgoing]]:
    """Batches as consumers of every (topic, partition) would take them: each queue keeps its order, the queues are
    drained in random turns of 1..max_batch records."""
    rng = random.Random(seed)
    queues: dict[tuple[str, int], list[Outgoing]] = {}
    for r in records:
        queues.setdefault((r.topic, partition_of(r, partitions)), []).append(r)
    cursors = dict.fromkeys(queues, 0)
    batches: list[list[Outgoing]] = []
    while True:
        live = [q for q in queues if cursors[q] < len(queues[q])]
        if not live:
            return batches
        q = rng.choice(live)
        n = rng.randint(1, max_batch)
        batches.append(queues[q][cursors[q]:cursors[q] + n])
        cursors[q] += n


def batched(records: Sequence[Outgoing], size: int) -> list[list[Outgoing]]:
    """Consecutive records of one topic, at most `size` to a batch (an agent's batch holds one topic)."""
    out: list[list[Outgoing]] = []
    for r in records:
        if out and out[-1][-1].topic == r.topic and len(out[-1]) < size:
            out[-1].append(r)
        else:
            out.append([r])
    return out


def order(name: str, records: Sequence[Outgoing], batch: int = 40) -> list[list[Outgoing]]:
    if name == "waves":
        return batched(records, batch)
    if name == "status_first":
        return batched(by_topic(records, CLAIMS_STATUS, CLAIMS_REMITTANCE, PROVIDER_ADJUSTMENTS), batch)
    if name == "remittances_first":
        return batched(by_topic(records, CLAIMS_REMITTANCE, CLAIMS_STATUS, PROVIDER_ADJUSTMENTS), batch)
    if name.startswith("shuffled:"):
        return shuffled(records, int(name.split(":", 1)[1]), max_batch=batch)
    raise ValueError(f"unknown order {name!r}: waves, status_first, remittances_first or shuffled:SEED")


# -- the digest -----------------------------------------------------------------------------------------------------

def _strip(value: Any, drop: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v, drop) for k, v in value.items() if k not in drop}
    if isinstance(value, list):
        return [_strip(v, drop) for v in value]
    return value


# Generated or clock-dependent fields a follow-up carries: its own id, when it was written, and the priority score
# (it counts days from today).
_VOLATILE = frozenset({"event_id", "priority", "occurred_at", "causation_id"})


def _json(value: Any) -> Any:
    """A jsonb value, decoded or not (the service's pools decode jsonb; a plain asyncpg pool returns text)."""
    return json.loads(value) if isinstance(value, str) else value


async def final_state(db: Any, claim_prefix: str) -> dict[str, Any]:
    """The claims' final state by business key: each task (claim, payer, cause) with its state, action, amounts,
    deadlines and lines; each claim's state; each decision by (remittance, line, adjustment); and the follow-ups as
    a multiset of (topic, claim, payer, cause, action). `db`: a connection or pool."""
    tasks = await db.fetch(
        """SELECT claim_id, payer_id, category, state, action, queue, appealable, amount_at_risk, recovered_amount,
                  deadline, filing_deadline, appeal_level, origin, lines
           FROM appeal_tasks WHERE claim_id LIKE $1 ORDER BY claim_id, payer_id, category""", claim_prefix + "%")
    claims = await db.fetch("SELECT claim_id, state FROM claims WHERE claim_id LIKE $1 ORDER BY claim_id",
                            claim_prefix + "%")
    decisions = await db.fetch(
        """SELECT event_id, line_id, adjustment_index, category, action, queue, rule_id, task_id IS NOT NULL AS tasked
           FROM decisions WHERE claim_id LIKE $1 ORDER BY event_id, line_id, adjustment_index""", claim_prefix + "%")
    outbox = await db.fetch("SELECT topic, payload FROM outbox WHERE key = ANY(SELECT convert_to(claim_id, 'UTF8') "
                            "FROM claims WHERE claim_id LIKE $1) AND topic LIKE 'followups.%'", claim_prefix + "%")
    followups = Counter()
    for r in outbox:
        p = json.loads(bytes(r["payload"]))
        # by business key: which work was asked for, for which claim, payer and cause (an emitted follow-up carries
        # the amounts and dates known when it was emitted: see docs/architecture.md, "What is still order-dependent")
        followups[json.dumps([r["topic"], p.get("claim_id"), p["payer"]["id"], p.get("category"), p.get("action")],
                             sort_keys=True)] += 1
    state = {
        "tasks": [[r["claim_id"], r["payer_id"], r["category"], r["state"], r["action"], r["queue"], r["appealable"],
                   str(r["amount_at_risk"]), str(r["recovered_amount"]), str(r["deadline"]), str(r["filing_deadline"]),
                   r["appeal_level"], r["origin"],
                   sorted((x["line_id"] or "", x["amount"]) for x in _json(r["lines"]))] for r in tasks],
        "claims": [[r["claim_id"], r["state"]] for r in claims],
        "decisions": [[r["event_id"], r["line_id"], r["adjustment_index"], r["category"], r["action"], r["queue"],
                       r["rule_id"], r["tasked"]] for r in decisions],
        "followups": sorted([k, n] for k, n in followups.items()),
    }
    return state


def digest(state: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()[:16]


def summary(state: dict[str, Any]) -> dict[str, Any]:
    return {"tasks": len(state["tasks"]),
            "open_tasks": sum(1 for t in state["tasks"] if t[3] in ("open", "in_progress", "submitted")),
            "followups": sum(n for _, n in state["followups"]), "digest": digest(state)}


def differences(a: dict[str, Any], b: dict[str, Any], limit: int = 8) -> dict[str, list]:
    """What two final states disagree on, part by part (the first few rows of each side)."""
    out: dict[str, list] = {}
    for part in a:
        left = {json.dumps(x, default=str) for x in a[part]}
        right = {json.dumps(x, default=str) for x in b[part]}
        if left != right:
            out[part] = [["-", json.loads(x)] for x in sorted(left - right)[:limit]] + \
                        [["+", json.loads(x)] for x in sorted(right - left)[:limit]]
    return out


# -- one run --------------------------------------------------------------------------------------------------------

def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def apply(pool: asyncpg.Pool, batches: Sequence[Sequence[Outgoing]], parts: Parts) -> None:
    decoders = json_decoders(8 << 20)
    offsets: Counter = Counter()
    for batch in batches:
        items = []
        for r in batch:
            offsets[r.topic] += 1
            items.extend(Inbound(r.topic, ev, partition_of(r), offsets[r.topic])
                         for ev in decoders[r.topic](r.value).events)
        await process_batch(items, PostgresUnitOfWork(pool, vault=None), parts.classifier, clock=parts.clock,
                            pricing=parts.pricing, member_digest=parts.member_digest)


async def run_order(admin_url: str, name: str, records: Sequence[Outgoing], prefix: str, batch: int,
                    parts: Parts) -> dict[str, Any]:
    db_name = f"denials_order_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{db_name}"')
    finally:
        await admin.close()
    url = _with_database(admin_url, db_name)
    try:
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        pool = await postgres.create_pool(url, parts.settings)
        try:
            await apply(pool, order(name, records, batch), parts)
            return await final_state(pool, prefix)
        finally:
            await pool.close()
    finally:
        admin = await asyncpg.connect(admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        finally:
            await admin.close()


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    stream = build_stream(args.claims, args.seed, "ORD")
    records = list(stream.records())
    parts = bootstrap()  # the worker's classifier, clock, pricing and member digest
    states = {}
    for name in args.orders:
        states[name] = await run_order(args.database_url, name, records, stream.prefix, args.batch, parts)
    first = next(iter(states.values()))
    result = {"claims": stream.claims, "events": len(records), "seed": args.seed,
              "orders": {n: summary(s) for n, s in states.items()},
              "distinct_task_counts": len({len(s["tasks"]) for s in states.values()}),
              "distinct_digests": len({digest(s) for s in states.values()})}
    if args.diff:
        result["differences"] = {n: differences(first, s) for n, s in states.items() if digest(s) != digest(first)}
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--claims", type=int, default=900)
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--batch", type=int, default=40, help="records per batch at most")
    ap.add_argument("--orders", nargs="+", default=["waves", "status_first", "remittances_first", "shuffled:1"])
    ap.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                    help="a PostgreSQL server's URL (default: DATABASE_URL); each order gets its own database")
    ap.add_argument("--diff", action="store_true", help="show what the orders' final states disagree on")
    ap.add_argument("--json", action="store_true", help="print the result as one JSON line")
    args = ap.parse_args()
    if not args.database_url:
        ap.error("set DATABASE_URL or pass --database-url")
    result = asyncio.run(main_async(args))
    print(json.dumps(result, default=str) if args.json else json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
