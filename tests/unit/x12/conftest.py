"""Shared helpers for the X12 gateway tests: where the public sample files are, and an independent segment counter
(plain string splitting, not the parser under test) to check the parser's counts against."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.samples import PROJECT, SAMPLES  # noqa: E402,F401 - one resolution rule for every test

DEFECTS = Path(__file__).resolve().parents[2] / "x12_defects"  # files we wrote, one defect each (see its README)


def sample(name: str) -> Path:
    """A public sample file (read in place, never copied into the project)."""
    for sub in ("835", "277"):
        path = SAMPLES / sub / name
        if path.exists():
            return path
    pytest.fail(f"sample {name} not found under {SAMPLES} (set DENIALS_X12_SAMPLES to the samples directory)")


def all_samples() -> list[Path]:
    files = sorted(p for sub in ("835", "277") for p in (SAMPLES / sub).glob("*") if p.suffix in (".835", ".277"))
    if not files:
        pytest.fail(f"no X12 samples under {SAMPLES} (set DENIALS_X12_SAMPLES to the samples directory)")
    return files


@dataclass
class Tally:
    claims: int = 0  # CLP segments
    lines: int = 0  # SVC segments under a CLP (835)
    adjustments: int = 0  # CAS reason codes (claim and line level)
    plb_pairs: int = 0  # PLB03/04 ... PLB13/14 pairs with a reason
    statuses: int = 0  # STC composites (STC01, STC10, STC11) in 277s
    status_claims: int = 0  # patient-level TRN segments in 277s


def split_segments(data: bytes) -> list[list[str]]:
    """Segments as lists of elements. Separators from the fixed-width ISA when there is one, else `*` and `~`."""
    text = data.decode("latin-1").lstrip()
    if text.startswith("ISA"):
        element, terminator = text[3], text[105]
    else:
        element, terminator = "*", "~"
    segments = []
    for raw in text.split(terminator):
        raw = raw.strip("\r\n ")
        if raw:
            segments.append(raw.split(element))
    return segments


def tally(data: bytes) -> Tally:
    t = Tally()
    level = ""
    for seg in split_segments(data):
        sid = seg[0]
        if sid == "CLP":
            t.claims += 1
        elif sid == "SVC" and t.claims:
            t.lines += 1
        elif sid == "CAS":
            t.adjustments += sum(1 for n in (2, 5, 8, 11, 14, 17) if len(seg) > n and seg[n])
        elif sid == "PLB":
            t.plb_pairs += sum(1 for n in (3, 5, 7, 9, 11, 13) if len(seg) > n and seg[n])
        elif sid == "HL":
            level = seg[3] if len(seg) > 3 else ""
        elif sid == "TRN" and level in ("22", "23", "PT"):
            t.status_claims += 1
        elif sid == "STC":
            t.statuses += sum(1 for n in (1, 10, 11) if len(seg) > n and seg[n])
    return t
