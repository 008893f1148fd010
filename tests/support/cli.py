"""Run the real `denials` command as a subprocess (what an operator types), against a test stack."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass

from tests.support.worker import denials_command


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


async def denials(stack, *args: str, timeout: float = 120, **env: str) -> Result:
    environ = {**os.environ, "DATABASE_URL": stack.direct_database_url, "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap,
               "DENIALS_LOG_FORMAT": "json", **env}
    proc = await asyncio.create_subprocess_exec(
        denials_command(), *args, env=environ, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return Result(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))
