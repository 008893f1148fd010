"""X12 files we wrote, one defect each (tests/x12_defects): every readable claim is published with the right flags,
an unreadable claim is rejected alone, an unreadable file is refused with one sentence naming the element.

`expected.toml` holds the hand-written expectations; `<file>.jsonl` the golden dry-run output, which pins every other
field. After a deliberate change: `python -m tests.unit.x12.test_defects --update`, then review the diff."""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import pytest

from service.x12 import parse_file
from tests.unit.x12.conftest import DEFECTS

EXPECTED = tomllib.loads((DEFECTS / "expected.toml").read_text())
FILES = sorted(p for p in DEFECTS.iterdir() if p.suffix in (".835", ".277", ".837"))
SOURCE = "x12-defects"


def golden_lines(path: Path) -> list[str]:
    return [record.json_line() for record in parse_file(path, source=SOURCE).records()]


def golden_path(path: Path) -> Path:
    return path.with_name(path.name + ".jsonl")


def _flag(flag) -> list[str]:
    return [flag.code, flag.segment or "", flag.element or "", flag.pyx12_code or "", flag.value or ""]


def _at(data, path: str):
    for part in path.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return "" if data is None else data


def test_every_file_has_expectations_and_every_expectation_a_file():
    assert sorted(EXPECTED) == [p.name for p in FILES]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_the_file_gives_exactly_the_expected_records_and_flags(path):
    expected = EXPECTED[path.name]
    result = parse_file(path, source=SOURCE)

    assert result.exit_code == expected["exit"], [str(i) for i in result.issues]
    if expected["exit"] == 2:
        assert [i.reason for i in result.fatal] == [expected["refusal"]]
        assert result.events == ()
        return
    assert [i.code for i in result.warnings] == expected["warnings"]
    records = [{"id": (e.claim.claim_id if e.claim is not None else ""), "flags": [_flag(f) for f in e.data_quality]}
               for e in result.events]
    assert records == [{"id": r["id"], "flags": r.get("flags", [])} for r in expected["records"]]
    assert result.counts.flagged == sum(1 for r in expected["records"] if r.get("flags"))
    rejected = [[e.record_position, e.issues[0].element] for e in result.record_errors]
    assert rejected == expected.get("rejected", [])
    dumped = [e.model_dump(mode="json") for e in result.events]
    for path_in_records, value in expected.get("facts", {}).items():
        assert _at(dumped, path_in_records) == value, path_in_records


@pytest.mark.parametrize("path", [p for p in FILES if EXPECTED[p.name]["exit"] != 2], ids=lambda p: p.name)
def test_the_dry_run_output_matches_its_golden_file(path):
    golden = golden_path(path)
    assert golden.exists(), f"missing {golden.name}: run python -m tests.unit.x12.test_defects --update"
    assert golden_lines(path) == golden.read_text().splitlines()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_flag_or_message_carries_the_files_phi(path):
    """Patient names, member ids and claim ids of the files never appear in a flag, a warning or a refusal."""
    result = parse_file(path, source=SOURCE)
    phi = ["TESTER", "ALPHA", "W100200300", "W111000111", "W555000555", "W777000777", "HCP-5", "HCP-6", "7722",
           "MRN-9001", "K444000444"]
    texts = [str(i) for i in result.issues] + [e.reason for e in result.record_errors]
    texts += [json.dumps(f.model_dump()) for e in result.events for f in e.data_quality]
    for text in texts:
        for value in phi:
            assert value not in text, (value, text)


def _update() -> None:
    for path in FILES:
        if EXPECTED[path.name]["exit"] != 2:
            golden_path(path).write_text("\n".join(golden_lines(path)) + "\n")
            print(f"wrote {golden_path(path).name}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python -m tests.unit.x12.test_defects --update")
    _update()
