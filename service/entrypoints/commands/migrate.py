"""`denials migrate`: apply the SQL migrations (also done at worker start)."""

from __future__ import annotations

import asyncio

import typer

from service.config import get_settings


def register(app: typer.Typer) -> None:
    @app.command()
    def migrate() -> None:
        """Apply pending database migrations (DATABASE_URL, or the embedded server when unset)."""
        from service.adapters import postgres
        from service.adapters.migrate import migrate as run_migrations

        settings = get_settings()
        url = postgres.resolve_database_url(settings)

        async def go() -> list[str]:
            conn = await postgres.connect(url, settings)
            try:
                return await run_migrations(conn)
            finally:
                await conn.close()

        try:
            applied = asyncio.run(go())
        except (OSError, TimeoutError) as exc:  # lost while migrating (connecting raises the service's own errors)
            typer.echo(f"error: lost {postgres.target_of(url).where()} while migrating ({type(exc).__name__})",
                       err=True)
            raise typer.Exit(1) from None
        typer.echo(f"applied: {', '.join(applied)}" if applied else "up to date")
