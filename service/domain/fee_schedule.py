"""Payer fee schedules: the contracted allowable per CPT/HCPCS code (and modifier) with effective dates.

`parse_fee_schedule_csv` validates an import file and names the line and column of every problem; `FeeSchedule`
answers "what rate applied to this code on this date of service" for the rows the service layer loaded for a batch.

Resolution rule (documented for the import command too): among the rows of the payer and code whose period covers the
date of service, a row for one of the line's modifiers wins over the base row (modifier ""), and the row with the
latest `effective_from` wins among equals, so a newer schedule supersedes an older open-ended one from its start date.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from service.domain.import_files import ImportFileError

CODE_PATTERN = re.compile(r"^(?:[0-9]{4}[0-9FTU]|[A-V][0-9]{4})$")  # CPT (incl. cat II/III, PLA) or HCPCS level II
MODIFIER_PATTERN = re.compile(r"^[0-9A-Z]{2}$")
PAYER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
REQUIRED_COLUMNS = ("code", "amount", "effective_from")
OPTIONAL_COLUMNS = ("modifier", "effective_to")
MAX_AMOUNT = Decimal("1000000")
MAX_ROWS = 200_000


@dataclass(frozen=True, slots=True)
class FeeRate:
    """One contracted rate: `amount` is the allowable for one unit, from `effective_from` to `effective_to`
    (inclusive; None: open-ended). `modifier` "" is the code's base rate."""

    payer_id: str
    code: str
    amount: Decimal
    effective_from: dt.date
    modifier: str = ""
    effective_to: dt.date | None = None
    source: str | None = None

    def covers(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def describe(self) -> str:
        code = f"{self.code}-{self.modifier}" if self.modifier else self.code
        period = f"from {self.effective_from.isoformat()}"
        if self.effective_to is not None:
            period += f" to {self.effective_to.isoformat()}"
        return f"{self.payer_id} fee schedule {code} ${self.amount:.2f} ({period})"


class FeeSchedule:
    """The rates loaded for one batch (plain values), indexed by payer and code."""

    def __init__(self, rates: Iterable[FeeRate] = ()) -> None:
        self._by_code: dict[tuple[str, str], list[FeeRate]] = {}
        for rate in rates:
            self._by_code.setdefault((rate.payer_id, rate.code), []).append(rate)
        self.payers = frozenset(payer for payer, _ in self._by_code)

    def __bool__(self) -> bool:
        return bool(self._by_code)

    def has_payer(self, payer_id: str) -> bool:
        return payer_id in self.payers

    def rate(self, payer_id: str, code: str, modifiers: Sequence[str], on: dt.date) -> FeeRate | None:
        """The rate for the code on the date of service: a row for one of the line's modifiers first (in the line's
        modifier order), else the base row; the latest effective_from among rows that cover the date."""
        covering = [r for r in self._by_code.get((payer_id, code), ()) if r.covers(on)]
        if not covering:
            return None
        for modifier in (*modifiers, ""):
            rows = [r for r in covering if r.modifier == modifier]
            if rows:
                return max(rows, key=lambda r: r.effective_from)
        return None


# -- the import file ------------------------------------------------------------------------------------------------

class FeeScheduleError(ImportFileError):
    """A fee-schedule file that cannot be used as a whole; `problems` name the line and column of each."""


def validate_payer_id(payer_id: str) -> str:
    value = (payer_id or "").strip()
    if not PAYER_PATTERN.match(value):
        raise FeeScheduleError("--payer", [
            "--payer: expected a payer id of letters, digits, '.', '_' or '-' (at most 64 characters)"])
    return value


def _amount(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number (write 123.45, no currency sign or thousands separator)") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    if value < 0:
        raise ValueError(f"{text!r} is negative")
    if value >= MAX_AMOUNT:
        raise ValueError(f"{text!r} is not below {MAX_AMOUNT}")
    if value.as_tuple().exponent < -2:
        raise ValueError(f"{text!r} has more than 2 decimal places")
    return value.quantize(Decimal("0.01"))


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (write YYYY-MM-DD)") from None


def parse_fee_schedule_csv(text: str, *, payer_id: str, source: str = "fee schedule") -> list[FeeRate]:
    """Every row of a fee-schedule CSV as a FeeRate, or FeeScheduleError naming each bad line and column.

    Columns: code, amount, effective_from (required); modifier, effective_to (optional). One file is one payer's
    schedule (`payer_id`). Two rows of one code and modifier may not cover the same day."""
    payer_id = validate_payer_id(payer_id)
    if text.startswith("\ufeff"):
        text = text[1:]  # a spreadsheet's byte-order mark
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise FeeScheduleError(source, ["the file is empty: expected a header line "
                                        f"({', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)})"]) from None
    except csv.Error as exc:
        raise FeeScheduleError(source, [f"line 1: not CSV ({exc})"]) from None
    columns = [h.strip().lower() for h in header]
    problems: list[str] = []
    unknown = [c for c in columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if missing:
        problems.append(f"line 1: missing column(s) {', '.join(missing)}")
    if unknown:
        problems.append(f"line 1: unknown column(s) {', '.join(repr(c) for c in unknown)} "
                        f"(known: {', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)})")
    if repeated:
        problems.append(f"line 1: column(s) named twice: {', '.join(repeated)}")
    if problems:
        raise FeeScheduleError(source, problems)

    rates: list[tuple[int, FeeRate]] = []
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue  # a blank line
            if len(rates) >= MAX_ROWS:
                problems.append(f"line {line}: more than {MAX_ROWS} rows; split the file")
                break
            if len(row) != len(columns):
                problems.append(f"line {line}: {len(row)} fields, the header has {len(columns)}")
                continue
            cells = {c: v.strip() for c, v in zip(columns, row, strict=True)}
            rate = _row(cells, line, payer_id, source, problems)
            if rate is not None:
                rates.append((line, rate))
    except csv.Error as exc:
        problems.append(f"line {reader.line_num}: not CSV ({exc})")
    if not rates and not problems:
        problems.append("no rates: the file has a header but no rows")
    problems.extend(_overlaps(rates))
    if problems:
        raise FeeScheduleError(source, problems)
    return [rate for _, rate in rates]


def _row(cells: dict[str, str], line: int, payer_id: str, source: str, problems: list[str]) -> FeeRate | None:
    before = len(problems)

    def bad(column: str, why: str) -> None:
        problems.append(f"line {line}, column '{column}': {why}")

    code = cells["code"].upper()
    if not code:
        bad("code", "empty")
    elif not CODE_PATTERN.match(code):
        bad("code", f"{cells['code']!r} is not a CPT or HCPCS code (5 characters, e.g. 64483 or J1040)")
    modifier = cells.get("modifier", "").upper()
    if modifier and not MODIFIER_PATTERN.match(modifier):
        bad("modifier", f"{cells['modifier']!r} is not a modifier (2 letters or digits, e.g. 50 or TC)")
    amount = start = end = None
    if not cells["amount"]:
        bad("amount", "empty")
    else:
        try:
            amount = _amount(cells["amount"])
        except ValueError as exc:
            bad("amount", str(exc))
    if not cells["effective_from"]:
        bad("effective_from", "empty")
    else:
        try:
            start = _date(cells["effective_from"])
        except ValueError as exc:
            bad("effective_from", str(exc))
    if cells.get("effective_to"):
        try:
            end = _date(cells["effective_to"])
        except ValueError as exc:
            bad("effective_to", str(exc))
    if start is not None and end is not None and end < start:
        bad("effective_to", f"{end.isoformat()} is before effective_from {start.isoformat()}")
    if len(problems) > before or amount is None or start is None:
        return None
    return FeeRate(payer_id=payer_id, code=code, modifier=modifier, amount=amount, effective_from=start,
                   effective_to=end, source=source)


def _overlaps(rates: list[tuple[int, FeeRate]]) -> list[str]:
    """Two rows of one code and modifier that cover a common day give two prices for it: name both lines."""
    problems = []
    by_key: dict[tuple[str, str], list[tuple[int, FeeRate]]] = {}
    for line, rate in rates:
        by_key.setdefault((rate.code, rate.modifier), []).append((line, rate))
    far = dt.date.max
    for (code, modifier), rows in sorted(by_key.items()):
        rows.sort(key=lambda x: (x[1].effective_from, x[0]))
        line_a, a = rows[0]  # the earlier row that reaches furthest
        for line_b, b in rows[1:]:
            if b.effective_from <= (a.effective_to or far):
                name = f"{code}-{modifier}" if modifier else code
                problems.append(f"line {line_b}, column 'effective_from': {name} from {b.effective_from.isoformat()} "
                                f"overlaps line {line_a} ({a.effective_from.isoformat()} to "
                                f"{a.effective_to.isoformat() if a.effective_to else 'open'})")
            if (b.effective_to or far) > (a.effective_to or far):
                line_a, a = line_b, b
    return problems
