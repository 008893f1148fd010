"""Procedure families, spinal regions and add-on relations, read from `procedures.csv`."""

from __future__ import annotations

from dataclasses import dataclass

from service.domain.ruledata import RuleDataError, parse_bool


@dataclass(frozen=True, slots=True)
class ProcedureInfo:
    code: str
    family: str
    region: str | None  # cervical_thoracic | lumbar_sacral | sacroiliac | None (not regional)
    subtype: str | None  # fixed subtype (diagnostic) when the code itself says so
    addon_of: tuple[str, ...]  # primaries an add-on code needs on the same date
    imaging_included: bool | None
    bilateral: bool | None  # None: indicator not recorded
    max_units: int | None = None  # units per date of service (MUE, reference 5.6 [verify]); None: not recorded

    @property
    def is_addon(self) -> bool:
        return bool(self.addon_of)


def _units(value: str, where: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise RuleDataError(f"{where}: max_units must be a positive whole number")
    return int(value)


class ProcedureCatalog:
    def __init__(self, infos: dict[str, ProcedureInfo], labels: dict[str, str]):
        self._infos = infos
        self._labels = labels

    @classmethod
    def from_rows(cls, rows: list[dict[str, str]], families: dict[str, dict]) -> ProcedureCatalog:
        infos = {}
        for row in rows:
            where = f"procedures.csv line {row['_line']}"
            if row["family"] not in families:
                raise RuleDataError(f"{where}: family {row['family']!r} is not in pain_rules.toml [families]")
            infos[row["code"].upper()] = ProcedureInfo(
                code=row["code"].upper(),
                family=row["family"],
                region=row["region"] or None,
                subtype=row["subtype"] or None,
                addon_of=tuple(row["addon_of"].split()),
                imaging_included=parse_bool(row["imaging_included"], where=where),
                bilateral=parse_bool(row["bilateral"], where=where),
                max_units=_units(row["max_units"], where),
            )
        return cls(infos, {name: body.get("label", name) for name, body in families.items()})

    def get(self, code: str | None) -> ProcedureInfo | None:
        return self._infos.get(code.upper()) if code else None

    def family(self, code: str | None) -> str | None:
        info = self.get(code)
        return info.family if info else None

    def label(self, family: str) -> str:
        return self._labels.get(family, family.replace("_", " "))

    def codes_of(self, families: set[str]) -> set[str]:
        return {code for code, info in self._infos.items() if info.family in families}
