"""`denials fees import FILE --payer P` and `denials fees list --payer P`: contracted fee schedules.

The import file is CSV with a header: `code,amount,effective_from` and optionally `modifier,effective_to`
(dates YYYY-MM-DD, `effective_to` inclusive, amounts with at most 2 decimals). The whole file is checked first:
any bad row (named by line and column) means nothing is imported and the exit status is 2. Importing the same file
again changes nothing (rows are keyed by payer, code, modifier and start date). Without DATABASE_URL the embedded
PostgreSQL is used.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import typer

from service.entrypoints.commands.database import fail, read_csv_file, with_connection

T = TypeVar("T")
MAX_FILE_BYTES = 50 * 1024 * 1024

fees_app = typer.Typer(help="Contracted fee schedules per payer: import a CSV, list what is on file.",
                       no_args_is_help=True)




def _with_connection(work: Callable[[Any], Awaitable[T]]) -> T:
    return with_connection(work, schema_check="SELECT to_regclass('fee_schedules') IS NOT NULL",
                           missing="fee_schedules table")


def _read(path: Path) -> str:
    return read_csv_file(path, MAX_FILE_BYTES, "a fee schedule")


@fees_app.command("import")
def import_fees(
    file: Path = typer.Argument(..., metavar="FILE", help="CSV: code,amount,effective_from[,modifier,effective_to]."),
    payer: str = typer.Option(..., "--payer", help="The payer id the schedule belongs to (as on remittances)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check the file and say what would be imported."),
) -> None:
    """Import one payer's fee schedule (all rows or none)."""
    from service.domain.fee_schedule import FeeScheduleError, parse_fee_schedule_csv

    text = _read(file)
    try:
        rates = parse_fee_schedule_csv(text, payer_id=payer, source=file.name)
    except FeeScheduleError as exc:
        source = str(file) if exc.source == file.name else exc.source
        typer.echo(f"error: {source}: {len(exc.problems)} problem(s), nothing imported", err=True)
        for problem in exc.problems[:25]:
            typer.echo(f"  {source} {problem}" if problem.startswith("line") else f"  {problem}", err=True)
        if len(exc.problems) > 25:
            typer.echo(f"  ... and {len(exc.problems) - 25} more", err=True)
        raise typer.Exit(2) from None
    codes = len({r.code for r in rates})
    first = min(r.effective_from for r in rates).isoformat()
    if dry_run:
        typer.echo(f"{file}: {len(rates)} rate(s) for payer {rates[0].payer_id} ({codes} code(s), effective from "
                   f"{first}); nothing imported (--dry-run)")
        return

    from service.adapters.fee_schedules import import_rates

    result = _with_connection(lambda conn: import_rates(conn, rates))
    typer.echo(f"imported {result.rows} rate(s) for payer {result.payer_id} from {file}: {result.inserted} new, "
               f"{result.updated} replaced ({result.codes} code(s), effective from {first})")


@fees_app.command("list")
def list_fees(
    payer: str = typer.Option(..., "--payer", help="The payer id."),
    code: str | None = typer.Option(None, "--code", help="Only this CPT/HCPCS code."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """The rates on file for a payer (every period)."""
    from service.adapters.fee_schedules import list_rates
    from service.domain.fee_schedule import FeeScheduleError, validate_payer_id

    try:
        payer_id = validate_payer_id(payer)
    except FeeScheduleError as exc:
        raise fail(exc.problems[0], 2) from None
    rates = _with_connection(lambda conn: list_rates(conn, payer_id, code.upper() if code else None))
    if not rates:
        typer.echo(f"no rates on file for payer {payer_id}" + (f" and code {code}" if code else ""))
        return
    for r in rates:
        if as_json:
            typer.echo(json.dumps({"payer_id": r.payer_id, "code": r.code, "modifier": r.modifier or None,
                                   "amount": f"{r.amount:.2f}", "effective_from": r.effective_from.isoformat(),
                                   "effective_to": r.effective_to.isoformat() if r.effective_to else None,
                                   "source": r.source}))
        else:
            typer.echo(f"{r.code:<6} {r.modifier or '-':<3} {r.amount:>12.2f}  {r.effective_from.isoformat()} .. "
                       f"{r.effective_to.isoformat() if r.effective_to else 'open':<10}  {r.source or ''}")


def register(app: typer.Typer) -> None:
    app.add_typer(fees_app, name="fees")
