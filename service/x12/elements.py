"""Reading element values out of pyx12 segments, and parsing X12 amounts, quantities and dates.

Values are read straight from pyx12's parsed `Segment` (its element lists) rather than through its path API:
the parse rate budget is a few percent over pyx12's own walk. Parse failures raise `FieldError`, which names the
element and never its value.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

_DECIMAL = re.compile(r"^-?(?:\d+\.?\d*|\.\d+)$")
_CENT = Decimal("0.01")


class FieldError(ValueError):
    def __init__(self, element: str, reason: str) -> None:
        super().__init__(f"{element}: {reason}")
        self.element = element
        self.reason = reason


def el(seg, n: int) -> str:
    """Element `n` (1-based) as sent, '' when absent. A simple element that happens to contain the component
    separator (a name with ':') is joined back."""
    elements = seg.elements
    if n > len(elements):
        return ""
    parts = elements[n - 1].elements
    if len(parts) == 1:
        return parts[0].value
    return seg.subele_term.join(p.value for p in parts)


def components(seg, n: int) -> list[str]:
    """The components of composite element `n` (1-based); [] when absent."""
    elements = seg.elements
    if n > len(elements):
        return []
    return [p.value for p in elements[n - 1].elements]


def person_name(seg) -> str | None:
    """NM1 name as "LAST, FIRST MIDDLE" (NM103, NM104, NM105); None when empty."""
    last, first, middle = el(seg, 3), el(seg, 4), el(seg, 5)
    given = " ".join(x for x in (first, middle) if x)
    return ", ".join(p for p in (last, given) if p) or None


def amount(value: str, element: str) -> Decimal:
    """An X12 `R` amount: money keeps cents; more precision than cents is an error, not a rounding."""
    if not _DECIMAL.match(value):
        raise FieldError(element, "is not a decimal amount" if value else "is missing")
    try:
        number = Decimal(value)
    except InvalidOperation:  # pragma: no cover - the pattern above admits only valid decimals
        raise FieldError(element, "is not a decimal amount") from None
    cents = number.quantize(_CENT)
    if cents != number:
        raise FieldError(element, "has more precision than cents")
    return cents


def is_amount(value: str) -> bool:
    """`value` reads as an amount (never raises)."""
    return bool(_DECIMAL.match(value))


def optional_amount(value: str, element: str) -> Decimal | None:
    return amount(value, element) if value else None


def quantity(value: str, element: str) -> Decimal | None:
    if not value:
        return None
    if not _DECIMAL.match(value):
        raise FieldError(element, "is not a decimal quantity")
    number = Decimal(value)
    return number.normalize() if number == number.to_integral_value() else number


def date(value: str, element: str) -> dt.date:
    """CCYYMMDD."""
    if len(value) != 8 or not value.isdigit():
        raise FieldError(element, "is not a CCYYMMDD date" if value else "is missing")
    try:
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise FieldError(element, "is not a valid calendar date") from None


def date_range(qualifier: str, value: str, element: str) -> tuple[dt.date, dt.date]:
    """DTP D8 (one date) or RD8 (CCYYMMDD-CCYYMMDD)."""
    if qualifier == "RD8" or (not qualifier and "-" in value):
        start, sep, end = value.partition("-")
        if not sep:
            raise FieldError(element, "is not a CCYYMMDD-CCYYMMDD range")
        return date(start, element), date(end, element)
    day = date(value, element)
    return day, day


def timestamp(day: str, time: str) -> dt.datetime | None:
    """GS04/GS05 or BHT04/BHT05 as an aware UTC datetime (the envelope carries no zone); None when unreadable."""
    try:
        d = date(day, "date")
    except FieldError:
        return None
    digits = time[:6] if time.isdigit() else ""
    hour = int(digits[:2]) if len(digits) >= 2 else 0
    minute = int(digits[2:4]) if len(digits) >= 4 else 0
    second = int(digits[4:6]) if len(digits) >= 6 else 0
    if hour > 23 or minute > 59 or second > 59:
        hour = minute = second = 0
    return dt.datetime(d.year, d.month, d.day, hour, minute, second, tzinfo=dt.UTC)
