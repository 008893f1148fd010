"""The `denials` command. Each sub-command lives in its own module and registers itself here."""

from __future__ import annotations

import importlib

import typer

from service.entrypoints import help_text

help_text.install()

app = typer.Typer(
    name="denials",
    help="Denial management for pain-management billing: classify denials, open appeal tasks, emit follow-ups.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Markdown joins a docstring's wrapped lines into one paragraph (the "rich" mode keeps every line break).
    rich_markup_mode="markdown",
)

# Modules that define `register(app)`; each adds its own commands.
COMMAND_MODULES = (
    "service.entrypoints.commands.migrate",
    "service.entrypoints.commands.worker",
    "service.entrypoints.commands.relay",
    "service.entrypoints.commands.outbox",
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


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        from service.domain.ruledata import RuleFiles

        try:
            package = version("denials")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree without an install
            package = "unknown"
        typer.echo(f"denials {package} (rules {RuleFiles().version()})")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", help="Also show the libraries' own log lines (the embedded "
                                                          "database's start-up, the broker client's)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and the rules version, then exit."),
) -> None:
    """Denial management for pain-management billing: classify denials, open appeal tasks, emit follow-ups."""
    from service import logs

    logs.show_third_party(verbose)
    _use_configured_rules()


def _use_configured_rules() -> None:
    """Every command reads the rule tables from one directory, chosen once here before any table is read."""
    from pydantic import ValidationError

    from service.config import get_settings
    from service.domain.ruledata import RuleDataError, use_rules_dir

    try:
        rules_dir = get_settings().rules_dir
    except ValidationError:
        return  # the command itself reports a settings mistake, in its own words
    if rules_dir is None:
        return
    try:
        use_rules_dir(rules_dir)
        # An edited copy is read whole now, so a mistake in it stops every command here in one sentence.
        from service.domain.classification import load_classifier

        load_classifier()
    except RuleDataError as exc:
        typer.echo(f"denials: DENIALS_RULES_DIR {exc}", err=True)
        raise typer.Exit(2) from None


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    """The console script. A server that cannot be reached or a configuration mistake (DATABASE_URL,
    KAFKA_BOOTSTRAP_SERVERS) that no command caught on its own ends here: one sentence on stderr, a non-zero exit
    (1: a server unreachable or refusing, 2: configuration), never a traceback."""
    from pydantic import ValidationError

    from service.errors import ConfigurationError, TransientError

    try:
        app()
    except (TransientError, ConfigurationError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(getattr(exc, "exit_code", 1)) from None
    except ValidationError as exc:  # the settings (environment variables); never echo the value (a secret?)
        typer.echo(f"error: {settings_error(exc)}", err=True)
        raise SystemExit(2) from None


def settings_error(exc) -> str:
    """One sentence for an environment variable the settings reject: its name and the rule, never its value."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    first = errors[0] if errors else {"loc": (), "msg": "invalid"}
    name = ".".join(str(p) for p in first["loc"]).upper() or "the configuration"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{name}: {first['msg'].removeprefix('Value error, ')}{more}"


if __name__ == "__main__":  # pragma: no cover
    main()
