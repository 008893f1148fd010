"""KPIs at a billing company's scale: a year of claims, then the dashboard's reads timed over HTTP.

    python -m bench.kpis --json                          # a year of 1,000,000 claims, 5 repetitions per route
    python -m bench.kpis --claims 100000 --reps 10 --json
    python -m bench.throughput --scenario kpis --json    # the same, from the throughput bench entry

It creates a fresh database `denials_bench_kpis_<random>` on DATABASE_URL's server (dropped at the end unless
`--keep`), migrates it, writes the claims straight into the tables the worker writes (bench/kpis_data.py, COPY),
then serves the real API app (`create_api_app`) on a local port and times each read the dashboard makes, as a
supervisor (the practice) and as a team token (its queues' claims): `GET /api/kpis` for all data, the year, a month,
a payer filter, a CSV table, and `GET /api/check/outcomes`. Progress goes to stderr; the last stdout line is one JSON
object with p50/p95/max milliseconds per route.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import sys
import time
import urllib.parse
import uuid

import aiohttp
import asyncpg
from aiohttp import web

from bench import kpis_data

ROUTES: tuple[tuple[str, str, dict[str, str], bool], ...] = (
    # name, path, query, team token (else supervisor)
    ("kpis_all_data", "/api/kpis", {}, False),
    ("kpis_year", "/api/kpis", {"from": f"{kpis_data.YEAR}-01-01", "to": f"{kpis_data.YEAR}-12-31"}, False),
    ("kpis_month", "/api/kpis", {"from": f"{kpis_data.YEAR}-06-01", "to": f"{kpis_data.YEAR}-06-30"}, False),
    ("kpis_year_payer", "/api/kpis", {"from": f"{kpis_data.YEAR}-01-01", "to": f"{kpis_data.YEAR}-12-31",
                                      "payer": "BCBS-TX"}, False),
    ("kpis_year_team", "/api/kpis", {"from": f"{kpis_data.YEAR}-01-01", "to": f"{kpis_data.YEAR}-12-31"}, True),
    ("kpis_csv_trend", "/api/kpis", {"format": "csv", "table": "trend"}, False),
    ("check_outcomes", "/api/check/outcomes", {}, False),
)


def log(msg: str) -> None:
    print(f"[bench.kpis] {msg}", file=sys.stderr, flush=True)


def _with_database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered) + 0.5) - 1))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 1), "p95_ms": round(p95 * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1), "n": len(ordered)}


async def _serve_and_time(url: str, args: argparse.Namespace) -> dict:
    from service.adapters import postgres
    from service.adapters.tokens import TokenStore
    from service.bootstrap import bootstrap
    from service.config import Settings
    from service.entrypoints.api import create_api_app

    # the service default (10 s) would cut the slow reads this bench exists to measure
    settings = Settings(database_url=url, db_pool_max=4, task_timers_enabled=False,
                        db_command_timeout_s=args.timeout)
    pool = await postgres.create_pool(url, settings)
    parts = bootstrap(settings, database_url=url)
    parts.connections.pool = pool
    runner = web.AppRunner(create_api_app(parts), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    tokens = TokenStore(pool)
    _, supervisor = await tokens.create(team="bench-supervisors", queues=["appeals"], supervisor=True)
    _, team = await tokens.create(team="bench-coding", queues=["coding"])
    timings: dict[str, dict] = {}
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=args.timeout))
    try:
        for name, path, query, as_team in ROUTES:
            if args.routes and name not in args.routes:
                continue
            samples = []
            for rep in range(args.warmup + args.reps):
                t0 = time.perf_counter()
                async with session.get(f"http://127.0.0.1:{port}{path}", params=query,
                                       headers={"Authorization": f"Bearer {team if as_team else supervisor}"}) as r:
                    body = await r.read()
                    if r.status != 200:
                        raise RuntimeError(f"{name}: HTTP {r.status}: {body[:300]!r}")
                elapsed = time.perf_counter() - t0
                if rep >= args.warmup:
                    samples.append(elapsed)
            # the body's digest: two runs over the same data (before / after a change) must answer the same bytes
            timings[name] = {**_ms(samples), "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()[:16]}
            log(f"{name}: {timings[name]}")
    finally:
        await session.close()
        await runner.cleanup()
        await pool.close()
    return timings


async def run(args: argparse.Namespace) -> dict:
    from service.adapters import postgres
    from service.adapters.migrate import migrate
    from service.config import Settings

    server = os.environ.get("DATABASE_URL")
    if not server:
        raise SystemExit("DATABASE_URL must name a PostgreSQL server (a fresh database is created on it)")
    name = args.database or f"denials_bench_kpis_{uuid.uuid4().hex[:8]}"
    url = _with_database(server, name)
    fresh = args.database is None
    if fresh:
        admin = await asyncpg.connect(server)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
    result: dict = {"scenario": "kpis", "claims": args.claims, "seed": args.seed, "reps": args.reps,
                    "database": name}
    try:
        conn = await postgres.connect(url, Settings(database_url=url, db_command_timeout_s=3600))
        try:
            t0 = time.perf_counter()
            applied = await migrate(conn)
            if applied and not fresh:  # on a kept database: a newer migration's backfill, timed
                result["migrated"] = {"versions": applied, "seconds": round(time.perf_counter() - t0, 1)}
            if fresh:
                t0 = time.perf_counter()
                rows = await kpis_data.load(conn, args.claims, args.seed,
                                            lambda n, r: log(f"{n} claims, {r} rows") if n % 100_000 == 0 else None)
                result["rows"] = rows
                result["load_s"] = round(time.perf_counter() - t0, 1)
                log(f"loaded {rows} rows in {result['load_s']} s")
            counts = await conn.fetchrow(
                "SELECT (SELECT count(*) FROM claims) AS claims, (SELECT count(*) FROM remittances) AS remittances, "
                "(SELECT count(*) FROM decisions) AS decisions, (SELECT count(*) FROM appeal_tasks) AS tasks, "
                "(SELECT count(*) FROM claim_events) AS timeline")
            result["table_rows"] = dict(counts)
            result["claims"] = counts["claims"]
        finally:
            await conn.close()
        result["routes"] = await _serve_and_time(url, args)
    finally:
        if fresh and not args.keep:
            admin = await asyncpg.connect(server)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()
        elif fresh:
            log(f"kept database {name}")
    return result


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--claims", type=int, default=1_000_000, help="claims in the year (default 1,000,000)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--reps", type=int, default=5, help="timed requests per route")
    ap.add_argument("--warmup", type=int, default=1, help="untimed requests per route first")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds one request may take")
    ap.add_argument("--routes", nargs="*", help=f"only these routes (of {', '.join(r[0] for r in ROUTES)})")
    ap.add_argument("--database", help="time an existing database (e.g. one kept by --keep) instead of loading one")
    ap.add_argument("--keep", action="store_true", help="keep the database it created (for another run)")
    ap.add_argument("--json", action="store_true", help="print only the JSON line")
    return ap


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    result = asyncio.run(run(args))
    if not args.json:
        print(json.dumps(result, indent=2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
