"""`denials prevention list|enable|disable`: prevention feedback turned into pre-submission check rules.

`list` shows the recurring avoidable denial causes of the last N days (what GET /api/prevention reports, for every
queue), each with its key (payer:code:condition) and whether the check already tests it; `enable KEY` makes the
check test it on every claim of that payer and code (a rule id `prevention.<condition>`), `disable KEY` stops it.
Without DATABASE_URL the embedded PostgreSQL is used.

Exit status: 0 done, 1 PostgreSQL unreachable, 2 no such cause in the window (or no such enabled rule).
"""

from __future__ import annotations

import datetime as dt

import typer

from service.entrypoints.commands.database import with_connection

prevention_app = typer.Typer(help="Recurring avoidable denials as pre-submission check rules.", no_args_is_help=True)
SCHEMA = "SELECT to_regclass('check_prevention_rules') IS NOT NULL"


def _store(conn):
    from service.adapters.presubmission import PostgresPreventionStore

    return PostgresPreventionStore(conn)


@prevention_app.command("list")
def list_command(
    days: int = typer.Option(90, "--days", min=1, max=730, help="The window: denials of the last N days."),
    min_denials: int = typer.Option(3, "--min-denials", min=1, help="A cause is listed from this many denials."),
) -> None:
    """The recurring avoidable causes, with their keys and whether the check tests them."""
    from service.service_layer.presubmission import prevention_candidates

    async def work(conn):
        return await prevention_candidates(_store(conn), now=dt.datetime.now(dt.UTC), days=days,
                                           min_denials=min_denials)

    found = with_connection(work, schema_check=SCHEMA, missing="check tables")
    if not found:
        typer.echo(f"no recurring avoidable denial cause in the last {days} days (at least {min_denials} denials)")
        return
    for rule, enabled in found:
        typer.echo(f"{'[enabled] ' if enabled else ''}{rule.key}  {rule.text}")
        typer.echo(f"    check: {rule.check}")


@prevention_app.command("enable")
def enable_command(
    key: str = typer.Argument(..., metavar="KEY", help="payer:code:condition, as `denials prevention list` shows"),
    days: int = typer.Option(90, "--days", min=1, max=730, help="The window the cause is looked up in."),
) -> None:
    """Make the pre-submission check test a recurring cause on every claim of its payer and code."""
    from service.service_layer.presubmission import enable_prevention
    from service.service_layer.tasks_api import NotFound

    async def work(conn):
        try:
            return await enable_prevention(_store(conn), key, "cli", now=dt.datetime.now(dt.UTC), days=days)
        except NotFound as exc:
            return exc

    result = with_connection(work, schema_check=SCHEMA, missing="check tables")
    if isinstance(result, NotFound):
        typer.echo(f"error: {result.message} (see `denials prevention list`)", err=True)
        raise typer.Exit(2)
    check, added = result
    typer.echo(f"{'enabled' if added else 'already enabled (text refreshed)'}: {check.key} -> check rule "
               f"prevention.{check.condition}: {check.check}")


@prevention_app.command("disable")
def disable_command(key: str = typer.Argument(..., metavar="KEY")) -> None:
    """Stop testing a prevention rule."""
    from service.service_layer.presubmission import disable_prevention
    from service.service_layer.tasks_api import NotFound

    async def work(conn):
        try:
            await disable_prevention(_store(conn), key)
        except NotFound as exc:
            return exc
        return None

    problem = with_connection(work, schema_check=SCHEMA, missing="check tables")
    if problem is not None:
        typer.echo(f"error: {problem.message}", err=True)
        raise typer.Exit(2)
    typer.echo(f"disabled: {key}")


def register(app: typer.Typer) -> None:
    app.add_typer(prevention_app, name="prevention")
