"""`denials ncci import FILE...`: CMS's quarterly NCCI tables into PostgreSQL, for the pre-submission check.

Download them from CMS (the Medicare NCCI pages; the files carry AMA CPT content, licensed for this use): the
practitioner procedure-to-procedure edits (`ccipra-v<version>r0-f1.txt` ... `-f4.txt`, tab-delimited) and the
practitioner medically unlikely edits (`MCR_MUE_PractitionerServices_Eff_<date>.csv`); a sheet of either saved as
CSV reads the same. Which table a file holds is read from its first lines (`--kind` says it instead). Each file is
imported whole or not at all: a line that does not read is named by its number and nothing of the file is kept.
Importing a file again changes nothing (PTP rows are keyed by both codes and the effective date, MUE rows by code).
Without DATABASE_URL the embedded PostgreSQL is used.

Exit status: 0 imported, 1 PostgreSQL unreachable, 2 a file cannot be used (nothing of it imported).
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import typer

from service.entrypoints.commands.database import fail, with_connection

ncci_app = typer.Typer(help="CMS's NCCI tables (PTP pairs, MUE units) for the pre-submission check.",
                       no_args_is_help=True)
HEAD_LINES = 60


class _Problems(Exception):
    def __init__(self, problems: list[str], count: int) -> None:
        super().__init__("problems")
        self.problems, self.count = problems, count


def _kind(path: Path, kind: str | None) -> str:
    from service.domain.presubmission.ncci import detect_kind

    if kind is not None:
        if kind not in ("ptp", "mue"):
            raise typer.BadParameter("expected ptp or mue", param_hint="--kind")
        return kind
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            head = "".join(islice(handle, HEAD_LINES))
    except IsADirectoryError:
        raise fail(f"{path}: is a directory, not a CMS table", 2) from None
    except OSError as exc:
        raise fail(f"{path}: cannot read ({exc.strerror or type(exc).__name__})", 2) from None
    found = detect_kind(head)
    if found is None:
        raise fail(f"{path}: neither a CMS PTP table (tab-delimited: column 1, column 2, effective date, deletion "
                   "date, modifier indicator) nor an MUE table (HCPCS/CPT code, MUE value, adjudication indicator) "
                   "in its first lines; say which with --kind", 2)
    return found


async def _import(conn, path: Path, kind: str) -> int:
    from service.adapters.presubmission import save_mue, save_ptp
    from service.domain.presubmission.ncci import ParsedTable, iter_rows

    table = ParsedTable(kind)
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        async with conn.transaction():
            rows = iter_rows(handle, table)
            count = await (save_ptp(conn, rows, path.name) if kind == "ptp" else save_mue(conn, rows, path.name))
            if table.problem_count:
                raise _Problems(table.problems, table.problem_count)  # rolls the file back
            if not table.read:
                raise _Problems([f"no {kind.upper()} row found below the preamble"], 1)
    return count


@ncci_app.command("import")
def import_command(
    files: list[Path] = typer.Argument(..., metavar="FILE...", help="CMS PTP (.txt) or MUE (.csv) files."),
    kind: str | None = typer.Option(None, "--kind", help="ptp or mue (default: read from the file)."),
) -> None:
    """Import CMS NCCI PTP and MUE tables (each file whole or not at all)."""
    for path in files:
        table_kind = _kind(path, kind)

        async def work(conn, path=path, table_kind=table_kind) -> int:
            return await _import(conn, path, table_kind)

        try:
            count = with_connection(work, schema_check="SELECT to_regclass('ncci_ptp') IS NOT NULL",
                                    missing="NCCI tables")
        except _Problems as exc:
            typer.echo(f"error: {path}: {exc.count} line(s) cannot be read, nothing of the file imported", err=True)
            for problem in exc.problems:
                typer.echo(f"  {path} {problem}", err=True)
            raise typer.Exit(2) from None
        what = "procedure-to-procedure edits" if table_kind == "ptp" else "MUE values"
        typer.echo(f"{path}: {count:,} {what} imported")


def register(app: typer.Typer) -> None:
    app.add_typer(ncci_app, name="ncci")
