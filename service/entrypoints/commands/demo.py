"""`denials demo`: the whole service on one machine, on a synthetic pain-clinic stream, with one command."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    from service.demo.stream import DEFAULT_CLAIMS, DEFAULT_SEED

    @app.command()
    def demo(
        claims: int = typer.Option(DEFAULT_CLAIMS, "--claims", min=1, max=100_000,
                                   help="How many claims the synthetic stream holds."),
        seed: int = typer.Option(DEFAULT_SEED, "--seed", help="Same seed, same stream content (and counts)."),
        no_serve: bool = typer.Option(False, "--no-serve", help="Exit after the summary instead of serving."),
        as_json: bool = typer.Option(False, "--json", help="Also print the summary as one JSON object on the last "
                                                           "line of stdout."),
    ) -> None:
        """Run the whole pipeline on a synthetic pain-clinic stream and print a summary.

        Uses DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS when set; otherwise the embedded PostgreSQL in the user
        data directory and a local Kafka-protocol broker. Keeps serving until Ctrl-C unless --no-serve.
        """
        from service.demo.runner import DemoOptions, main

        raise typer.Exit(main(DemoOptions(claims=claims, seed=seed, serve=not no_serve, json=as_json)))
