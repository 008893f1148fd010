"""`denials deadletters list|show|replay|resolve`: operate on the records the worker could not process.

    denials deadletters list [--since T] [--reason R] [--status S] [--limit N] [--json]
    denials deadletters show ID [--value] [--json]
    denials deadletters replay ID... | --all [--reason R] [--since T]   [--json]
    denials deadletters resolve ID [--note TEXT] [--json]

ID is the row number or the `dl-...` id that `list` prints. T is an ISO date or date-time (UTC when it has no offset)
or an age: `90m`, `12h`, `7d`. R matches the error class exactly (`not_json`, `schema_violation`, `oversize`,
`not_utf8`, `processing_error`, ...) or any part of the reason text.

`replay` re-publishes each letter to its source topic with its original key and bytes and marks it `replayed`
(`replayed_at`, how many times, where it went). The worker's inbox makes a replay idempotent: an event that was
applied meanwhile changes nothing; a record that is still bad, unchanged, adds no second letter (nor copy of its
bytes): its letter counts one more attempt, takes the latest reason and is `new` again. Of an oversize value only a
prefix is stored (with the whole value's size and digest); replay reads the whole value back from the input topic,
checks its digest, and says so when retention has removed it. `resolve` marks a letter handled without replaying
it. Nothing is ever deleted.

Keys and record values can hold PHI (claim ids, patient data): `list` never prints them, `show` only with `--value`.
Exit codes: 0 done, 1 not found or a server unreachable, 2 bad usage. Needs DATABASE_URL (or the embedded database)
and, for `replay`, KAFKA_BOOTSTRAP_SERVERS.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer

from service.config import get_settings
from service.entrypoints.commands.database import fail, with_connection

T = TypeVar("T")

deadletters_app = typer.Typer(help="Dead letters: list, show, replay to the source topic, resolve. Never deleted.",
                              no_args_is_help=True)

REPLAY_HEADER = "denials-replay-of"
_AGE = re.compile(r"^(\d+)([mhd])$")


def parse_since(text: str | None, *, now: dt.datetime | None = None) -> dt.datetime | None:
    """`--since`: an ISO date or date-time (UTC unless it says otherwise) or an age such as 90m, 12h, 7d."""
    if text is None:
        return None
    text = text.strip()
    age = _AGE.match(text)
    if age:
        unit = {"m": "minutes", "h": "hours", "d": "days"}[age.group(2)]
        return (now or dt.datetime.now(dt.UTC)) - dt.timedelta(**{unit: int(age.group(1))})
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise fail(f"--since {text!r}: expected an ISO date or date-time (2026-03-01, 2026-03-01T08:00Z) "
                    "or an age (90m, 12h, 7d)", 2) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _with_connection(work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work(conn)` on one connection to the configured (or embedded) database."""
    return with_connection(
        work, schema_check="SELECT count(*) = 1 FROM information_schema.columns "
                           "WHERE table_name = 'dead_letters' AND column_name = 'value_digest'",
        missing="dead-letter digest columns")


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def summary(row) -> dict[str, Any]:
    """Everything about a letter except its key and value (PHI)."""
    return {
        "id": row.id, "dead_letter_id": row.dead_letter_id, "created_at": _iso(row.created_at),
        "source_topic": row.source_topic, "source_partition": row.source_partition,
        "source_offset": row.source_offset, "source_event_id": row.source_event_id,
        "error_class": row.error_class, "reason": row.reason, "attempts": row.attempts,
        "first_failed_at": _iso(row.first_failed_at), "status": row.status, "replayed_at": _iso(row.replayed_at),
        "replay_count": row.replay_count, "replayed_partition": row.replayed_partition,
        "replayed_offset": row.replayed_offset, "resolved_at": _iso(row.resolved_at), "note": row.note,
        "value_size": row.value_size, "value_digest": row.value_digest, "value_truncated": row.value_truncated,
        "detail": row.detail,
    }


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def render_table(rows: list[dict[str, Any]], columns: list[tuple[str, str, int]]) -> str:
    """A plain fixed-width table: (header, key, max width) per column."""
    cells = [[_clip("" if r.get(key) is None else str(r[key]), width) for _, key, width in columns] for r in rows]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, (h, _, _) in enumerate(columns)]
    lines = ["  ".join(h.ljust(w) for (h, _, _), w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)).rstrip() for cell in cells]
    return "\n".join(lines)


LIST_COLUMNS = [("ID", "id", 8), ("DEAD LETTER", "dead_letter_id", 35), ("CREATED (UTC)", "created", 19),
                ("SOURCE", "source", 48), ("CLASS", "error_class", 18), ("STATUS", "status", 8),
                ("REPLAYS", "replay_count", 7), ("REASON", "reason", 70)]


def _list_row(s: dict[str, Any]) -> dict[str, Any]:
    return {**s, "created": (s["created_at"] or "")[:19].replace("T", " "),
            "source": f"{s['source_topic']}[{s['source_partition']}]@{s['source_offset']}"}


def _check_idents(idents: list[str]) -> None:
    for ident in idents:
        if not (ident.isdigit() and len(ident) < 19) and not re.fullmatch(r"dl-[0-9a-f]{32}", ident):
            raise fail(f"{ident!r} is not a dead-letter id: give the row number or the dl-... id from `list`", 2)


@deadletters_app.command("list")
def list_command(
    since: str | None = typer.Option(None, "--since", help="Created at or after: ISO date/date-time, or 90m/12h/7d."),
    reason: str | None = typer.Option(None, "--reason", help="Error class, or any part of the reason text."),
    status: str | None = typer.Option(None, "--status", help="new, replayed or resolved."),
    limit: int = typer.Option(100, "--limit", min=1, help="At most this many (the newest), oldest first."),
    as_json: bool = typer.Option(False, "--json", help="JSON for machines."),
) -> None:
    """The dead letters, oldest first (never their keys or values)."""
    from service.adapters import deadletters as store

    if status is not None and status not in store.STATUSES:
        raise fail(f"--status {status!r}: expected one of {', '.join(store.STATUSES)}", 2)
    since_at = parse_since(since)

    async def work(conn):
        rows = await store.list_letters(conn, since=since_at, reason=reason, status=status, limit=limit)
        return rows, await store.count_letters(conn, since=since_at, reason=reason, status=status)

    rows, total = _with_connection(work)
    items = [summary(r) for r in rows]
    if as_json:
        typer.echo(json.dumps({"total": total, "dead_letters": items}, indent=2))
        return
    if not items:
        typer.echo("no dead letters match")
        return
    typer.echo(render_table([_list_row(s) for s in items], LIST_COLUMNS))
    more = f" (the newest {len(items)} shown; use --limit)" if total > len(items) else ""
    typer.echo(f"{total} dead letter(s){more}")


@deadletters_app.command("show")
def show_command(
    ident: str = typer.Argument(..., help="Row number or dl-... id."),
    value: bool = typer.Option(False, "--value", help="Also print the original key and bytes (may contain PHI)."),
    as_json: bool = typer.Option(False, "--json", help="JSON for machines."),
) -> None:
    """One dead letter in full; its key and original bytes only with --value."""
    from service.adapters import deadletters as store

    _check_idents([ident])
    rows = _with_connection(lambda conn: store.get_letters(conn, [ident]))
    if not rows:
        raise fail(f"no dead letter {ident}", 1)
    row = rows[0]
    item = summary(row)
    if value:
        item["key_b64"] = base64.b64encode(row.key).decode() if row.key is not None else None
        item["value_b64"] = base64.b64encode(row.value).decode() if row.value is not None else None
        try:
            item["value_text"] = row.value.decode("utf-8") if row.value is not None else None
        except UnicodeDecodeError:
            item["value_text"] = None  # not UTF-8: see value_b64
    if as_json:
        typer.echo(json.dumps(item, indent=2))
        return
    width = max(len(k) for k in item)
    for key, val in item.items():
        if key in ("value_text", "value_b64") and val is not None and len(val) > 4000:
            val = val[:4000] + f"… ({len(val)} characters; use --json for all)"
        typer.echo(f"{key.ljust(width)}  {'' if val is None else val}")


@deadletters_app.command("replay")
def replay_command(
    idents: list[str] | None = typer.Argument(None, help="Row numbers or dl-... ids to replay."),
    replay_all: bool = typer.Option(False, "--all", help="Every letter still new (narrow it with --reason/--since)."),
    reason: str | None = typer.Option(None, "--reason", help="With --all: error class, or part of the reason."),
    since: str | None = typer.Option(None, "--since", help="With --all: created at or after this time."),
    as_json: bool = typer.Option(False, "--json", help="JSON for machines."),
) -> None:
    """Re-publish letters to their source topic with the original key and bytes; mark them replayed."""
    from service.adapters import deadletters as store

    idents = list(idents or [])
    if bool(idents) == replay_all:
        raise fail("name the letters to replay (ID...) or pass --all [--reason R], not both", 2)
    if idents and (reason or since):
        raise fail("--reason and --since select letters for --all; they cannot be combined with IDs", 2)
    _check_idents(idents)
    since_at = parse_since(since)
    settings = get_settings()
    bootstrap = settings.kafka_bootstrap_servers
    if not bootstrap:
        raise fail("KAFKA_BOOTSTRAP_SERVERS is not set (host:port of the Kafka brokers to replay to)", 2)

    async def work(conn):
        from service.adapters.kafka import producer

        if replay_all:
            letters = await store.replayable(conn, reason=reason, since=since_at)
        else:
            letters = await store.get_letters(conn, idents)
            found = {str(r.id) for r in letters} | {r.dead_letter_id for r in letters}
            missing = [i for i in idents if i not in found]
            if missing:
                raise fail(f"no dead letter {', '.join(missing)} (nothing replayed)", 1)
        skipped = [r for r in letters if r.status == "resolved"]
        letters = [r for r in letters if r.status != "resolved"]
        done: list[dict[str, Any]] = []
        unavailable: list[dict[str, Any]] = []
        if not letters:
            return done, skipped, unavailable
        largest = max(r.value_size for r in letters)
        try:
            async with producer(bootstrap, max_request_size=max(1_048_576, largest + 65_536)) as prod:
                for row in letters:
                    value = await _whole_value(row, bootstrap)
                    if value is None:
                        unavailable.append({"id": row.id, "dead_letter_id": row.dead_letter_id,
                                            "reason": f"only a prefix is stored and {row.source_topic} partition "
                                                      f"{row.source_partition} no longer holds offset "
                                                      f"{row.source_offset} with the same bytes"})
                        continue
                    future = await prod.send(row.source_topic, key=row.key, value=value,
                                             headers=[(REPLAY_HEADER, row.dead_letter_id.encode())])
                    meta = await asyncio.wait_for(future, timeout=30)
                    await store.mark_replayed(conn, row.id, partition=meta.partition, offset=meta.offset)
                    done.append({"id": row.id, "dead_letter_id": row.dead_letter_id, "topic": row.source_topic,
                                 "partition": meta.partition, "offset": meta.offset,
                                 "replay_count": row.replay_count + 1})
        except Exception as exc:  # noqa: BLE001 - the broker: report what was done before it failed
            if done:
                typer.echo(f"replayed {len(done)} before the failure", err=True)
            raise fail(f"cannot publish to the broker at {bootstrap} ({type(exc).__name__})", 1) from None
        return done, skipped, unavailable

    done, skipped, unavailable = _with_connection(work)
    if as_json:
        typer.echo(json.dumps({"replayed": done, "skipped_resolved": [summary(r) for r in skipped],
                               "skipped_unavailable": unavailable}, indent=2))
        if unavailable:
            raise typer.Exit(1)
        return
    for row in skipped:
        typer.echo(f"skipped {row.id} ({row.dead_letter_id}): resolved")
    for item in unavailable:
        typer.echo(f"error: not replayed {item['id']} ({item['dead_letter_id']}): {item['reason']}", err=True)
    if done:
        typer.echo(render_table(
            [{**d, "to": f"{d['topic']}[{d['partition']}]@{d['offset']}"} for d in done],
            [("ID", "id", 8), ("DEAD LETTER", "dead_letter_id", 35), ("REPLAYED TO", "to", 60),
             ("REPLAYS", "replay_count", 7)]))
    typer.echo(f"replayed {len(done)} dead letter(s)")
    if unavailable:
        raise typer.Exit(1)


async def _whole_value(row, bootstrap: str) -> bytes | None:
    """The letter's original bytes: stored whole, or (an oversize value, of which only a prefix is stored) read back
    from the input topic and checked against the stored digest."""
    if not row.value_truncated:
        return row.value
    from service.adapters.kafka import read_record
    from topics.codec import value_digest

    value = await read_record(bootstrap, row.source_topic, row.source_partition, row.source_offset,
                              max_bytes=row.value_size)
    return value if value is not None and value_digest(value) == row.value_digest else None


@deadletters_app.command("resolve")
def resolve_command(
    ident: str = typer.Argument(..., help="Row number or dl-... id."),
    note: str | None = typer.Option(None, "--note", help="Why it needs no replay (kept with the letter)."),
    as_json: bool = typer.Option(False, "--json", help="JSON for machines."),
) -> None:
    """Mark a letter handled without replaying it (it stays in the table)."""
    from service.adapters import deadletters as store

    _check_idents([ident])
    row = _with_connection(lambda conn: store.resolve(conn, ident, note=note))
    if row is None:
        raise fail(f"no dead letter {ident}", 1)
    if as_json:
        typer.echo(json.dumps(summary(row), indent=2))
        return
    typer.echo(f"resolved {row.id} ({row.dead_letter_id})" + (f": {row.note}" if row.note else ""))


def register(app: typer.Typer) -> None:
    app.add_typer(deadletters_app, name="deadletters")
