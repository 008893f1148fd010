"""`denials rules eval CORPUS`: accuracy per category and action with confusion pairs; exit 1 on a failing case,
2 on an unreadable corpus."""

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from service.domain.ruledata import PACKAGE_DATA, RuleFiles
from service.entrypoints.commands import rules

CORPUS = Path(__file__).resolve().parents[3] / "corpus"


@pytest.fixture
def app():
    app = typer.Typer()
    rules.register(app)
    app.command("noop")(lambda: None)
    return app


def invoke(app, *args):
    return CliRunner().invoke(app, ["rules", *args])


def test_the_shipped_corpus_is_100_percent(app):
    result = invoke(app, "eval", str(CORPUS))
    assert result.exit_code == 0, result.stdout
    assert "fully correct (100.0%)" in result.stdout
    assert "accuracy per category" in result.stdout and "accuracy per action" in result.stdout
    assert "confusion pairs (category, expected -> predicted): none" in result.stdout


CASE = {"id": "c1", "ref": "2.2", "scenario": "ESI denied for no auth", "why": "no auth",
        "lines": [{"code": "64483", "adj": ["CO-197"]}]}


def test_a_wrong_case_prints_its_confusion_pair_and_exits_1(app, tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"case": [
        {**CASE, "expect": {"category": "authorization", "action": "obtain_authorization"}},
        {**CASE, "id": "c2", "expect": {"category": "eligibility", "action": "obtain_authorization"}},
    ]}))
    result = invoke(app, "eval", str(path))
    assert result.exit_code == 1
    assert "corpus: 2 cases, 1 fully correct (50.0%)" in result.stdout
    assert "eligibility -> authorization x1" in result.stdout
    assert "c2 (ref 2.2): category: expected eligibility, got authorization" in result.stdout


@pytest.mark.parametrize(("content", "message"), [
    ("[[case]]\nid = 'x'\n", "missing ref"),
    ("not toml [", "c.toml"),
])
def test_an_unreadable_corpus_exits_2_naming_the_file(app, tmp_path, content, message):
    path = tmp_path / "c.toml"
    path.write_text(content)
    result = invoke(app, "eval", str(path))
    assert result.exit_code == 2 and message in result.stderr


def test_rules_version(app):
    result = invoke(app, "version")
    version = RuleFiles().manifest()["VERSION"]
    assert result.exit_code == 0 and result.stdout.startswith(f"{version}+")


@pytest.fixture
def packaged_rules_afterwards():
    """`--rules` points the process at another directory; put the packaged tables back for the next test."""
    from service.domain import ruledata

    yield
    ruledata.use_rules_dir(None)


def edited_copy(tmp_path: Path, old: str, new: str) -> Path:
    import shutil

    copy = tmp_path / "rules"
    shutil.copytree(PACKAGE_DATA, copy)
    carc = copy / "carc.csv"
    text = carc.read_text()
    assert old in text
    carc.write_text(text.replace(old, new))
    return copy


def test_rules_evaluates_an_edited_copy_of_the_tables_not_the_ones_in_use(app, tmp_path, packaged_rules_afterwards):
    # CO-197 turned into a coding denial: the corpus's authorization cases must now fail, under a new digest.
    copy = edited_copy(tmp_path, "197,2006-10-31,,denial,authorization,obtain_authorization",
                       "197,2006-10-31,,denial,coding,corrected_claim")
    result = invoke(app, "eval", "--rules", str(copy), str(CORPUS))
    assert result.exit_code == 1, result.stdout
    assert "authorization -> coding" in result.stdout
    assert RuleFiles(PACKAGE_DATA).version() not in result.stdout


def test_rules_names_a_directory_without_a_manifest_in_one_sentence(app, tmp_path, packaged_rules_afterwards):
    result = invoke(app, "eval", "--rules", str(tmp_path), str(CORPUS))
    assert result.exit_code == 2
    assert result.output.strip().endswith("not a rules directory (it has no manifest.toml); "
                                          "copy service/domain/data/ and edit the copy")
    assert len(result.output.strip().splitlines()) == 1


def test_rules_names_the_line_of_an_edited_table_that_cannot_be_read(app, tmp_path, packaged_rules_afterwards):
    row = "197,2006-10-31,,denial,authorization,obtain_authorization"
    copy = edited_copy(tmp_path, row, row.replace("obtain_authorization", "no_such_action"))
    line = next(n for n, text in enumerate((copy / "carc.csv").read_text().splitlines(), start=1)
                if text.startswith("197,"))
    result = invoke(app, "eval", "--rules", str(copy), str(CORPUS))
    assert result.exit_code == 2
    assert f"carc.csv line {line}: 'no_such_action' is not one of the allowed values" in result.output


def test_denials_rules_dir_in_the_environment_is_used_by_every_command(tmp_path):
    import os
    import subprocess
    import sys

    copy = edited_copy(tmp_path, "197,2006-10-31,,denial,authorization,obtain_authorization",
                       "197,2006-10-31,,denial,coding,corrected_claim")
    env = {**os.environ, "DENIALS_RULES_DIR": str(copy)}
    cli = [sys.executable, "-m", "service.entrypoints.cli"]
    edited = subprocess.run([*cli, "rules", "version"], env=env, capture_output=True, text=True, timeout=120)
    packaged = subprocess.run([*cli, "rules", "version"], capture_output=True, text=True, timeout=120,
                              env={k: v for k, v in os.environ.items() if k != "DENIALS_RULES_DIR"})
    assert edited.returncode == packaged.returncode == 0, edited.stderr
    assert edited.stdout.strip() != packaged.stdout.strip()
    assert edited.stdout.strip() == RuleFiles(copy).version()

    wrong = subprocess.run([*cli, "rules", "version"], env={**env, "DENIALS_RULES_DIR": str(tmp_path / "nope")},
                           capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 2
    assert wrong.stderr.strip().splitlines() == [
        f"denials: DENIALS_RULES_DIR {tmp_path / 'nope'}: not a rules directory (it has no manifest.toml); "
        "copy service/domain/data/ and edit the copy"]
