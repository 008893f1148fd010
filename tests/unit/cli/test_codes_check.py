"""`denials rules codes-check FILE`: compares a code table with a downloaded list; missing, retired, extra and
re-dated codes are differences (exit 1), a list equal to the table is clean (exit 0), an unreadable file exits 2 with
one sentence naming the file and line."""

import json
import re

import pytest
import typer
from typer.testing import CliRunner

from service.domain.classification import load_classifier
from service.entrypoints.commands import rules

CODES = load_classifier().codes


@pytest.fixture
def app():
    app = typer.Typer()
    rules.register(app)
    app.command("noop")(lambda: None)
    return app


def invoke(app, *args):
    return CliRunner().invoke(app, ["rules", "codes-check", *args])


def table_as_csv(which):
    """Our own table written the way a downloaded CSV would be: code,start,stop,description."""
    periods = rules.table_periods(CODES, which)
    rows = ["code,start,stop,description"]
    rows += [f"{code},{p.start or ''},{p.stop or ''},x" for code, p in periods.items()]
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize("which", rules.LISTS)
def test_a_list_equal_to_our_table_is_clean(app, tmp_path, which):
    path = tmp_path / f"{which}.csv"
    path.write_text(table_as_csv(which))
    result = invoke(app, str(path), "--list", which)
    assert result.exit_code == 0, result.stdout
    assert "no differences" in result.stdout


def test_a_new_code_in_the_list_is_missing_from_our_table(app, tmp_path):
    path = tmp_path / "rarc.csv"
    path.write_text(table_as_csv("rarc") + "N999,2026-07-01,,a code X12 added\n")
    result = invoke(app, str(path))
    assert result.exit_code == 1
    assert "list auto-detected" in result.stdout and "our rarc table" in result.stdout
    assert "missing from our table: 1" in result.stdout and "N999" in result.stdout


def test_a_code_the_list_retires_is_reported_while_we_treat_it_as_active(app, tmp_path):
    text = re.sub(r"\n45,([0-9-]*),,x\n", r"\n45,\1,2026-11-01,x\n", table_as_csv("carc"))
    assert "45," in text and ",2026-11-01,x" in text
    (tmp_path / "carc.csv").write_text(text)
    result = invoke(app, str(tmp_path / "carc.csv"), "--list", "carc", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["retired_in_list_active_here"] == ["45"] and report["list"] == "carc"


def test_a_changed_start_date_and_a_code_the_list_lacks_are_reported(app, tmp_path):
    lines = table_as_csv("rarc").splitlines()
    lines = [ln for ln in lines if not ln.startswith("N115,")]
    lines = [("M1,1998-01-01,,x" if ln.startswith("M1,") else ln) for ln in lines]
    (tmp_path / "rarc.csv").write_text("\n".join(lines) + "\n")
    result = invoke(app, str(tmp_path / "rarc.csv"), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["not_in_list"] == ["N115"]
    assert report["changed_dates"] == [{"code": "M1", "start": {"ours": "1997-01-01", "list": "1998-01-01"}}]


def test_one_code_per_line_without_dates_is_detected_as_status_codes(app, tmp_path):
    path = tmp_path / "508.txt"
    path.write_text("\n".join(CODES.status_codes) + "\n")
    result = invoke(app, str(path))
    assert result.exit_code == 0, result.stdout
    assert "our status-code table" in result.stdout


def test_categories_are_detected_from_their_shape(app, tmp_path):
    path = tmp_path / "507.txt"
    path.write_text("A0\nA1\nF3F\nR17\n")
    report = json.loads(invoke(app, str(path), "--json").stdout)
    assert report["list"] == "status-category" and report["auto_detected"] is True


@pytest.mark.parametrize(("content", "where"), [
    ("code,start\nN1,2020-13-45\n", "line 2"),
    ("N1\nthis is not a code\n", "line 2"),
])
def test_an_unreadable_file_exits_2_naming_the_file_and_line(app, tmp_path, content, where):
    path = tmp_path / "list.csv"
    path.write_text(content)
    result = invoke(app, str(path))
    assert result.exit_code == 2
    assert str(path) in result.stderr and where in result.stderr


def test_a_file_that_does_not_exist_exits_2(app, tmp_path):
    result = invoke(app, str(tmp_path / "nope.csv"))
    assert result.exit_code == 2 and "cannot read the file" in result.stderr
