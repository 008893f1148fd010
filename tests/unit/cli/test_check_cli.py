"""`denials check` as a billing team runs it without a database: inputs it reads, exit status, what goes where."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from service.entrypoints.cli import app

DEFECTS = Path(__file__).resolve().parents[2] / "x12_defects"
CLEAN_ESI = {
    "event_id": "st-1", "kind": "submitted", "occurred_at": "2026-03-02T17:00:00Z",
    "payer": {"id": "MCR-JF", "type": "medicare"},
    "claim": {"claim_id": "CL-1", "patient": {"member_id": "1EG4TE5MK72", "patient_ref": "MRN-1"},
              "diagnoses": ["M54.16"], "service_date_from": "2026-02-16",
              "lines": [{"line_id": "1", "procedure": {"code": "62323"}, "charge": 1380.0,
                         "service_date": "2026-02-16", "diagnosis_pointers": [1]}]},
}


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(app, ["check", *args, "--history", "input"], input=stdin)


def test_a_clean_claim_exits_0_with_nothing_on_stdout():
    result = run("-", stdin=json.dumps(CLEAN_ESI) + "\n")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "1 claim (1 lines) checked: 0 likely denied" in result.stderr


def test_findings_exit_1_one_json_object_per_line():
    axial = json.loads(json.dumps(CLEAN_ESI))
    axial["claim"]["diagnoses"] = ["M54.50"]
    result = run("-", stdin=json.dumps(axial) + "\n")
    assert result.exit_code == 1
    (finding,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert finding["rule_id"] == "diagnosis.axial_only" and finding["claim_id"] == "CL-1"


def test_ingest_dry_run_lines_are_read_and_other_records_skipped():
    lines = [json.dumps({"topic": "claims.status.v1", "key": "CL-1", "value": CLEAN_ESI}),
             json.dumps({"topic": "claims.status.v1", "key": "CL-1", "value": {
                 **CLEAN_ESI, "event_id": "st-2", "kind": "acknowledgement", "claim": {"claim_id": "CL-1"},
                 "status": {"category": "A2", "code": "20"}}})]
    result = run("-", stdin="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.stderr
    assert "1 records that are not submitted claims skipped" in result.stderr


def test_an_837p_is_read_through_the_x12_gateway():
    result = run(str(DEFECTS / "30-837p-clean-control.837"))
    assert result.exit_code == 1
    claims = {json.loads(line)["claim_id"] for line in result.stdout.splitlines()}
    assert claims == {"HCP-7001", "HCP-7002"}


def test_an_unreadable_claim_exits_2_naming_its_place_after_checking_the_others():
    result = run(str(DEFECTS / "32-837p-unreadable-line-charge.837"))
    assert result.exit_code == 2
    assert "SV102" in result.stderr and "could not be read" in result.stderr
    assert result.stdout  # the readable claim was checked


def test_a_bad_json_line_exits_2_without_echoing_its_values():
    bad = json.loads(json.dumps(CLEAN_ESI))
    bad["claim"]["lines"][0]["charge"] = "SECRET-not-money"
    result = run("-", stdin=json.dumps(bad) + "\n")
    assert result.exit_code == 2
    assert "<stdin>:1:" in result.stderr and "SECRET" not in result.stderr


def test_input_without_a_submitted_claim_exits_2_in_one_sentence(tmp_path):
    path = tmp_path / "remits.835"
    path.write_bytes((DEFECTS / "00-clean-control.835").read_bytes())
    result = run(str(path))
    assert result.exit_code == 2
    assert "holds no submitted claim" in result.stderr
    missing = run(str(tmp_path / "nope.837"))
    assert missing.exit_code == 2 and "cannot read" in missing.stderr


def test_a_file_that_is_neither_x12_nor_json_is_refused_in_one_sentence():
    result = run(str(DEFECTS / "19-not-x12.835"))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "neither an X12 837P" in result.stderr


def test_an_unreachable_database_falls_back_to_the_input_and_says_so_unless_it_is_required(monkeypatch, tmp_path):
    import socket

    from service.config import get_settings

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        url = f"postgresql://postgres@127.0.0.1:{s.getsockname()[1]}/none"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DENIALS_DB_CONNECT_TIMEOUT_S", "1")
    monkeypatch.setenv("DENIALS_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        stdin = json.dumps(CLEAN_ESI) + "\n"
        auto = CliRunner().invoke(app, ["check", "-"], input=stdin)
        assert auto.exit_code == 0, auto.stderr
        assert "history from the input only: cannot reach PostgreSQL (DATABASE_URL)" in auto.stderr
        required = CliRunner().invoke(app, ["check", "-", "--history", "database"], input=stdin)
        assert required.exit_code == 3
        assert "cannot reach PostgreSQL (DATABASE_URL)" in required.stderr
    finally:
        get_settings.cache_clear()
