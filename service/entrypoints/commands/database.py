"""What the database-backed commands share: one connection to the configured (or embedded) PostgreSQL, a clear error
when the schema is missing or the server is unreachable, and `error: ...` exits."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import typer

from service.config import get_settings
from service.errors import ConfigurationError

T = TypeVar("T")


def fail(message: str, code: int) -> typer.Exit:
    """Print `error: message` on stderr; raise the returned Exit with the status code."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def read_csv_file(path: Path, max_bytes: int, what: str) -> str:
    """A CSV import file as text; a file that cannot be read (missing, too large, not UTF-8) exits 2 in one sentence
    naming it (`what`: "a fee schedule")."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise fail(f"{path}: {size} bytes is more than the {max_bytes} {what} may have", 2)
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise fail(f"{path}: no such file", 2) from None
    except IsADirectoryError:
        raise fail(f"{path}: is a directory, not a CSV file", 2) from None
    except PermissionError:
        raise fail(f"{path}: permission denied", 2) from None
    except UnicodeDecodeError as exc:
        raise fail(f"{path}: not UTF-8 text (byte {exc.start}); save the CSV as UTF-8", 2) from None


def database_url_or_exit(settings: Any) -> str:
    """DATABASE_URL, or the embedded server's URL (started if needed); a configuration problem exits 2."""
    from service.adapters import postgres

    try:
        return postgres.resolve_database_url(settings)
    except ConfigurationError as exc:
        raise fail(str(exc), 2) from None


def probe_database(url: str, settings: Any) -> None:
    """Connect once and hang up. A mistake waiting cannot fix (no such database or role: DatabaseMisconfigured)
    propagates (the CLI prints its one sentence and exits 1); an unreachable server is left to the caller, which
    waits for it (the worker: started before its database, it retries and never exits)."""
    from service.adapters import postgres
    from service.errors import TransientError

    async def probe() -> None:
        conn = await postgres.connect(url, settings)
        await conn.close()

    try:
        asyncio.run(probe())
    except TransientError:
        return


def run_or_exit(work: Awaitable[T]) -> T:
    """asyncio.run(work); PostgreSQL unreachable (a connect error or timeout) exits 1 with one sentence."""
    try:
        return asyncio.run(work)
    except (OSError, TimeoutError) as exc:
        raise fail(f"cannot reach PostgreSQL ({type(exc).__name__})", 1) from None


def with_connection(work: Callable[[Any], Awaitable[T]], *, schema_check: str, missing: str) -> T:
    """Run `work(conn)` on one connection. `schema_check` is a query returning true when the tables the command needs
    exist; otherwise exit 2 saying `missing` and to run `denials migrate`. Unreachable PostgreSQL exits 1."""
    from service.adapters import postgres

    settings = get_settings()
    url = database_url_or_exit(settings)

    async def go() -> T:
        conn = await postgres.connect(url, settings)
        try:
            if not await conn.fetchval(schema_check):
                raise fail(f"the database has no {missing} yet: run `denials migrate` first", 2)
            return await work(conn)
        finally:
            await conn.close()

    return run_or_exit(go())
