"""Where the shared public X12 sample files are (read in place, never copied into the project)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def samples_dir() -> Path:
    """DENIALS_X12_SAMPLES when set; else `../shared/samples/x12` beside the checkout; else the workspace copy."""
    candidates = [os.environ.get("DENIALS_X12_SAMPLES"), PROJECT.parent / "shared" / "samples" / "x12",
                  Path("/work/shared/samples/x12")]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return PROJECT.parent / "shared" / "samples" / "x12"


SAMPLES = samples_dir()


def sample_path(name: str) -> Path:
    for sub in ("835", "277"):
        path = SAMPLES / sub / name
        if path.exists():
            return path
    raise FileNotFoundError(f"sample {name} not found under {SAMPLES} (set DENIALS_X12_SAMPLES)")
