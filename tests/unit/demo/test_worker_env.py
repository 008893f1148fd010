"""The demo's worker: the timers that compare the fixed-epoch stream with today are left to real workers."""

from __future__ import annotations

import io

from rich.console import Console

from service.config import Settings
from service.demo.runner import DemoOptions, DemoRun


def _env(tmp_path) -> dict[str, str]:
    run = DemoRun(DemoOptions(), Settings(DENIALS_DATA_DIR=tmp_path), Console(file=io.StringIO()))
    return run.worker_env("postgresql://x@127.0.0.1:9/x", "127.0.0.1:9", 8080)


def test_the_demo_worker_runs_neither_the_expiry_nor_the_silent_claim_timer(tmp_path, monkeypatch):
    monkeypatch.delenv("DENIALS_CLAIM_TIMERS_ENABLED", raising=False)
    monkeypatch.delenv("DENIALS_TASK_EXPIRY_INTERVAL_S", raising=False)
    env = _env(tmp_path)
    worker_settings = Settings(**{k: v for k, v in env.items() if k.startswith("DENIALS_")})
    assert worker_settings.claim_timers_enabled is False
    assert worker_settings.task_expiry_interval_s > 365 * 86400
