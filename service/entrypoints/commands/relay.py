"""`denials relay`: publish the outbox in a process of its own.

The worker runs the relay itself by default. On a busy host, `DENIALS_RELAY_IN_WORKER=false` on the workers and one
or more `denials relay` processes move the publishing (about a tenth of a worker's CPU) off the workers' cores. Only
one relay publishes at a time whichever process it is in (a PostgreSQL advisory lock); the others stand by.
"""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING

import typer

from service.config import get_settings

if TYPE_CHECKING:
    from service.bootstrap import Parts


async def run_relay(parts: Parts) -> int:
    from service.adapters import postgres
    from service.adapters.faust_compat import disable_topic_auto_creation
    from service.adapters.relay import OutboxRelay
    from service.adapters.startup import retry_until_up
    from service.entrypoints.commands.api import pending_migrations
    from service.logs import get_logger

    log = get_logger("denials.relay")
    settings, url = parts.settings, parts.connections.database_url
    disable_topic_auto_creation()  # the relay waits for missing topics, it never creates them by producing
    conn = await postgres.connect(url, settings)
    try:
        pending = await pending_migrations(conn)
    finally:
        await conn.close()
    if pending:
        typer.echo(f"error: the database schema is missing or out of date (pending: {', '.join(pending)}); "
                   "run `denials migrate` first", err=True)
        return 2

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    # The broker may not be up yet: wait for it (with capped backoff) unless told to stop first.
    stopping = asyncio.ensure_future(stop.wait())
    starting = asyncio.ensure_future(
        retry_until_up("broker", parts.connections.open_producer, settings))
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():
        starting.cancel()
        return 0
    producer = starting.result()

    relay = OutboxRelay(settings, url, producer)
    running = asyncio.ensure_future(relay.run())
    typer.echo("relay started (publishes while it holds the relay lock)", err=True)
    try:
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        # Let the batch being published finish (acknowledged and marked sent) before the producer closes;
        # otherwise every clean stop republishes it on the next start.
        relay.stop()
        await asyncio.wait({running}, timeout=settings.shutdown_drain_s)
        if not running.done():
            running.cancel()
    finally:
        await parts.connections.close_producer()
    log.info("relay.stopped", published=relay.stats.published)
    return 0


def register(app: typer.Typer) -> None:
    @app.command()
    def relay() -> None:
        """Publish the outbox to KAFKA_BOOTSTRAP_SERVERS (for workers run with DENIALS_RELAY_IN_WORKER=false)."""
        from service import logs
        from service.entrypoints.commands.database import database_url_or_exit, fail, run_or_exit

        settings = get_settings()
        logs.configure(settings.log_level, settings.log_format)
        if not settings.kafka_bootstrap_servers:
            raise fail("KAFKA_BOOTSTRAP_SERVERS is not set (host:port of the Kafka brokers).", 2)
        url = database_url_or_exit(settings)
        from service.bootstrap import bootstrap

        parts = bootstrap(settings, database_url=url, bootstrap_servers=settings.kafka_bootstrap_servers)
        code = run_or_exit(run_relay(parts))
        if code:
            raise typer.Exit(code)
