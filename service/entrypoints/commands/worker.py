"""`denials worker`: the agents, the outbox relay and the HTTP server, against the configured Kafka and PostgreSQL."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

import typer

from service.config import get_settings

if TYPE_CHECKING:
    from service.bootstrap import Parts


def build_worker(parts: Parts, *, with_web: bool | None = None):
    """Wire the worker over the parts service.bootstrap built: the stream runtime, the faust app, the web server."""
    import faust

    from agents.app import create_app
    from agents.runtime import Runtime
    from agents.x12 import x12_decoders
    from service.entrypoints.server import WebServer

    settings = parts.settings
    (settings.data_dir / "faust").mkdir(parents=True, exist_ok=True)
    runtime = Runtime(parts, run_relay=settings.relay_in_worker)
    app = create_app(settings, runtime, parts.connections.bootstrap_servers, extra_decoders=x12_decoders(settings))
    services: list = [runtime]
    if settings.api_enabled if with_web is None else with_web:
        services.append(WebServer(parts, runtime, settings.api_host, settings.api_port))

    class DenialsWorker(faust.Worker):
        """On SIGTERM/SIGINT: stop taking batches, let the ones in flight finish (bounded), then stop."""

        async def _stop_on_signal(self, sig: signal.Signals) -> None:
            drained = await runtime.drain(settings.shutdown_drain_s)
            from service.logs import get_logger

            get_logger("denials.worker").info("worker.stopping", signal=sig.name, drained=drained,
                                              inflight=runtime.inflight)
            await super()._stop_on_signal(sig)

    worker = DenialsWorker(app, *services, loglevel=settings.log_level.lower(), override_logging=False,
                           quiet=True, redirect_stdouts=False)
    # faust's start-up spinner ends by writing "\b\x1b[?25h" to stdout even when stdout is a file or a pipe: the
    # next JSON log line would start with terminal escapes and no longer parse.
    worker.spinner = None
    return worker, runtime, app


def check_identifier_keys() -> None:
    """A malformed DENIALS_PHI_KEY stops the worker at start (exit 2), not at its first batch."""
    from service.adapters.identifiers import default_vault
    from service.errors import ConfigurationError

    try:
        default_vault()
    except ConfigurationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def register(app: typer.Typer) -> None:
    @app.command()
    def worker(
        no_api: bool = typer.Option(False, "--no-api", help="Do not serve the HTTP API (health endpoints too)."),
    ) -> None:
        """Run the stream agents, the outbox relay and the API against KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL."""
        from service import gc_tuning, logs
        from service.entrypoints.commands.database import database_url_or_exit, probe_database

        settings = get_settings()
        logs.configure(settings.log_level, settings.log_format)
        if not settings.kafka_bootstrap_servers:
            typer.echo("error: KAFKA_BOOTSTRAP_SERVERS is not set (host:port of the Kafka brokers). "
                       "`denials demo` starts a local broker for you.", err=True)
            raise typer.Exit(2)
        database_url = database_url_or_exit(settings)
        probe_database(database_url, settings)  # no such database or role: one sentence now, not retries forever
        check_identifier_keys()
        from service.bootstrap import bootstrap

        parts = bootstrap(settings, database_url=database_url, bootstrap_servers=settings.kafka_bootstrap_servers)
        w, _, _ = build_worker(parts, with_web=False if no_api else None)
        gc_tuning.tune(settings.gc_threshold)  # after the wiring: everything loaded so far lives as long as we do
        w.execute_from_commandline()
