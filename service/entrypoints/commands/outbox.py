"""`denials outbox republish --since TIMESTAMP [--topic T]`: publish again what the outbox relay already published.

The operator's tool after a broker lost data it had acknowledged (the local broker restarted empty; a cluster
restored from an older state). Rows written at or after TIMESTAMP go back into the relay's queue; the relay (in
`denials worker`, or `denials relay`) publishes them in outbox order, under the same rule as always: a row counts as
published only when the broker acknowledged it for a topic that exists. Consumers dedupe by event_id, so records the
broker still has do no harm. Published rows are kept DENIALS_OUTBOX_RETENTION_H hours (a week by default).
"""

from __future__ import annotations

import datetime as dt

import typer

from service.entrypoints.commands.database import fail, with_connection

outbox_app = typer.Typer(help="The transactional outbox: publish again what the broker lost.", no_args_is_help=True)


def parse_since(text: str) -> dt.datetime:
    """An ISO 8601 date or date-time; without a zone it is UTC. ValueError when it is neither."""
    value = text.strip()
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith(("Z", "z")) else value)
    except ValueError:
        raise ValueError(f"--since: {text!r} is not an ISO 8601 date or time (e.g. 2026-03-02 or "
                         "2026-03-02T14:00:00Z)") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


@outbox_app.command("republish")
def republish(
    since: str = typer.Option(..., "--since", metavar="TIMESTAMP",
                              help="Rows written at or after this ISO 8601 time (UTC unless it names a zone)."),
    topic: str | None = typer.Option(None, "--topic", metavar="TOPIC", help="Only rows for this output topic."),
) -> None:
    """Queue published outbox rows again for the relay; prints how many rows per topic."""
    from service.adapters.relay import requeue_published
    from topics.catalogue import CATALOGUE, OUTPUT_TOPICS

    try:
        start = parse_since(since)
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    if topic is not None and (topic not in CATALOGUE or CATALOGUE[topic].direction != "out"):
        raise fail(f"--topic: {topic!r} is not an output topic (one of {', '.join(OUTPUT_TOPICS)})", 2)

    counts = with_connection(lambda conn: requeue_published(conn, start, topic),
                             schema_check="SELECT to_regclass('outbox_pending') IS NOT NULL", missing="outbox")
    for name, n in counts.items():
        typer.echo(f"{name}\t{n}")
    total = sum(counts.values())
    typer.echo(f"queued {total} published row{'s' if total != 1 else ''} written since {start.isoformat()} for "
               "re-publishing; the outbox relay (`denials worker` or `denials relay`) publishes them", err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(outbox_app, name="outbox")
