"""The demo's own key for patient identifiers: generated once in the data directory (`phi.key`, readable by the
user only) and handed to the demo's worker, so the letters of a demo run name their (synthetic) patients. Every
`denials` command that uses the embedded database finds the same file; a key set in DENIALS_PHI_KEY or
DENIALS_PHI_KEY_FILE wins over it."""

from __future__ import annotations

import os
from pathlib import Path

from service.config import PHI_KEY_FILE_NAME, Settings


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
