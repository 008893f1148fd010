"""`denials tokens` and `denials api` as real subprocesses (what an operator runs)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import os
import queue
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import asyncpg
import pytest

from tests.integration.test_api_support import private_database
from tests.support.ports import free_port
from tests.support.worker import denials_command

TOKEN_LINE = re.compile(r"^dnl_[A-Za-z0-9_-]{43}$")


def _env(url: str, data_dir: Path) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "DENIALS_DATA_DIR": str(data_dir), "DENIALS_LOG_FORMAT": "json"}


def _denials(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([denials_command(), *args], env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def _http(url: str, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


class ApiProcess:
    """`denials api` in the background; its stdout read line by line on a thread."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen([denials_command(), "api", *args], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for_line(self, pattern: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None:
                    error = self.proc.stderr.read()
                    raise AssertionError(f"denials api exited {self.proc.returncode}: {error}") from None
                continue
            if re.search(pattern, line):
                return line
        raise AssertionError(f"no line matching {pattern!r} within {timeout}s")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode


@pytest.fixture(scope="module")
def cli_env(stack, tmp_path_factory):
    env = _env(stack.direct_database_url, tmp_path_factory.mktemp("cli-data"))
    migrated = _denials(env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    return env


async def test_tokens_are_created_once_stored_hashed_listed_and_revoked(stack, cli_env, run_id):
    team = f"cli-{run_id}"
    made = await asyncio.to_thread(_denials, cli_env, "tokens", "create", "--team", team, "--queues",
                                   "appeals,coding", "--user", "ann")
    assert made.returncode == 0, made.stderr
    lines = made.stdout.strip().splitlines()
    token = lines[-1]
    assert TOKEN_LINE.match(token) and made.stdout.count(token) == 1
    assert f"{team}/ann" in lines[0] and "appeals, coding" in lines[0]

    conn = await asyncpg.connect(stack.direct_database_url)
    try:
        row = await conn.fetchrow("SELECT * FROM api_tokens WHERE team = $1", team)
        assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
        assert token not in json.dumps({k: str(v) for k, v in dict(row).items()})
        assert list(row["queues"]) == ["appeals", "coding"] and row["supervisor"] is False
    finally:
        await conn.close()

    listed = await asyncio.to_thread(_denials, cli_env, "tokens", "list", "--json")
    assert listed.returncode == 0 and token not in listed.stdout
    mine = [json.loads(x) for x in listed.stdout.splitlines() if json.loads(x)["team"] == team]
    assert len(mine) == 1 and token.startswith(mine[0]["prefix"]) and mine[0]["revoked_at"] is None
    table = await asyncio.to_thread(_denials, cli_env, "tokens", "list")
    assert f"{team}/ann" in table.stdout and token not in table.stdout

    revoked = await asyncio.to_thread(_denials, cli_env, "tokens", "revoke", str(mine[0]["id"]))
    assert revoked.returncode == 0 and "revoked token" in revoked.stdout
    missing = await asyncio.to_thread(_denials, cli_env, "tokens", "revoke", "987654321")
    assert missing.returncode == 1 and "no token with id 987654321" in missing.stderr


async def test_unknown_queues_and_scopeless_tokens_are_refused_with_exit_2(stack, cli_env, run_id):
    team = f"cli-bad-{run_id}"
    for args, message in ((["--queues", "appeals,nope"], "unknown queue 'nope'"),
                          (["--queues", ""], "--queues"), (["--queues", "appeals", "--user", "a b"], "--user")):
        result = await asyncio.to_thread(_denials, cli_env, "tokens", "create", "--team", team, *args)
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert not TOKEN_LINE.match((result.stdout.strip().splitlines() or [""])[-1])
    supervisor = await asyncio.to_thread(_denials, cli_env, "tokens", "create", "--team", team, "--supervisor")
    assert supervisor.returncode == 0 and "every queue (supervisor)" in supervisor.stdout
    conn = await asyncpg.connect(stack.direct_database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM api_tokens WHERE team = $1", team) == 1
    finally:
        await conn.close()


async def test_denials_api_listens_serves_health_ready_and_honours_cli_tokens(cli_env, run_id):
    made = await asyncio.to_thread(_denials, cli_env, "tokens", "create", "--team", f"srv-{run_id}", "--queues",
                                   "billing")
    token = made.stdout.strip().splitlines()[-1]
    port = free_port()
    server = ApiProcess(cli_env, "--host", "127.0.0.1", "--port", str(port))
    try:
        line = await asyncio.to_thread(server.wait_for_line, r"listening on")
        assert line == f"listening on http://127.0.0.1:{port}"
        base = f"http://127.0.0.1:{port}"
        assert await asyncio.to_thread(_http, f"{base}/health") == (200, {"status": "alive"})
        status, ready = await asyncio.to_thread(_http, f"{base}/ready")
        assert status == 200 and ready["ready"] is True
        status, me = await asyncio.to_thread(_http, f"{base}/api/me", token)
        assert status == 200 and me["queues"] == ["billing"]
        status, body = await asyncio.to_thread(_http, f"{base}/api/me")
        assert (status, body["error"]) == (401, "missing_token")

        listed = await asyncio.to_thread(_denials, cli_env, "tokens", "list", "--json")
        token_id = next(json.loads(x)["id"] for x in listed.stdout.splitlines()
                        if json.loads(x)["team"] == f"srv-{run_id}")
        await asyncio.to_thread(_denials, cli_env, "tokens", "revoke", str(token_id))
        status, body = await asyncio.to_thread(_http, f"{base}/api/me", token)
        assert (status, body["error"]) == (401, "invalid_token")  # revocation takes effect at once
    finally:
        code = await asyncio.to_thread(server.stop)
    assert code == 0


async def test_denials_api_never_migrates_unless_asked(stack, tmp_path):
    async with private_database(stack.direct_database_url) as url:
        env = _env(url, tmp_path)
        refused = await asyncio.to_thread(_denials, env, "api", "--host", "127.0.0.1", "--port", str(free_port()))
        assert refused.returncode == 2
        assert "schema is missing or out of date" in refused.stderr and "denials migrate" in refused.stderr
        assert "listening on" not in refused.stdout
        no_table = await asyncio.to_thread(_denials, env, "tokens", "list")
        assert no_table.returncode == 2 and "run `denials migrate` first" in no_table.stderr
        conn = await asyncpg.connect(url)
        try:
            assert await conn.fetchval("SELECT to_regclass('schema_migrations') IS NULL")
        finally:
            await conn.close()

        port = free_port()
        server = ApiProcess(env, "--host", "127.0.0.1", "--port", str(port), "--migrate")
        try:
            await asyncio.to_thread(server.wait_for_line, r"^listening on http://127\.0\.0\.1:\d+$")
            status, ready = await asyncio.to_thread(_http, f"http://127.0.0.1:{port}/ready")
            assert status == 200 and ready["database"] is True
        finally:
            assert await asyncio.to_thread(server.stop) == 0
        conn = await asyncpg.connect(url)
        try:
            assert await conn.fetchval("SELECT count(*) FROM schema_migrations WHERE version LIKE '001%'") >= 2
        finally:
            await conn.close()


# -- token lifecycle and the printed sign-in -----------------------------------------------------

def _listed(env: dict[str, str], team: str) -> list[dict]:
    """`denials tokens list --json`, the rows of teams whose name contains `team`."""
    listed = _denials(env, "tokens", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    return [json.loads(x) for x in listed.stdout.splitlines() if team in json.loads(x)["team"]]


def _page(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert resp.status == 200
        return resp.read()


def _iso(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


async def test_tokens_expire_after_90_days_by_default_or_as_told_and_list_says_when(cli_env, run_id):
    started = dt.datetime.now(dt.UTC)
    for team, args in ((f"exp-default-{run_id}", []), (f"exp-12h-{run_id}", ["--expires-in", "12h"]),
                       (f"exp-none-{run_id}", ["--no-expiry"])):
        made = await asyncio.to_thread(_denials, cli_env, "tokens", "create", "--team", team, "--queues", "appeals",
                                       *args)
        assert made.returncode == 0, made.stderr
        assert ("never expires" in made.stdout) == (args == ["--no-expiry"])
    rows = {t["team"]: t for t in await asyncio.to_thread(_listed, cli_env, run_id)}
    default, short = rows[f"exp-default-{run_id}"], rows[f"exp-12h-{run_id}"]
    forever = rows[f"exp-none-{run_id}"]
    assert abs(_iso(default["expires_at"]) - (started + dt.timedelta(days=90))) < dt.timedelta(minutes=5)
    assert abs(_iso(short["expires_at"]) - (started + dt.timedelta(hours=12))) < dt.timedelta(minutes=5)
    assert forever["expires_at"] is None
    assert {default["status"], short["status"], forever["status"]} == {"active"}

    revoked = await asyncio.to_thread(_denials, cli_env, "tokens", "revoke", str(short["id"]))
    assert revoked.returncode == 0
    table = await asyncio.to_thread(_denials, cli_env, "tokens", "list")
    header, *rows = table.stdout.splitlines()
    assert all(word in header for word in ("status", "expires", "last used", "revoked"))
    mine = {r.split()[0]: r for r in rows if run_id in r}
    assert "revoked" in mine[str(short["id"])] and "never" in mine[str(forever["id"])]
    assert "active" in mine[str(default["id"])]


@pytest.mark.parametrize(("args", "message"), [
    (["--expires-in", "90x"], "--expires-in must be a number followed by m, h, d or w"),
    (["--expires-in", "0d"], "--expires-in must be between 1 minute and 3650 days"),
    (["--expires-in", "30d", "--no-expiry"], "--expires-in and --no-expiry contradict each other"),
])
async def test_a_bad_lifetime_is_refused_in_one_sentence_with_exit_2(stack, cli_env, run_id, args, message):
    team = f"exp-bad-{run_id}"
    result = await asyncio.to_thread(_denials, cli_env, "tokens", "create", "--team", team, "--queues", "appeals",
                                     *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    conn = await asyncpg.connect(stack.direct_database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM api_tokens WHERE team = $1", team) == 0
    finally:
        await conn.close()


async def test_denials_api_sign_in_prints_a_link_that_works_and_refusals_are_logged_without_the_token(cli_env):
    port = free_port()
    server = ApiProcess(cli_env, "--host", "127.0.0.1", "--port", str(port), "--sign-in")
    try:
        await asyncio.to_thread(server.wait_for_line, r"^listening on")
        line = await asyncio.to_thread(server.wait_for_line, r"^sign in: ")
        about = await asyncio.to_thread(server.wait_for_line, r"supervisor")
        match = re.fullmatch(rf"sign in: (http://127\.0\.0\.1:{port}/)#token=(dnl_[A-Za-z0-9_-]{{43}})", line)
        assert match, line
        page, token = match.groups()
        token_id = int(re.search(r"token (\d+):", about).group(1))
        assert token not in about and "expires" in about
        # the page the link opens, and an authenticated route with the token it carries
        assert b"Sign in" in await asyncio.to_thread(_page, page)
        status, me = await asyncio.to_thread(_http, f"{page}api/me", token)
        assert (status, me["supervisor"]) == (200, True), me
        status, kpis = await asyncio.to_thread(_http, f"{page}api/kpis", token)
        assert status == 200 and kpis["queues"] is None
        (listed,) = [t for t in await asyncio.to_thread(_listed, cli_env, "sign-in") if t["id"] == token_id]
        left = _iso(listed["expires_at"]) - dt.datetime.now(dt.UTC)
        assert dt.timedelta(hours=11) < left <= dt.timedelta(hours=12) and listed["supervisor"] is True

        await asyncio.to_thread(_denials, cli_env, "tokens", "revoke", str(token_id))
        status, body = await asyncio.to_thread(_http, f"{page}api/me", token)
        assert (status, body["details"]["reason"]) == (401, "revoked")
    finally:
        code = await asyncio.to_thread(server.stop)
    assert code == 0
    log = server.proc.stderr.read()
    refusals = [json.loads(x) for x in log.splitlines() if x.startswith("{") and "api.refused" in x]
    assert [(r["route"], r["path"], r["method"], r["status"], r["reason"], r["token_id"]) for r in refusals] == [
        ("me", "/api/me", "GET", 401, "revoked", token_id)]
    assert token not in log and token[4:14] not in log


async def test_denials_api_prints_no_sign_in_against_a_shared_database_unless_asked(cli_env):
    before = len(await asyncio.to_thread(_listed, cli_env, "sign-in"))
    port = free_port()
    server = ApiProcess(cli_env, "--host", "127.0.0.1", "--port", str(port))
    try:
        await asyncio.to_thread(server.wait_for_line, r"^listening on")
        status, _ = await asyncio.to_thread(_http, f"http://127.0.0.1:{port}/ready")
        assert status == 200
    finally:
        assert await asyncio.to_thread(server.stop) == 0
    await asyncio.sleep(0.5)  # the pump thread reads the last lines
    assert not any(x.startswith("sign in") for x in list(server.lines.queue))
    assert len(await asyncio.to_thread(_listed, cli_env, "sign-in")) == before
