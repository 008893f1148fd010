"""CMS's NCCI tables: procedure-to-procedure (PTP) edits and medically unlikely edits (MUE), as the quarterly files
lay them out, read into plain values; and the lookups the check makes on the pairs and codes of one claim.

The practitioner PTP file (`ccipra-v<version>r0-f<part>.txt`, four parts) is tab-delimited: a copyright preamble and
a column legend, then rows `column 1, column 2, * (in existence before 1996), effective date (YYYYMMDD), deletion date
(YYYYMMDD, or * for none), modifier indicator (0 not allowed, 1 allowed, 9 not applicable), rationale`. The
practitioner MUE file (`MCR_MUE_PractitionerServices_Eff_<date>.csv`) is comma-separated: a preamble, then the header
`HCPCS/CPT Code, Practitioner Services MUE Values, MUE Adjudication Indicator, MUE Rationale`, where the indicator
cell starts with its digit (1 per line, 2 per date of service by policy, 3 per date of service by clinical data).
A sheet of either saved as CSV reads the same. Lines before the first data row are skipped; after it, a non-blank
line that does not read is a problem named by its line number (never by its content).

Pure: text in, values out.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

CODE = re.compile(r"^[0-9A-Z]{4}[0-9A-Z]$")
DATE8 = re.compile(r"^\d{8}$")
MAX_PROBLEMS = 25


@dataclass(frozen=True, slots=True)
class PtpEdit:
    column1: str
    column2: str
    effective: dt.date
    deletion: dt.date | None  # the last day the edit applies; None: still in force
    modifier_indicator: str  # "0" never separately payable, "1" a modifier may bypass it, "9" no edit
    rationale: str = ""

    def in_force(self, day: dt.date) -> bool:
        return self.effective <= day and (self.deletion is None or day <= self.deletion)


@dataclass(frozen=True, slots=True)
class MueEdit:
    code: str
    max_units: int
    adjudication: str  # "1" per line, "2" per date (policy), "3" per date (clinical)
    rationale: str = ""

    @property
    def per_date(self) -> bool:
        return self.adjudication in ("2", "3")


@dataclass
class ParsedTable:
    """What one file held: its kind, the rows read and the problems (line numbers, value-free)."""

    kind: str  # "ptp" | "mue"
    ptp: list[PtpEdit] = field(default_factory=list)
    mue: list[MueEdit] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0
    read: int = 0  # rows read so far

    def problem(self, line: int, what: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"line {line}: {what}")


def _cells(line: str) -> list[str]:
    if "\t" in line:
        return [c.strip().strip('"') for c in line.split("\t")]
    return [c.strip() for c in next(csv.reader([line]))]


def _date(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%Y%m%d").date()


def _ptp_row(cells: list[str]) -> PtpEdit | None:
    """A PTP data row, or None when the line is not one (preamble, legend)."""
    if len(cells) < 6 or not CODE.match(cells[0].upper()) or not CODE.match(cells[1].upper()):
        return None
    effective, deletion, indicator = cells[3], cells[4], cells[5]
    if not DATE8.match(effective) or not (deletion in ("*", "") or DATE8.match(deletion)) or indicator not in (
            "0", "1", "9"):
        return None
    try:
        return PtpEdit(column1=cells[0].upper(), column2=cells[1].upper(), effective=_date(effective),
                       deletion=None if deletion in ("*", "") else _date(deletion), modifier_indicator=indicator,
                       rationale=cells[6] if len(cells) > 6 else "")
    except ValueError:
        return None


def _mue_row(cells: list[str], columns: tuple[int, int, int, int]) -> MueEdit | None:
    code_at, value_at, indicator_at, rationale_at = columns
    if len(cells) <= max(code_at, value_at) or not CODE.match(cells[code_at].upper()):
        return None
    value = cells[value_at]
    indicator = cells[indicator_at][:1] if indicator_at < len(cells) else ""
    if not value.isdigit() or indicator not in ("1", "2", "3"):
        return None
    return MueEdit(code=cells[code_at].upper(), max_units=int(value), adjudication=indicator,
                   rationale=cells[rationale_at] if rationale_at < len(cells) else "")


def _mue_columns(cells: list[str]) -> tuple[int, int, int, int] | None:
    """Where the columns are, from a header row naming them (CMS's order when the names are not all there)."""
    names = [re.sub(r"\s+", " ", c).lower() for c in cells]
    if not any("mue value" in n for n in names):
        return None

    def find(*words: str, default: int) -> int:
        return next((i for i, n in enumerate(names) if all(w in n for w in words)), default)

    return (find("cpt", default=0), find("mue value", default=1), find("indicator", default=2),
            find("rationale", default=3))


def _logical_lines(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """Numbered lines, with a quoted cell that spans lines (the MUE preamble, a wrapped header) joined into one."""
    pending, start = "", 0
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if pending:
            pending += "\n" + line
        else:
            pending, start = line, number
        if pending.count('"') % 2 == 0:
            yield start, pending
            pending = ""
    if pending:
        yield start, pending


def detect_kind(head: str) -> str | None:
    """"ptp" or "mue" from the first lines of a file; None when it is neither."""
    for _, line in _logical_lines(head.splitlines()):
        cells = _cells(line)
        if _ptp_row(cells) is not None or "column 1" in line.lower() and "column 2" in line.lower():
            return "ptp"
        if _mue_columns(cells) is not None:
            return "mue"
    return None


def iter_rows(lines: Iterable[str], table: ParsedTable) -> Iterator[PtpEdit | MueEdit]:
    """The rows of a PTP or MUE file as they are read (a full practitioner PTP table has over a million), noting the
    lines that do not read in `table`."""
    started = False
    columns = (0, 1, 2, 3)
    for number, line in _logical_lines(lines):
        if not line.strip():
            continue
        cells = _cells(line)
        if table.kind == "mue" and not started:
            found = _mue_columns(cells)
            if found is not None:
                columns = found
                continue
        row = _ptp_row(cells) if table.kind == "ptp" else _mue_row(cells, columns)
        if row is None:
            if started:
                table.problem(number, f"not a {table.kind.upper()} row (codes, dates, indicator or value unreadable)")
            continue
        started = True
        table.read += 1
        yield row


def parse_table(lines: Iterable[str], kind: str) -> ParsedTable:
    """A whole PTP or MUE file read into memory (for small files and tests; imports stream `iter_rows`)."""
    table = ParsedTable(kind)
    for row in iter_rows(lines, table):
        if isinstance(row, PtpEdit):
            table.ptp.append(row)
        else:
            table.mue.append(row)
    return table


@dataclass(frozen=True, slots=True)
class NcciTables:
    """The imported edits the check needs for one batch of claims (the pairs and codes on them)."""

    pairs: dict[tuple[str, str], tuple[PtpEdit, ...]] = field(default_factory=dict)
    mue: dict[str, MueEdit] = field(default_factory=dict)
    ptp_loaded: bool = False  # a PTP table is on file (so a pair it lacks is no edit)
    mue_loaded: bool = False

    @classmethod
    def of(cls, edits: Iterable[PtpEdit], mues: Iterable[MueEdit], *, ptp_loaded: bool,
           mue_loaded: bool) -> NcciTables:
        pairs: dict[tuple[str, str], list[PtpEdit]] = {}
        for edit in edits:
            pairs.setdefault((edit.column1, edit.column2), []).append(edit)
        return cls({k: tuple(v) for k, v in pairs.items()}, {m.code: m for m in mues}, ptp_loaded, mue_loaded)

    def merged(self, other: NcciTables) -> NcciTables:
        """These edits with `other`'s added (its MUE values win for a code both hold)."""
        pairs = dict(self.pairs)
        for key, edits in other.pairs.items():
            pairs[key] = tuple(dict.fromkeys((*pairs.get(key, ()), *edits)))
        return NcciTables(pairs, {**self.mue, **other.mue}, self.ptp_loaded or other.ptp_loaded,
                          self.mue_loaded or other.mue_loaded)

    def pair(self, column1: str, column2: str, day: dt.date) -> PtpEdit | None:
        """The edit in force on the date for the pair, if any (the newest effective one)."""
        live = [e for e in self.pairs.get((column1, column2), ()) if e.in_force(day)]
        return max(live, key=lambda e: e.effective) if live else None


__all__ = ["MueEdit", "NcciTables", "ParsedTable", "PtpEdit", "detect_kind", "iter_rows", "parse_table"]
