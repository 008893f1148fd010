"""`denials tokens create|list|revoke`: bearer tokens for the work-queue API.

`create` prints the bare token alone on its last line of stdout, once: only its SHA-256 is stored. Team tokens see
their queues; `--supervisor` tokens see every queue. A token expires after `--expires-in` (default 90 days) unless
`--no-expiry` says it never does. Without DATABASE_URL the embedded PostgreSQL is used.
"""

from __future__ import annotations

import datetime as dt
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
    expires_in: str | None = typer.Option(None, "--expires-in", metavar="DURATION",
                                          help="Lifetime: a number and m, h, d or w, e.g. 12h, 30d (default 90d)."),
    no_expiry: bool = typer.Option(False, "--no-expiry", help="The token never expires (revoke it to end it)."),
) -> None:
    """Create a token; its bare value is printed once, alone on the last line."""
    from service.adapters.tokens import (
        DEFAULT_LIFETIME,
        TokenInputError,
        parse_lifetime,
        parse_queues,
        validate_name,
    )

    try:
        if no_expiry and expires_in is not None:
            raise TokenInputError("--expires-in and --no-expiry contradict each other: give one")
        lifetime = None if no_expiry else parse_lifetime(expires_in or DEFAULT_LIFETIME)
        validate_name("--team", team)
        if user is not None:
            validate_name("--user", user)
        names = parse_queues(queues)
        if not names and not supervisor:
            raise TokenInputError("--queues: name at least one queue (or pass --supervisor)")
    except TokenInputError as exc:
        raise fail(str(exc), 2) from None
    info, token = _with_store(lambda store: store.create(team=team, queues=names, supervisor=supervisor, user=user,
                                                         expires_in=lifetime))
    scope = "every queue (supervisor)" if info.supervisor else "queues " + ", ".join(info.queues)
    until = f"expires {_when(info.expires_at)}" if info.expires_at else "never expires"
    typer.echo(f"created token {info.id} for {info.scope().actor}: {scope}; {until}")
    typer.echo("store it now: it is shown only this once and kept only as a hash")
    typer.echo(token)


@tokens_app.command("list")
def list_tokens(as_json: bool = typer.Option(False, "--json", help="One JSON object per line.")) -> None:
    """Every token's id, prefix, scope and use (never the token itself)."""
    infos = _with_store(lambda store: store.list())
    now = dt.datetime.now(dt.UTC)
    if as_json:
        for i in infos:
            typer.echo(json.dumps({"id": i.id, "prefix": i.prefix, "team": i.team, "user": i.user,
                                   "queues": list(i.queues), "supervisor": i.supervisor,
                                   "created_at": i.created_at.isoformat(),
                                   "last_used_at": i.last_used_at.isoformat() if i.last_used_at else None,
                                   "revoked_at": i.revoked_at.isoformat() if i.revoked_at else None,
                                   "expires_at": i.expires_at.isoformat() if i.expires_at else None,
                                   "status": i.status(now)}))
        return
    if not infos:
        typer.echo("no tokens")
        return
    typer.echo(f"{'id':>4}  {'prefix':<12} {'actor':<24} {'scope':<32} {'status':<8} {'expires':<17} "
               f"{'last used':<17} revoked")
    for i in infos:
        scope = "supervisor (all queues)" if i.supervisor else ",".join(i.queues)
        expires = _when(i.expires_at) if i.expires_at else "never"
        typer.echo(f"{i.id:>4}  {i.prefix + '…':<12} {i.scope().actor:<24} {scope:<32} {i.status(now):<8} "
                   f"{expires:<17} {_when(i.last_used_at):<17} {_when(i.revoked_at)}")


def _when(at: dt.datetime | None) -> str:
    """A UTC minute (`2026-03-02 14:05Z`), or '-'."""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%MZ") if at else "-"


@tokens_app.command("revoke")
def revoke(token_id: int = typer.Argument(..., metavar="ID", help="The id `denials tokens list` shows.")) -> None:
    """Revoke a token: requests with it get 401 (`the token was revoked`) from now on."""
    info = _with_store(lambda store: store.revoke(token_id))
    if info is None:
        raise fail(f"no token with id {token_id}", 1)
    typer.echo(f"revoked token {info.id} ({info.scope().actor}) at {info.revoked_at.isoformat()}")


def register(app: typer.Typer) -> None:
    app.add_typer(tokens_app, name="tokens")
