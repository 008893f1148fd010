"""CARC, RARC, group-code and claim-status tables with effective dates (rows in `service/domain/data/`)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from service.domain.classification.vocabulary import ACTIONS, CATEGORIES, QUEUES
from service.domain.ruledata import RuleDataError, RuleFiles, parse_bool, parse_date, parse_float

CARC_KINDS = ("cost_share", "contractual", "contractual_partial", "informational", "denial", "legacy")
RARC_KINDS = ("cause", "route", "alert", "info")
# What a remark says about the patient's share: "qmb" = a Qualified Medicare Beneficiary, never billed for cost share.
RARC_LIABILITY = ("qmb",)
ROUTES = ("new_claim", "corrected_claim", "no_appeal", "write_off", "no_resubmit", "appeal", "wait", "reopening")


def _check(value: str, allowed: tuple[str, ...], where: str, *, blank_ok: bool = True) -> str:
    if (value == "" and blank_ok) or value in allowed:
        return value
    raise RuleDataError(f"{where}: {value!r} is not one of the allowed values")


@dataclass(frozen=True, slots=True)
class CarcRow:
    code: str
    start: dt.date | None
    stop: dt.date | None
    kind: str
    category: str  # "" = no mapping (unclassified)
    action: str
    appealable: bool
    recoverability: float
    rarc_cause: str  # "any": a remark names the cause; "frequency": only a frequency remark refines it; ""
    history_generic: bool  # a generic necessity/frequency code claim history may turn into frequency_limit
    ref: str
    meaning: str

    @classmethod
    def from_row(cls, row: dict[str, str]) -> CarcRow:
        where = f"carc.csv line {row['_line']}"
        return cls(
            code=row["code"].upper(), start=parse_date(row["start"], where=where),
            stop=parse_date(row["stop"], where=where), kind=_check(row["kind"], CARC_KINDS, where, blank_ok=False),
            category=_check(row["category"], CATEGORIES, where), action=_check(row["action"], ACTIONS, where),
            appealable=bool(parse_bool(row["appealable"], where=where, default=False)),
            recoverability=parse_float(row["recoverability"], where=where, default=0.0) or 0.0,
            rarc_cause=_check(row["rarc_cause"], ("any", "frequency"), where),
            history_generic=row["history"] == "generic", ref=row["ref"], meaning=row["meaning"],
        )


@dataclass(frozen=True, slots=True)
class RarcRow:
    code: str
    start: dt.date | None
    stop: dt.date | None
    kind: str
    category: str
    action: str
    appealable: bool | None
    recoverability: float | None
    route: str
    alert: bool  # the official text is an Alert (informational), not a supplement to a CARC
    liability: str
    ref: str
    meaning: str

    @classmethod
    def from_row(cls, row: dict[str, str]) -> RarcRow:
        where = f"rarc.csv line {row['_line']}"
        return cls(
            code=row["code"].upper(), start=parse_date(row["start"], where=where),
            stop=parse_date(row["stop"], where=where), kind=_check(row["kind"], RARC_KINDS, where, blank_ok=False),
            category=_check(row["category"], CATEGORIES, where), action=_check(row["action"], ACTIONS, where),
            appealable=parse_bool(row["appealable"], where=where), route=_check(row["route"], ROUTES, where),
            recoverability=parse_float(row["recoverability"], where=where),
            alert=bool(parse_bool(row.get("alert", ""), where=where, default=False)),
            liability=_check(row.get("liability", ""), RARC_LIABILITY, where), ref=row["ref"], meaning=row["meaning"],
        )


GROUP_KINDS = (*CARC_KINDS, "reason")


@dataclass(frozen=True, slots=True)
class GroupRow:
    """A reading that depends on the CAS group (`carc_groups.csv`): CO-137 is a tax, PR-45 is not a write-down.

    `code` "*" covers every reason code of the group; `when` narrows the row to one claim reading of CLP02
    (`claim_statuses.csv`, e.g. "denied"); kind "reason" hands the decision back to the reason code's own row."""

    group: str
    code: str
    start: dt.date | None
    stop: dt.date | None
    when: str
    kind: str
    category: str
    action: str
    appealable: bool
    recoverability: float
    ref: str
    meaning: str

    @property
    def rule_id(self) -> str:
        return f"carc.{self.group}" + ("" if self.code == "*" else f"-{self.code}")

    def effective(self, on: dt.date) -> bool:
        return (self.start is None or self.start <= on) and (self.stop is None or on <= self.stop)

    @classmethod
    def from_row(cls, row: dict[str, str], groups: tuple[str, ...], readings: tuple[str, ...]) -> GroupRow:
        where = f"carc_groups.csv line {row['_line']}"
        kind = _check(row["kind"], GROUP_KINDS, where, blank_ok=False)
        category = _check(row["category"], CATEGORIES, where, blank_ok=kind == "reason")
        action = _check(row["action"], ACTIONS, where, blank_ok=kind == "reason")
        return cls(
            group=_check(row["group"].upper(), groups, where, blank_ok=False), code=row["code"].upper(),
            start=parse_date(row["start"], where=where), stop=parse_date(row["stop"], where=where),
            when=_check(row["when"], readings, where), kind=kind,
            category=category, action=action,
            appealable=bool(parse_bool(row["appealable"], where=where, default=False)),
            recoverability=parse_float(row["recoverability"], where=where, default=0.0) or 0.0,
            ref=row["ref"], meaning=row["meaning"])


class GroupTable:
    """Group-aware rows by (group, code); the most specific effective row wins: an exact code before "*", a row for
    the claim's reading before one for any claim."""

    def __init__(self, rows: list[GroupRow]):
        self._rows: dict[tuple[str, str], list[GroupRow]] = defaultdict(list)
        for row in rows:
            self._rows[(row.group, row.code)].append(row)
        for (group, code), versions in self._rows.items():
            for when in {r.when for r in versions}:
                same = sorted((r for r in versions if r.when == when), key=lambda r: r.start or dt.date.min)
                for a, b in zip(same, same[1:], strict=False):
                    if a.stop is None or (b.start is not None and b.start <= a.stop):
                        raise RuleDataError(f"carc_groups.csv: rows of {group}-{code} overlap in time")

    def __len__(self) -> int:
        return sum(len(versions) for versions in self._rows.values())

    def lookup(self, group: str, code: str, on: dt.date, reading: str) -> GroupRow | None:
        for key in ((group.upper(), code.upper()), (group.upper(), "*")):
            found = [r for r in self._rows.get(key, ()) if r.when in (reading, "") and r.effective(on)]
            if found:
                return min(found, key=lambda r: r.when == "")
        return None


Row = TypeVar("Row", CarcRow, RarcRow)
Standing = Literal["current", "retired", "not_yet_effective", "unknown"]


@dataclass(frozen=True, slots=True)
class Lookup(Generic[Row]):
    code: str
    row: Row | None
    standing: Standing


class CodeTable(Generic[Row]):
    """Rows by code; a code may have several rows with different effective periods (stop is the last valid day)."""

    def __init__(self, rows: list[Row], name: str):
        self.name = name
        self._rows: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            self._rows[row.code].append(row)
        for code, versions in self._rows.items():
            versions.sort(key=lambda r: r.start or dt.date.min)
            for a, b in zip(versions, versions[1:], strict=False):
                if a.stop is None or (b.start is not None and b.start <= a.stop):
                    raise RuleDataError(f"{name}: rows of code {code} overlap in time")

    def __contains__(self, code: str) -> bool:
        return code.upper() in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def codes(self) -> list[str]:
        return sorted(self._rows)

    def versions(self, code: str) -> tuple[Row, ...]:
        """Every row of a code, oldest first."""
        return tuple(self._rows.get(code.upper(), ()))

    def lookup(self, code: str, on: dt.date) -> Lookup[Row]:
        code = code.upper()
        versions = self._rows.get(code)
        if not versions:
            return Lookup(code, None, "unknown")
        for row in versions:
            if (row.start is None or row.start <= on) and (row.stop is None or on <= row.stop):
                # A dated legacy row was current until its stop date; an undated one is read as retired throughout.
                legacy = isinstance(row, CarcRow) and row.kind == "legacy" and row.stop is None
                return Lookup(code, row, "retired" if legacy else "current")
        earlier = [r for r in versions if r.stop is not None and r.stop < on]
        if earlier:
            return Lookup(code, earlier[-1], "retired")
        return Lookup(code, versions[0], "not_yet_effective")


STATUS_ASKS = ("none", "wait", "data", "entity_data", "enrollment", "eligibility", "records", "duplicate", "cob",
               "authorization", "coding", "timely", "wrong_payer", "non_covered", "frequency", "pricing", "bundling")


@dataclass(frozen=True, slots=True)
class StatusCategory:
    code: str
    start: dt.date | None
    stop: dt.date | None
    bucket: str
    action: str
    category: str | None
    queue: str | None
    clock: str | None  # filing | records
    ref: str
    meaning: str


@dataclass(frozen=True, slots=True)
class StatusCodeRow:
    code: str
    start: dt.date | None
    stop: dt.date | None
    asks: str  # what the status asks of the provider (STATUS_ASKS)
    category: str | None
    action: str | None
    queue: str | None
    meaning: str  # "{entity}" stands for the entity of STC01-3, named in words

    def reads(self, entity: str | None) -> str:
        return self.meaning.replace("{entity}", entity or "the entity named in the status")


@dataclass(frozen=True, slots=True)
class CodeTables:
    carc: CodeTable[CarcRow]
    carc_groups: GroupTable
    rarc: CodeTable[RarcRow]
    groups: dict[str, dict[str, str]]
    claim_statuses: dict[str, dict[str, str]]
    status_categories: dict[str, StatusCategory]
    status_codes: dict[str, StatusCodeRow]
    entities: dict[str, str]  # STC01-3 entity identifier code -> who it is, in words

    @classmethod
    def load(cls, files: RuleFiles) -> CodeTables:
        categories = {}
        for row in files.rows("status_categories"):
            where = f"status_categories.csv line {row['_line']}"
            categories[row["code"].upper()] = StatusCategory(
                code=row["code"].upper(), start=parse_date(row["start"], where=where),
                stop=parse_date(row["stop"], where=where), bucket=row["bucket"],
                action=_check(row["action"], ACTIONS, where, blank_ok=False),
                category=_check(row["category"], CATEGORIES, where) or None,
                queue=_check(row["queue"], QUEUES, where) or None,
                clock=_check(row["clock"], ("filing", "records"), where) or None, ref=row["ref"],
                meaning=row["meaning"])
        codes = {}
        for row in files.rows("status_codes"):
            where = f"status_codes.csv line {row['_line']}"
            codes[row["code"]] = StatusCodeRow(
                code=row["code"], start=parse_date(row["start"], where=where),
                stop=parse_date(row["stop"], where=where), asks=_check(row["asks"], STATUS_ASKS, where, blank_ok=False),
                category=_check(row["category"], CATEGORIES, where) or None,
                action=_check(row["action"], ACTIONS, where) or None,
                queue=_check(row["queue"], QUEUES, where) or None, meaning=row["meaning"])
        groups = tuple(r["code"] for r in files.rows("group_codes"))
        readings = tuple(sorted({r["reading"] for r in files.rows("claim_statuses")}))
        return cls(
            carc=CodeTable([CarcRow.from_row(r) for r in files.rows("carc")], "carc.csv"),
            carc_groups=GroupTable([GroupRow.from_row(r, groups, readings) for r in files.rows("carc_groups")]),
            rarc=CodeTable([RarcRow.from_row(r) for r in files.rows("rarc")], "rarc.csv"),
            groups={r["code"]: r for r in files.rows("group_codes")},
            claim_statuses={r["code"]: r for r in files.rows("claim_statuses")},
            status_categories=categories,
            status_codes=codes,
            entities={r["code"].upper(): r["name"] for r in files.rows("entity_codes")},
        )
