"""`denials worker`'s wiring writes nothing but log lines: no terminal escapes in a file or pipe."""

from __future__ import annotations

from service.bootstrap import bootstrap
from service.config import Settings
from service.entrypoints.commands.worker import build_worker


def test_the_worker_writes_no_terminal_escapes_when_it_has_started(tmp_path, capfd):
    settings = Settings(DENIALS_DATA_DIR=tmp_path)
    parts = bootstrap(settings, database_url="postgresql://x@127.0.0.1:9/x", bootstrap_servers="127.0.0.1:9")
    worker, _, _ = build_worker(parts, with_web=False)
    worker._on_startup_end_spinner()  # what faust calls once every service has started
    captured = capfd.readouterr()
    assert "\x1b" not in captured.out + captured.err
    assert "\b" not in captured.out + captured.err
