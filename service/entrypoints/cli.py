"""The `denials` command. Each sub-command lives in its own module and registers itself here."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="denials",
    help="Denial management for pain-management billing: classify denials, open appeal tasks, emit follow-ups.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Modules that define `register(app)`; each adds its own commands.
COMMAND_MODULES = (
    "service.entrypoints.commands.migrate",
    "service.entrypoints.commands.worker",
    "service.entrypoints.commands.relay",
    "service.entrypoints.commands.ingest",
    "service.entrypoints.commands.classify",
    "service.entrypoints.commands.rules",
    "service.entrypoints.commands.api",
    "service.entrypoints.commands.tokens",
    "service.entrypoints.commands.identifiers",
    "service.entrypoints.commands.demo",
    "service.entrypoints.commands.deadletters",
    "service.entrypoints.commands.fees",
    "service.entrypoints.commands.report",
    "service.entrypoints.commands.check",
    "service.entrypoints.commands.ncci",
    "service.entrypoints.commands.auths",
    "service.entrypoints.commands.prevention",
)

for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
