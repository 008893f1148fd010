"""`payer.type` from the payer-id override table and the claim filing indicator (data: `data/payer_types.toml`)."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

PAYER_TYPES = {"medicare", "medicare_advantage", "medicaid", "commercial", "workers_comp", "other"}


@dataclass(frozen=True, slots=True)
class Override:
    payer_id: str
    type: str
    effective: dt.date
    until: dt.date | None


@dataclass(frozen=True, slots=True)
class PayerTypeTable:
    version: str
    by_filing_indicator: dict[str, str]
    overrides: tuple[Override, ...]

    def payer_type(self, payer_id: str | None, filing_indicator: str | None, on: dt.date | None = None) -> str:
        if payer_id:
            for o in self.overrides:
                if o.payer_id == payer_id and (on is None or (o.effective <= on and (o.until is None or on < o.until))):
                    return o.type
        if filing_indicator:
            return self.by_filing_indicator.get(filing_indicator.upper(), "other")
        return "other"


def parse_table(text: str) -> PayerTypeTable:
    raw = tomllib.loads(text)
    mapping = {str(k).upper(): v for k, v in raw.get("filing_indicator", {}).items()}
    overrides = tuple(
        Override(str(o["payer_id"]), o["type"], o.get("effective", dt.date.min), o.get("until"))
        for o in raw.get("override", [])
    )
    bad = {v for v in mapping.values()} | {o.type for o in overrides}
    if not bad <= PAYER_TYPES:
        raise ValueError(f"payer_types.toml: unknown payer types {sorted(bad - PAYER_TYPES)}")
    return PayerTypeTable(str(raw.get("version", "")), mapping, overrides)


@lru_cache(maxsize=1)
def table() -> PayerTypeTable:
    return parse_table(files("service.x12").joinpath("data", "payer_types.toml").read_text(encoding="utf-8"))
