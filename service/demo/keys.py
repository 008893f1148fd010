"""The demo's own key for patient identifiers: generated once in the data directory (`phi.key`, readable by the
user only) and handed to the demo's worker, so the letters of a demo run name their (synthetic) patients. Every
`denials` command that uses the embedded database finds the same file; a key set in DENIALS_PHI_KEY or
DENIALS_PHI_KEY_FILE wins over it.

The key and the database are kept apart (the file in the data directory, the rows in PostgreSQL, possibly on
DATABASE_URL), so either can be replaced without the other: a data directory made afresh next to a database an
earlier run filled would mint a new key and encrypt this run's identifiers with it beside rows it cannot open. The
demo checks the key against what the database already holds before its worker writes anything (`key_problem`)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from service.config import PHI_KEY_FILE_NAME, Settings

SAMPLE_ROWS = 50  # identifier rows read to check a key: the newest ones, enough to tell one key from another


def ensure_demo_key(settings: Settings) -> Path | None:
    """The key file the demo's worker reads, created when missing; None when the settings name a key already
    (the worker inherits it from the environment)."""
    if settings.phi_keys:
        return None
    path = settings.data_dir / PHI_KEY_FILE_NAME
    if not path.exists():
        from service.adapters.identifiers import new_key

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another demo wrote it meanwhile: use that one
            return path
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(new_key() + "\n")
    return path


async def key_problem(conn, key_file: Path) -> str | None:
    """Why the demo's key cannot be used on this database, or None: the database already holds patient identifiers
    and the key opens none of them (they were encrypted with another key). No identifier is shown."""
    from service.adapters.identifiers import IdentifierVault, sample_readable

    text = await asyncio.to_thread(key_file.read_text, encoding="ascii")
    keys = [k.strip() for k in text.replace("\n", ",").split(",") if k.strip()]
    sampled, readable = await sample_readable(conn, IdentifierVault(keys), size=SAMPLE_ROWS)
    if sampled == 0 or readable > 0:
        return None
    return (f"the database already holds patient identifiers that the demo's key {key_file} cannot open (they were "
            "encrypted with another key, so this run would store its own beside them under a second key): set "
            "DENIALS_PHI_KEY to the key that encrypted them, or run the demo on an empty database")
