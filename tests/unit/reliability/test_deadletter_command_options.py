"""The pure parts of `denials deadletters`: --since parsing and the human table."""

from __future__ import annotations

import datetime as dt

import pytest
import typer

from service.entrypoints.commands.deadletters import parse_since, render_table

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("90m", NOW - dt.timedelta(minutes=90)),
    ("12h", NOW - dt.timedelta(hours=12)),
    ("7d", NOW - dt.timedelta(days=7)),
    ("2026-03-01", dt.datetime(2026, 3, 1, tzinfo=dt.UTC)),
    ("2026-03-01T08:30:00Z", dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.UTC)),
    ("2026-03-01T08:30:00-05:00", dt.datetime(2026, 3, 1, 13, 30, tzinfo=dt.UTC)),
])
def test_since_takes_an_age_or_an_iso_date_in_utc(text, expected):
    assert parse_since(text, now=NOW) == expected


def test_since_rejects_anything_else_with_exit_2():
    with pytest.raises(typer.Exit) as info:
        parse_since("last tuesday", now=NOW)
    assert info.value.exit_code == 2


def test_the_table_aligns_columns_and_clips_long_reasons():
    out = render_table([{"id": 1, "reason": "x" * 100}, {"id": 22, "reason": "short"}],
                       [("ID", "id", 8), ("REASON", "reason", 20)]).splitlines()
    assert out[0].split() == ["ID", "REASON"]
    assert out[1].startswith("1   ") and len(out[1].split()[1]) == 20 and out[1].endswith("…")
    assert out[2].split() == ["22", "short"]
