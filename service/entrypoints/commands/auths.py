"""`denials auths import FILE`: the practice's prior authorizations into the authorization register.

The file is CSV with a header: `payer,member,auth_number,cpt_or_family,side,levels,units,valid_from,valid_to`
and optionally `sessions` (`cpt_or_family`: a procedure code such as 64483, a family such as facet_rfa, a group: esi,
facet, rfa, si, scs, vertebral, or a service authorized on its own: scs_trial, scs_implant; `side`: left, right,
bilateral or empty for any; `levels` per session, `units` per date and `sessions` in all, empty for no limit; dates
YYYY-MM-DD, both inclusive; `valid_from` is the day it may first be used). The whole file is checked first: any bad
row, named by line and column (never by its value), means nothing is imported and the exit status is 2. Importing it
again changes nothing.

Member ids are PHI: the register keeps a keyed digest of each (DENIALS_PSEUDONYM_KEY), never the id, and nothing
here prints one. The pre-submission check and the classifier (on a CO-197) match claims to the register by it.
"""

from __future__ import annotations

from pathlib import Path

import typer

from service.entrypoints.commands.database import read_csv_file, with_connection

auths_app = typer.Typer(help="The authorization register: prior authorizations the practice obtained.",
                        no_args_is_help=True)
MAX_FILE_BYTES = 20 * 1024 * 1024


def _read(path: Path) -> str:
    return read_csv_file(path, MAX_FILE_BYTES, "an authorization file")


@auths_app.command("import")
def import_command(
    file: Path = typer.Argument(..., metavar="FILE", help="CSV: payer,member,auth_number,cpt_or_family,side,levels,"
                                                          "units,valid_from,valid_to (optional: sessions)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check the file and say what would be imported."),
) -> None:
    """Import authorizations into the register (all rows or none)."""
    from service.domain.authorizations import AuthorizationFileError, parse_authorizations_csv
    from service.domain.presubmission import load_checker

    text = _read(file)
    rules = load_checker().rules
    try:
        rows = parse_authorizations_csv(text, source=file.name, known_scopes=rules.scope_known)
    except AuthorizationFileError as exc:
        typer.echo(f"error: {file}: {len(exc.problems)} problem(s), nothing imported", err=True)
        for problem in exc.problems[:25]:
            typer.echo(f"  {file} {problem}", err=True)
        if len(exc.problems) > 25:
            typer.echo(f"  ... and {len(exc.problems) - 25} more", err=True)
        raise typer.Exit(2) from None
    payers = len({r.payer_id for r in rows})
    if dry_run:
        typer.echo(f"{file}: {len(rows)} authorization(s) for {payers} payer(s); nothing imported (--dry-run)")
        return
    from service.adapters.authorizations import save_authorizations
    from service.bootstrap import member_digest

    digest = member_digest()
    auths = [row.digested(digest) for row in rows]
    del rows  # the member ids in clear go no further than here

    async def work(conn) -> tuple[int, int]:
        async with conn.transaction():
            return await save_authorizations(conn, auths, f"file:{file.name}")

    added, updated = with_connection(work, schema_check="SELECT to_regclass('authorizations') IS NOT NULL",
                                     missing="authorization register")
    typer.echo(f"{file}: {added + updated} authorization(s) for {payers} payer(s): {added} added, {updated} updated "
               "(member ids kept as keyed digests only)")


def register(app: typer.Typer) -> None:
    app.add_typer(auths_app, name="auths")
