"""`denials fees import FILE --payer P --dry-run`: the whole file is checked without a database; every bad cell is
named by file, line and column, and the exit status is 2."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from service.entrypoints import cli
from service.entrypoints.commands import fees


def app() -> typer.Typer:
    app = typer.Typer()
    fees.register(app)
    app.command("noop")(lambda: None)  # a second command keeps typer in multi-command mode, like the real CLI
    return app


def run(*args: str):
    return CliRunner().invoke(app(), ["fees", "import", *args])


def test_the_command_is_registered_in_the_cli():
    assert "service.entrypoints.commands.fees" in cli.COMMAND_MODULES


def test_a_valid_file_is_checked_and_summarised_without_a_database(tmp_path):
    path = tmp_path / "fees.csv"
    path.write_text("code,modifier,amount,effective_from\n64483,,200.00,2026-01-01\n64483,50,280.00,2026-01-01\n")
    result = run(str(path), "--payer", "MCR-JL", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (f"{path}: 2 rate(s) for payer MCR-JL (1 code(s), effective from 2026-01-01); "
                                     "nothing imported (--dry-run)")


def test_bad_rows_are_named_by_line_and_column_and_exit_2(tmp_path):
    path = tmp_path / "fees.csv"
    path.write_text("code,amount,effective_from\n64483,200.00,2026-01-01\n64484,90,2026-13-01\n")
    result = run(str(path), "--payer", "MCR-JL", "--dry-run")
    assert result.exit_code == 2
    assert f"error: {path}: 1 problem(s), nothing imported" in result.stderr
    assert f"{path} line 3, column 'effective_from': '2026-13-01' is not a date (write YYYY-MM-DD)" in result.stderr


def test_a_missing_or_non_utf8_file_is_a_clear_error(tmp_path):
    result = run(str(tmp_path / "nope.csv"), "--payer", "MCR-JL")
    assert result.exit_code == 2 and f"{tmp_path / 'nope.csv'}: no such file" in result.stderr
    latin = tmp_path / "latin.csv"
    latin.write_bytes("code,amount,effective_from\n64483,200.00,2026-01-01 \xe9\n".encode("latin-1"))
    result = run(str(latin), "--payer", "MCR-JL")
    assert result.exit_code == 2 and "not UTF-8 text" in result.stderr
    good = tmp_path / "good.csv"
    good.write_text("code,amount,effective_from\n64483,200.00,2026-01-01\n")
    result = run(str(good), "--payer", "bad payer", "--dry-run")
    assert result.exit_code == 2 and "--payer: expected a payer id of letters, digits" in result.stderr
