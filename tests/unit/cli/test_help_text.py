"""`denials ... --help` reads like every other command-line tool: uppercase metavars (FILE, PATH, N), nothing beside a
flag, no braces in usage lines; `denials --version` names the package and the rules. The Typer internals that
service/entrypoints/help_text.py replaces are pinned here, so a Typer release that moves them fails this test."""

from __future__ import annotations

import re

import click
import pytest
import typer
from typer import core
from typer.main import get_command
from typer.testing import CliRunner

from service.domain.ruledata import RuleFiles
from service.entrypoints.cli import app

RAW_TYPE = re.compile(r"<(bool|str|int|float|path|list\[[^\]]*\]|datetime)>")


def _commands(group, path: tuple[str, ...] = ()):
    yield path
    if hasattr(group, "list_commands"):  # a group (Typer bundles its own click: no isinstance check)
        ctx = click.Context(group)
        for name in group.list_commands(ctx):
            yield from _commands(group.get_command(ctx, name), (*path, name))


COMMANDS = list(_commands(get_command(app)))


def test_the_typer_internals_help_text_replaces_are_where_it_expects():
    assert typer.__version__.startswith("0.29."), "help_text.py was written against Typer 0.29: re-check it"
    for cls, name in ((core.TyperOption, "display_type_rich"), (core.TyperArgument, "display_type_rich"),
                      (core.TyperArgument, "_usage_display_name"), (core.TyperArgument, "_rich_display_name"),
                      (core._TyperParameter, "display_type")):
        assert callable(getattr(cls, name, None)), f"{cls.__name__}.{name} is gone: re-check help_text.py"


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "denials")
def test_every_help_page_uses_plain_metavars_and_no_braces(path):
    result = CliRunner().invoke(app, [*path, "--help"], terminal_width=120)
    assert result.exit_code == 0, result.output
    assert not RAW_TYPE.search(result.output), result.output
    usage = next(line for line in result.output.splitlines() if "Usage:" in line)
    assert "{" not in usage and "}" not in usage, usage


def test_ingest_help_says_file_and_classify_says_date():
    ingest = CliRunner().invoke(app, ["ingest", "--help"], terminal_width=120).output
    classify = CliRunner().invoke(app, ["classify", "--help"], terminal_width=120).output
    assert "Usage: denials ingest [OPTIONS] FILE..." in ingest
    assert "Usage: denials classify [OPTIONS] [FILE]" in classify and "DATE" in classify


def test_version_names_the_package_and_the_rules():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert re.fullmatch(r"denials \S+ \(rules \S+\)\n", result.output)
    assert RuleFiles().version() in result.output
