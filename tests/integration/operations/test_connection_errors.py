"""A DATABASE_URL or KAFKA_BOOTSTRAP_SERVERS mistake, made by an operator, against the real PostgreSQL server the tests
use (DATABASE_URL's host and port; 127.0.0.1:5432 by default): every command that connects prints one sentence on
stderr naming the host, port and database, exits non-zero, and shows no traceback."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from urllib.parse import urlsplit

import pytest

from tests.support.worker import denials_command

_server = urlsplit(os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test")
HOST, PORT, USER = _server.hostname or "127.0.0.1", _server.port or 5432, _server.username or "postgres"
DATABASE = (_server.path or "/test").lstrip("/") or "test"

# Every command that connects to PostgreSQL (the worker and relay also need a broker address; none is reached).
COMMANDS = [("migrate",), ("worker", "--no-api"), ("api",), ("relay",), ("report", "--period", "2026-03"),
            ("tokens", "list"), ("deadletters", "list"), ("fees", "list", "--payer", "MCR-JL")]


def _refused_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind((HOST if HOST != "localhost" else "127.0.0.1", 0))
        return s.getsockname()[1]


async def _run(args: tuple[str, ...], **env: str) -> tuple[int, str, str]:
    environ = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9", "DENIALS_LOG_FORMAT": "json",
               "DENIALS_WEB_PORT": "0", "DENIALS_API_PORT": "0", **env}
    proc = await asyncio.create_subprocess_exec(denials_command(), *args, env=environ,
                                                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"`denials {' '.join(args)}` did not exit (it should not wait for this mistake)") from None
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def _errors(stderr: str) -> list[str]:
    """The lines meant for a person (structured log lines, JSON, are the service's logs, not the error)."""
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith("{")]


async def _check_all(url: str, *expected: str, code: int = 1, commands=COMMANDS) -> None:
    semaphore = asyncio.Semaphore(3)  # a shared 2-core machine

    async def one(args):
        async with semaphore:
            return args, await _run(args, DATABASE_URL=url)

    failures = []
    for args, (rc, _out, err) in await asyncio.gather(*(one(a) for a in commands)):
        lines = _errors(err)
        ok = (rc == code and len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err
              and all(text in lines[0] for text in expected))
        if not ok:
            failures.append(f"denials {' '.join(args)}: exit {rc}, stderr {err[-600:]!r}")
    assert not failures, "\n".join(failures)


async def test_an_unknown_database_is_named_with_host_and_port():
    name = f"no_such_db_{uuid.uuid4().hex[:8]}"
    await _check_all(f"postgresql://{USER}@{HOST}:{PORT}/{name}", f"{HOST}:{PORT}", f'"{name}"',
                     "does not exist")


async def test_an_unknown_role_is_named_with_host_port_and_database():
    role = f"no_such_role_{uuid.uuid4().hex[:8]}"
    await _check_all(f"postgresql://{role}@{HOST}:{PORT}/{DATABASE}", f"{HOST}:{PORT}", f'"{DATABASE}"',
                     f'"{role}"')


async def test_a_refused_port_is_named_with_host_port_and_database():
    port = _refused_port()
    # the worker waits for an unreachable database (it may start before it): only the commands that do one thing
    await _check_all(f"postgresql://{USER}@{HOST}:{port}/{DATABASE}", f"{HOST}:{port}", f'"{DATABASE}"',
                     "connection refused", commands=[c for c in COMMANDS if c[0] != "worker"])


@pytest.mark.parametrize("url, said, commands", [
    ("mysql://root@127.0.0.1:3306/denials", 'starts with "mysql:"', COMMANDS),
    ("postgres:/x", '"postgres:" is not followed by "//"', COMMANDS),
    ("127.0.0.1:5432/denials", "DATABASE_URL must be postgresql://", COMMANDS[:1]),
    ("postgresql://u@h:port/x", "port that is not a number", COMMANDS[:1]),
])
async def test_a_malformed_database_url_is_one_sentence_that_never_echoes_it(url, said, commands):
    await _check_all(url, said, code=2, commands=commands)
    code, _, err = await _run(("migrate",), DATABASE_URL=url.replace("root@", "root:s3cret@"))
    assert "s3cret" not in err


@pytest.mark.parametrize("bootstrap", ["localhost", "kafka://broker:9092"])
async def test_a_malformed_broker_address_is_one_sentence(bootstrap):
    url = f"postgresql://{USER}@{HOST}:{PORT}/{DATABASE}"
    for args in [("worker", "--no-api"), ("relay",), ("deadletters", "replay", "--all")]:
        code, _, err = await _run(args, DATABASE_URL=url, KAFKA_BOOTSTRAP_SERVERS=bootstrap)
        lines = _errors(err)
        assert code == 2 and len(lines) == 1 and "Traceback" not in err, (args, code, err[-600:])
        assert lines[0].startswith("error: KAFKA_BOOTSTRAP_SERVERS:") and "is not host:port" in lines[0]
