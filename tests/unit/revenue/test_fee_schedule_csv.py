"""The fee-schedule import file: every problem named by line and column, nothing half-read; and which row applies."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from service.domain.fee_schedule import FeeRate, FeeSchedule, FeeScheduleError, parse_fee_schedule_csv


def parse(text: str, payer: str = "MCR-JL"):
    return parse_fee_schedule_csv(text, payer_id=payer, source="fees.csv")


def problems(text: str, payer: str = "MCR-JL") -> tuple[str, ...]:
    with pytest.raises(FeeScheduleError) as err:
        parse(text, payer)
    return err.value.problems


def test_a_valid_file_gives_one_rate_per_row():
    rates = parse("\ufeffcode,modifier,amount,effective_from,effective_to\n"
                  "64483,,200.00,2026-01-01,\n"
                  "64483,50,280,2026-01-01,2026-12-31\n"
                  "j1040,,12.5,2026-01-01,\n"
                  "\n")
    assert rates == [
        FeeRate("MCR-JL", "64483", Decimal("200.00"), dt.date(2026, 1, 1), "", None, "fees.csv"),
        FeeRate("MCR-JL", "64483", Decimal("280.00"), dt.date(2026, 1, 1), "50", dt.date(2026, 12, 31), "fees.csv"),
        FeeRate("MCR-JL", "J1040", Decimal("12.50"), dt.date(2026, 1, 1), "", None, "fees.csv"),
    ]


def test_each_bad_cell_is_named_by_line_and_column():
    found = problems("code,amount,effective_from,effective_to\n"
                     "6448,200.00,2026-01-01,\n"
                     "64483,$200,2026-01-01,\n"
                     "64484,90.005,2026-01-01,\n"
                     "64490,-1,2026-01-01,\n"
                     "64493,150.00,01/01/2026,\n"
                     "64494,75.00,2026-02-01,2026-01-31\n"
                     "64495,,2026-01-01,\n"
                     "27096,100.00\n")
    assert found == (
        "line 2, column 'code': '6448' is not a CPT or HCPCS code (5 characters, e.g. 64483 or J1040)",
        "line 3, column 'amount': '$200' is not a number (write 123.45, no currency sign or thousands separator)",
        "line 4, column 'amount': '90.005' has more than 2 decimal places",
        "line 5, column 'amount': '-1' is negative",
        "line 6, column 'effective_from': '01/01/2026' is not a date (write YYYY-MM-DD)",
        "line 7, column 'effective_to': 2026-01-31 is before effective_from 2026-02-01",
        "line 8, column 'amount': empty",
        "line 9: 2 fields, the header has 4",
    )


def test_the_header_must_name_the_required_columns_and_nothing_unknown():
    assert problems("code,amt,effective_from\n64483,1,2026-01-01\n") == (
        "line 1: missing column(s) amount",
        "line 1: unknown column(s) 'amt' (known: code, amount, effective_from, modifier, effective_to)",
    )
    assert problems("") == ("the file is empty: expected a header line "
                            "(code, amount, effective_from, modifier, effective_to)",)
    assert problems("code,amount,effective_from\n") == ("no rates: the file has a header but no rows",)


def test_two_rows_pricing_the_same_day_are_refused_even_when_not_adjacent():
    found = problems("code,amount,effective_from,effective_to\n"
                     "64483,200.00,2026-01-01,2026-12-31\n"
                     "64483,210.00,2026-02-01,2026-02-28\n"
                     "64483,220.00,2026-03-01,\n"
                     "64484,90.00,2026-01-01,2026-06-30\n"
                     "64484,95.00,2026-07-01,\n")
    assert found == (
        "line 3, column 'effective_from': 64483 from 2026-02-01 overlaps line 2 (2026-01-01 to 2026-12-31)",
        "line 4, column 'effective_from': 64483 from 2026-03-01 overlaps line 2 (2026-01-01 to 2026-12-31)",
    )


def test_a_bad_payer_id_is_refused():
    assert problems("code,amount,effective_from\n64483,1,2026-01-01\n", payer="bad payer!") == (
        "--payer: expected a payer id of letters, digits, '.', '_' or '-' (at most 64 characters)",)


def test_the_error_message_says_nothing_was_imported_and_lists_the_problems():
    with pytest.raises(FeeScheduleError) as err:
        parse("code,amount,effective_from\n64483,x,2026-01-01\n")
    assert str(err.value).startswith("fees.csv: 1 problem(s), nothing imported\nline 2, column 'amount'")


def test_the_rate_for_a_date_prefers_the_line_modifier_then_the_latest_start():
    rates = [FeeRate("P", "64483", Decimal("150.00"), dt.date(2025, 1, 1)),
             FeeRate("P", "64483", Decimal("200.00"), dt.date(2026, 1, 1), effective_to=dt.date(2026, 6, 30)),
             FeeRate("P", "64483", Decimal("280.00"), dt.date(2026, 1, 1), modifier="50")]
    fees = FeeSchedule(rates)
    assert fees.rate("P", "64483", ("RT",), dt.date(2026, 3, 1)).amount == Decimal("200.00")
    assert fees.rate("P", "64483", ("50",), dt.date(2026, 3, 1)).amount == Decimal("280.00")
    assert fees.rate("P", "64483", (), dt.date(2026, 6, 30)).amount == Decimal("200.00")  # end date inclusive
    assert fees.rate("P", "64483", (), dt.date(2026, 7, 1)).amount == Decimal("150.00")  # the older row again
    assert fees.rate("P", "64483", (), dt.date(2024, 12, 31)) is None
    assert fees.rate("Q", "64483", (), dt.date(2026, 3, 1)) is None
