"""`denials ingest --dry-run`: JSON lines only on stdout, the summary on stderr, exit codes 0 / 1 / 2 (3: nowhere to
publish)."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from service.config import get_settings
from service.entrypoints.commands import ingest
from service.x12.synthetic import pain_management_remittance, render
from tests.unit.x12.conftest import DEFECTS, sample


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:  # a group, so the command is invoked by name as under `denials`
        pass

    ingest.register(app)
    return app


@pytest.fixture(autouse=True)
def settings(monkeypatch):
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("DENIALS_X12_MAX_BYTES", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(app, *args: str):
    return CliRunner().invoke(app, ["ingest", *args])


def json_lines(stdout: str) -> list[dict]:
    lines = [json.loads(line) for line in stdout.splitlines()]
    for line in lines:
        assert set(line) == {"topic", "key", "value"}
    return lines


def test_dry_run_of_a_clean_file_prints_one_json_line_per_record_and_exits_0(app, tmp_path):
    path = tmp_path / "pain.835"
    path.write_bytes(render(pain_management_remittance()))
    result = run(app, "--dry-run", str(path))

    assert result.exit_code == 0, result.stderr
    lines = json_lines(result.stdout)
    assert [ln["topic"] for ln in lines] == ["claims.remittance.v1"] * 6 + ["remittance.provider-adjustments.v1"] * 2
    assert lines[0]["key"] == "PM-1001" and lines[0]["value"]["claim"]["claim_id"] == "PM-1001"
    assert lines[-1]["key"] == "1234567893"
    assert ("files: 1, claims: 6, status records: 0, provider adjustments: 2, unbalanced: 0, flagged: 0, errors: 0, "
            "warnings: 0" in result.stderr)


def test_dry_run_of_profee_multiple_is_468_lines(app):
    result = run(app, "--dry-run", str(sample("emedny-profee-multiple.835")))

    assert result.exit_code == 0, result.stderr
    assert len(json_lines(result.stdout)) == 468
    assert "claims: 468" in result.stderr


def test_some_claims_rejected_exits_1_and_names_them_without_values(app):
    result = run(app, "--dry-run", str(DEFECTS / "08-unreadable-claim-money.835"), str(sample("emedny-profee.835")))

    assert result.exit_code == 1
    assert len(json_lines(result.stdout)) == 2 + 3
    assert "rejected claim 2 of transaction set 0001" in result.stderr and "CLP03" in result.stderr
    assert "HCP-5002" not in result.stderr and "24O0" not in result.stderr  # the claim's id, the value as sent
    assert "errors: 1" in result.stderr


def test_flags_are_counted_and_listed_with_verbose_without_phi(app):
    quiet = run(app, "--dry-run", str(DEFECTS / "05-svc-empty-amounts-too-many-elements.835"))
    loud = run(app, "--dry-run", "-v", str(DEFECTS / "05-svc-empty-amounts-too-many-elements.835"))

    assert quiet.exit_code == loud.exit_code == 0
    assert "flagged: 1, errors: 0" in quiet.stderr and "flag on" not in quiet.stderr
    assert ("flag on record 1 of transaction set 0001 (interchange 1): line 26, segment SVC (set position 24), "
            "element SVC02: SVC02 is empty: read as 0.00 [pyx12 1]") in loud.stderr
    assert "HCP-5001" not in loud.stderr and "W100200300" not in loud.stderr and "TESTER" not in loud.stderr


def test_a_claim_id_shared_by_patients_is_warned_about_without_verbose(app):
    result = run(app, "--dry-run", str(DEFECTS / "07-shared-clp01-three-patients.835"))

    assert result.exit_code == 0
    assert "one CLP01 is shared by 3 patients (records 1, 2, 3, 4, 5 of their sets)" in result.stderr
    assert "7722" not in result.stderr
    keys = [line["key"] for line in json_lines(result.stdout)]
    assert len(set(keys)) == 3 and keys[0] == "7722"


def test_a_rejected_file_exits_2_and_the_others_still_come_out(app, tmp_path):
    bad = tmp_path / "not-x12.txt"
    bad.write_text("hello")
    result = run(app, "--dry-run", str(bad), str(sample("tr3-claim-level-status.277")))

    assert result.exit_code == 2
    assert [ln["topic"] for ln in json_lines(result.stdout)] == ["claims.status.v1"] * 3
    assert f"{bad}: rejected" in result.stderr and "not an X12 interchange" in result.stderr
    assert "files: 2 (1 rejected)" in result.stderr and "status records: 3" in result.stderr


def test_missing_and_oversize_files_are_rejected(app, tmp_path, monkeypatch):
    monkeypatch.setenv("DENIALS_X12_MAX_BYTES", "1024")
    get_settings.cache_clear()
    result = run(app, "--dry-run", str(tmp_path / "absent.835"), str(sample("emedny-profee-multiple.835")))

    assert result.exit_code == 2
    assert result.stdout == ""
    assert "cannot read the file" in result.stderr and "over the 1024-byte limit" in result.stderr


def test_without_dry_run_a_broker_is_required(app):
    result = run(app, str(sample("emedny-profee.835")))

    assert result.exit_code == 3
    assert "KAFKA_BOOTSTRAP_SERVERS is not set" in result.stderr and result.stdout == ""


def test_the_command_is_registered_in_the_denials_cli():
    source = (ingest.__file__.rsplit("/", 2)[0] + "/cli.py")
    with open(source) as fh:
        assert '"service.entrypoints.commands.ingest"' in fh.read()
