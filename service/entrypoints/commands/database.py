"""What the database-backed commands share: one connection to the configured (or embedded) PostgreSQL, a clear error
when the schema is missing or the server is unreachable, and `error: ...` exits."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer

from service.config import get_settings
from service.errors import ConfigurationError

T = TypeVar("T")


def fail(message: str, code: int) -> typer.Exit:
    """Print `error: message` on stderr; raise the returned Exit with the status code."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def database_url_or_exit(settings: Any) -> str:
    """DATABASE_URL, or the embedded server's URL (started if needed); a configuration problem exits 2."""
    from service.adapters import postgres

    try:
        return postgres.resolve_database_url(settings)
    except ConfigurationError as exc:
        raise fail(str(exc), 2) from None


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
