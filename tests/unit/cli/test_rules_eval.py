"""`denials rules eval CORPUS`: accuracy per category and action with confusion pairs; exit 1 on a failing case,
2 on an unreadable corpus."""

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from service.domain.ruledata import RuleFiles
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
