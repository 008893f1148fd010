"""CSV cells for spreadsheets: money and rates as plain numbers, dates in ISO 8601, an empty cell for no value, and
text that a spreadsheet would run as a formula defused. Pure: no server."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from service.entrypoints.api.csv_export import cell, csv_response, csv_text


@pytest.mark.parametrize(("value", "text"), [
    (Decimal("1200"), "1200.00"), (Decimal("812.405"), "812.41"), (Decimal("-150.5"), "-150.50"),
    (0.479167, "0.479167"), (3, "3"), (None, ""), (True, "true"), (False, "false"),
    (dt.date(2026, 3, 2), "2026-03-02"), (dt.datetime(2026, 3, 2, 14, 5, tzinfo=dt.UTC), "2026-03-02T14:05:00+00:00"),
    ("MCR-JL", "MCR-JL"), ("CO-50 with N115: not medically necessary", "CO-50 with N115: not medically necessary"),
])
def test_values_become_plain_spreadsheet_text(value, text):
    assert cell(value) == text


@pytest.mark.parametrize("formula", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\r=1"])
def test_text_a_spreadsheet_would_run_as_a_formula_is_defused_but_numbers_never_are(formula):
    assert cell(formula) == "'" + formula
    assert cell(Decimal("-2")) == "-2.00" and cell(-2) == "-2"


def test_a_csv_has_a_header_row_and_quotes_what_needs_quoting():
    text = csv_text(("claim_id", "explanation", "amount"), [("C1", 'denied, "twice"\nsee notes', Decimal("5"))])
    assert text.splitlines()[0] == "claim_id,explanation,amount"
    assert list(csv.reader(io.StringIO(text))) == [["claim_id", "explanation", "amount"],
                                                   ["C1", 'denied, "twice"\nsee notes', "5.00"]]


def test_a_csv_response_is_an_uncached_download():
    resp = csv_response("worklist-2026-03-02.csv", ("a",), [(1,)], {"X-Next-Offset": "1"})
    assert resp.content_type == "text/csv" and resp.charset == "utf-8"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="worklist-2026-03-02.csv"'
    assert resp.headers["Cache-Control"] == "no-store" and resp.headers["X-Next-Offset"] == "1"
    assert resp.text == "a\r\n1\r\n"
