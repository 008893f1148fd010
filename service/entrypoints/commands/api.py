"""`denials api --host H --port P [--migrate]`: serve the work-queue API alone (the worker also serves it).

Prints `listening on http://H:P` on stdout once the socket listens. It never changes the schema unless `--migrate`
is given: with migrations pending it stops with a message saying how to apply them.
"""

from __future__ import annotations

import asyncio
import signal

import typer

from service.config import Settings, get_settings


async def pending_migrations(conn) -> list[str]:
    """Versions under `migrations/` the database has not applied (all of them on an empty database)."""
    from service.adapters.migrate import available

    if await conn.fetchval("SELECT to_regclass('schema_migrations') IS NULL"):
        done: set[str] = set()
    else:
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
    return [version for version, _ in available() if version not in done]


async def serve(settings: Settings, url: str, host: str, port: int, *, migrate: bool) -> int:
    from aiohttp import web

    from service.adapters import postgres
    from service.adapters.migrate import migrate as run_migrations
    from service.entrypoints.api import create_api_app

    conn = await postgres.connect(url, settings)
    try:
        if migrate:
            applied = await run_migrations(conn)
            typer.echo(f"migrations applied: {', '.join(applied)}" if applied else "schema up to date", err=True)
        else:
            pending = await pending_migrations(conn)
            if pending:
                typer.echo(f"error: the database schema is missing or out of date (pending: {', '.join(pending)}); "
                           "run `denials migrate` or start with `denials api --migrate`", err=True)
                return 2
    finally:
        await conn.close()

    pool = await postgres.create_pool(url, settings)
    runner = web.AppRunner(create_api_app(pool, settings), access_log=None)
    try:
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            typer.echo(f"error: cannot listen on {host}:{port} ({exc.strerror or type(exc).__name__})", err=True)
            return 1
        sockets = getattr(site._server, "sockets", None) or []  # the real port when 0 was asked for
        bound = sockets[0].getsockname()[1] if sockets else port
        typer.echo(f"listening on http://{host}:{bound}")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        return 0
    finally:
        await asyncio.wait_for(runner.cleanup(), timeout=10)
        await asyncio.wait_for(pool.close(), timeout=10)


def register(app: typer.Typer) -> None:
    @app.command()
    def api(
        host: str = typer.Option(None, "--host", help="Interface to listen on (default DENIALS_API_HOST)."),
        port: int = typer.Option(None, "--port", min=0, max=65535, help="Port (default DENIALS_API_PORT)."),
        migrate: bool = typer.Option(False, "--migrate", help="Apply pending migrations first."),
    ) -> None:
        """Serve the work-queue API (with /health and /ready) against DATABASE_URL or the embedded server."""
        from service import logs
        from service.entrypoints.commands.database import database_url_or_exit, run_or_exit

        settings = get_settings()
        logs.configure(settings.log_level, settings.log_format)
        url = database_url_or_exit(settings)
        from service.entrypoints.commands.worker import check_identifier_keys

        check_identifier_keys()
        code = run_or_exit(serve(settings, url, host or settings.api_host,
                                 settings.api_port if port is None else port, migrate=migrate))
        if code:
            raise typer.Exit(code)
