"""CSV downloads for people who work in spreadsheets: the work list (`GET /api/worklist?format=csv`) and each table of
the dashboard (`GET /api/kpis?format=csv&table=...`).

Built from the same response models as the JSON views, so a CSV holds exactly what that token's JSON view shows
(nothing more) and follows any change to them. Written with the `csv` module: a header row, money and rates as plain
numbers (`1234.50`, `0.25`), dates in ISO 8601, an empty cell for no value. A text cell that a spreadsheet would
read as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading apostrophe; numbers
are never altered."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from aiohttp import web

CENT = Decimal("0.01")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """One value as spreadsheet text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.quantize(CENT, ROUND_HALF_UP), "f")
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180 line ends, as spreadsheets write them
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]],
                 headers: dict[str, str] | None = None) -> web.Response:
    """A `text/csv` download (never cached: the work list holds claim ids)."""
    return web.Response(text=csv_text(header, rows), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                 "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                                 **(headers or {})})
