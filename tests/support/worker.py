"""Run `denials worker` as a real subprocess (what an operator runs), and stop or kill it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.support.ports import free_port


def denials_command() -> str:
    """The installed `denials` console script, as a user runs it."""
    script = Path(sys.executable).parent / "denials"
    return str(script) if script.exists() else "denials"


class WorkerProcess:
    def __init__(self, *, database_url: str, bootstrap: str, app_id: str, data_dir: Path, log_path: Path,
                 extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.log_path = log_path
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "DENIALS_APP_ID": app_id,
            "DENIALS_DATA_DIR": str(data_dir),
            "DENIALS_API_HOST": "127.0.0.1",
            "DENIALS_API_PORT": str(self.port),
            "DENIALS_LOG_FORMAT": "json",
            "DENIALS_LOG_LEVEL": "INFO",
            "DENIALS_REBALANCE_TIMEOUT_S": "4",
            "DENIALS_SESSION_TIMEOUT_S": "6",
            "DENIALS_RETRY_INITIAL_S": "0.1",
            "DENIALS_RETRY_MAX_S": "1",
            "DENIALS_DB_COMMAND_TIMEOUT_S": "5",
            "DENIALS_DB_CONNECT_TIMEOUT_S": "2",
            "DENIALS_RELAY_IDLE_S": "0.2",
            "DENIALS_SHUTDOWN_DRAIN_S": "10",
            # Fixtures are dated early in 2026: the deadline timer would expire their tasks. Timer tests enable it.
            "DENIALS_TASK_TIMERS_ENABLED": "false",
            "DENIALS_CLAIM_TIMERS_ENABLED": "false",
            **(extra_env or {}),
        }
        self.proc: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [denials_command(), "worker"], env=self.env, stdout=self._log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self

    def ready(self) -> dict | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ready", timeout=1) as resp:
                return json.loads(resp.read())
        except Exception:  # noqa: BLE001 - not up yet, or 503 (not ready)
            return None

    def ready_state(self) -> dict | None:
        """The /ready body whatever its status (503 included); None when the server does not answer."""
        import urllib.error

        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ready", timeout=1) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return json.loads(err.read())
        except Exception:  # noqa: BLE001
            return None

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}; log: {self.tail()}")
            state = self.ready()
            if state and state.get("ready"):
                return
            time.sleep(0.1)
        raise TimeoutError(f"worker not ready after {timeout}s; last /ready: {self.ready_state()}; {self.tail()}")

    def tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_bytes()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int | None:
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self._log.close()
        return proc.returncode

    def kill(self) -> None:
        self.stop(signal.SIGKILL)
