"""`denials tokens` and `denials api` as real subprocesses (what an operator runs)."""

from __future__ import annotations

import asyncio
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
