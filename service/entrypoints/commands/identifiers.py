"""`denials identifiers new-key|rotate|status`: the keys of the encrypted patient identifiers.

Rotation: make a key (`new-key`), put it FIRST in DENIALS_PHI_KEY with the old key after it (`new,old`), restart
the workers and the API (they then encrypt with the new key and still read the old rows), run `rotate` to
re-encrypt every row with the new key, and only then drop the old key from the list. Nothing here prints an
identifier or a key other than the one `new-key` makes."""

from __future__ import annotations

import typer

from service.entrypoints.commands.database import fail, with_connection

identifiers_app = typer.Typer(help="Patient identifier keys: make one, re-encrypt with the first, count rows.",
                              no_args_is_help=True)

_SCHEMA = "SELECT to_regclass('claim_identifiers') IS NOT NULL"


def _vault():
    from service.adapters.identifiers import vault_from
    from service.config import get_settings
    from service.errors import ConfigurationError

    try:
        vault = vault_from(get_settings())
    except ConfigurationError as exc:
        raise fail(str(exc), 2) from None
    if vault is None:
        raise fail("no identifier key is configured: set DENIALS_PHI_KEY (or DENIALS_PHI_KEY_FILE)", 2)
    return vault


@identifiers_app.command("new-key")
def new_key_command() -> None:
    """Print a new key (32 random bytes, URL-safe base64) for DENIALS_PHI_KEY, alone on one line."""
    from service.adapters.identifiers import new_key

    typer.echo(new_key())


@identifiers_app.command("rotate")
def rotate_command(batch: int = typer.Option(500, "--batch", min=1, max=10_000,
                                             help="Rows re-encrypted per transaction.")) -> None:
    """Re-encrypt every stored identifier with the first key of DENIALS_PHI_KEY (any listed key decrypts)."""
    from service.adapters.identifiers import rotate

    vault = _vault()
    report = with_connection(lambda conn: rotate(conn, vault, batch=batch), schema_check=_SCHEMA,
                             missing="claim_identifiers table")
    typer.echo(f"re-encrypted {report.rows} rows with the first of {vault.key_count} key(s)")
    if report.unreadable:
        raise fail(f"{report.unreadable} rows could not be read with any configured key (left as they were): "
                   "add the key they were written with and run rotate again", 1)


@identifiers_app.command("status")
def status_command() -> None:
    """How many claims and payers have identifiers on file, and whether the configured keys read a sample."""
    from service.adapters.identifiers import sample_readable

    vault = _vault()

    async def count(conn):
        total = await conn.fetchval("SELECT count(*) FROM claim_identifiers")
        return total, await sample_readable(conn, vault)

    total, (sampled, readable) = with_connection(count, schema_check=_SCHEMA, missing="claim_identifiers table")
    typer.echo(f"{total} claim/payer rows on file; {vault.key_count} key(s) configured; "
               f"{readable} of {sampled} sampled rows readable")
    if readable < sampled:
        raise fail("some rows cannot be read with the configured keys", 1)


def register(app: typer.Typer) -> None:
    app.add_typer(identifiers_app, name="identifiers")
