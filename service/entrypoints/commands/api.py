"""`denials api --host H --port P [--migrate]`: serve the work-queue API alone (the worker also serves it).

Prints `listening on http://H:P` on stdout once the socket listens. It never changes the schema unless `--migrate`
is given: with migrations pending it stops with a message saying how to apply them.

Sign-in: on the embedded database (no DATABASE_URL: one user's own machine) it also prints a sign-in link
with a new 12-hour supervisor token, `sign in: http://H:P/#token=...`; against a shared database only when asked
(`--sign-in`), since a server's stdout often ends up in a log others read. `--no-sign-in` never prints one.
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


async def serve(settings: Settings, url: str, host: str, port: int, *, migrate: bool,
                sign_in: bool = False) -> int:
    from aiohttp import web

    from service.adapters import postgres
    from service.adapters.migrate import migrate as run_migrations
    from service.bootstrap import bootstrap
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

    parts = bootstrap(settings, database_url=url)
    pool = await parts.connections.open_pool(apply_migrations=False)  # applied (or refused) just above
    runner = web.AppRunner(create_api_app(parts), access_log=None)
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
        if sign_in:
            await print_sign_in(pool, host, bound)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        return 0
    finally:
        await asyncio.wait_for(runner.cleanup(), timeout=10)
        await parts.connections.close_pool()


async def print_sign_in(pool, host: str, port: int) -> None:
    """Create a short-lived supervisor token and print the link that signs the page in with it."""
    import getpass

    from service.adapters.tokens import TokenInputError, create_sign_in, sign_in_lines, sign_in_url, validate_name

    try:
        user: str | None = validate_name("user", getpass.getuser())
    except (TokenInputError, OSError, KeyError):
        user = None  # an unusual login name: the token is the team's alone
    info, token = await create_sign_in(pool, user=user)
    for line in sign_in_lines(info, sign_in_url(host, port, token)):
        typer.echo(line)


def register(app: typer.Typer) -> None:
    @app.command()
    def api(
        host: str = typer.Option(None, "--host", help="Interface to listen on (default DENIALS_API_HOST)."),
        port: int = typer.Option(None, "--port", min=0, max=65535, help="Port (default DENIALS_API_PORT)."),
        migrate: bool = typer.Option(False, "--migrate", help="Apply pending migrations first."),
        sign_in: bool | None = typer.Option(None, "--sign-in/--no-sign-in",
                                            help="Print a sign-in link with a new 12-hour supervisor token (default: "
                                                 "only on the embedded database, not with DATABASE_URL)."),
    ) -> None:
        """Serve the work-queue API (with /health and /ready) against DATABASE_URL or the embedded server."""
        from service import logs
        from service.entrypoints.commands.database import database_url_or_exit, run_or_exit

        settings = get_settings()
        logs.configure(settings.log_level, settings.log_format)
        url = database_url_or_exit(settings)
        from service.entrypoints.commands.worker import check_identifier_keys

        check_identifier_keys()
        if sign_in is None:
            sign_in = not settings.database_url  # the embedded database is one user's own
        code = run_or_exit(serve(settings, url, host or settings.api_host,
                                 settings.api_port if port is None else port, migrate=migrate, sign_in=sign_in))
        if code:
            raise typer.Exit(code)
