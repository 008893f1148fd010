"""`denials tokens create|list|revoke`: bearer tokens for the work-queue API.

`create` prints the bare token alone on its last line of stdout, once: only its SHA-256 is stored. Team tokens see
their queues; `--supervisor` tokens see every queue. Without DATABASE_URL the embedded PostgreSQL is used.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer

from service.entrypoints.commands.database import fail, with_connection

T = TypeVar("T")

tokens_app = typer.Typer(help="API bearer tokens: create (shown once), list, revoke.", no_args_is_help=True)




def _with_store(work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work(TokenStore)` on one connection to the configured (or embedded) database."""
    from service.adapters.tokens import TokenStore

    return with_connection(lambda conn: work(TokenStore(conn)),
                           schema_check="SELECT to_regclass('api_tokens') IS NOT NULL", missing="api_tokens table")


@tokens_app.command("create")
def create(
    team: str = typer.Option(..., "--team", help="The team the token acts for (letters, digits, . _ -)."),
    queues: str = typer.Option("", "--queues", help="Comma-separated queues the token sees, e.g. appeals,coding."),
    supervisor: bool = typer.Option(False, "--supervisor", help="See and act on every queue."),
    user: str | None = typer.Option(None, "--user", help="A person within the team (audit rows name team/user)."),
) -> None:
    """Create a token; its bare value is printed once, alone on the last line."""
    from service.adapters.tokens import TokenInputError, parse_queues, validate_name

    try:
        validate_name("--team", team)
        if user is not None:
            validate_name("--user", user)
        names = parse_queues(queues)
        if not names and not supervisor:
            raise TokenInputError("--queues: name at least one queue (or pass --supervisor)")
    except TokenInputError as exc:
        raise fail(str(exc), 2) from None
    info, token = _with_store(lambda store: store.create(team=team, queues=names, supervisor=supervisor, user=user))
    scope = "every queue (supervisor)" if info.supervisor else "queues " + ", ".join(info.queues)
    typer.echo(f"created token {info.id} for {info.scope().actor}: {scope}")
    typer.echo("store it now: it is shown only this once and kept only as a hash")
    typer.echo(token)


@tokens_app.command("list")
def list_tokens(as_json: bool = typer.Option(False, "--json", help="One JSON object per line.")) -> None:
    """Every token's id, prefix, scope and use (never the token itself)."""
    infos = _with_store(lambda store: store.list())
    if as_json:
        for i in infos:
            typer.echo(json.dumps({"id": i.id, "prefix": i.prefix, "team": i.team, "user": i.user,
                                   "queues": list(i.queues), "supervisor": i.supervisor,
                                   "created_at": i.created_at.isoformat(),
                                   "last_used_at": i.last_used_at.isoformat() if i.last_used_at else None,
                                   "revoked_at": i.revoked_at.isoformat() if i.revoked_at else None}))
        return
    if not infos:
        typer.echo("no tokens")
        return
    typer.echo(f"{'id':>4}  {'prefix':<12} {'actor':<28} {'scope':<40} {'last used':<20} revoked")
    for i in infos:
        scope = "supervisor (all queues)" if i.supervisor else ",".join(i.queues)
        used = i.last_used_at.strftime("%Y-%m-%d %H:%M") if i.last_used_at else "-"
        revoked = i.revoked_at.strftime("%Y-%m-%d %H:%M") if i.revoked_at else "-"
        typer.echo(f"{i.id:>4}  {i.prefix + '…':<12} {i.scope().actor:<28} {scope:<40} {used:<20} {revoked}")


@tokens_app.command("revoke")
def revoke(token_id: int = typer.Argument(..., metavar="ID", help="The id `denials tokens list` shows.")) -> None:
    """Revoke a token: requests with it get 401 from now on."""
    info = _with_store(lambda store: store.revoke(token_id))
    if info is None:
        raise fail(f"no token with id {token_id}", 1)
    typer.echo(f"revoked token {info.id} ({info.scope().actor}) at {info.revoked_at.isoformat()}")


def register(app: typer.Typer) -> None:
    app.add_typer(tokens_app, name="tokens")
