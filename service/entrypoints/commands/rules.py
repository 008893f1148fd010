"""`denials rules eval CORPUS`: run the labelled corpus (a TOML/JSON file or a directory of them) through the
classifier and print accuracy per category and action with the confusion pairs. Exit 1 when a case fails, 2 when
the corpus cannot be read."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import typer

from service.domain.classification import load_classifier
from service.domain.classification.evaluation import ScenarioError, evaluate, scenarios_from_documents

rules_app = typer.Typer(help="Inspect and evaluate the classification rules.", no_args_is_help=True)


def corpus_documents(path: Path) -> list[tuple[str, dict[str, Any]]]:
    files = sorted(p for p in path.rglob("*") if p.suffix in (".toml", ".json")) if path.is_dir() else [path]
    if not files:
        raise ScenarioError(f"{path}: no .toml or .json corpus files")
    documents = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
            documents.append((file.name, tomllib.loads(text) if file.suffix == ".toml" else json.loads(text)))
        except OSError as exc:
            raise ScenarioError(f"{file}: cannot read ({exc.strerror})") from None
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
            raise ScenarioError(f"{file.name}: {exc}") from None
    return documents


@rules_app.command("eval")
def eval_command(corpus: Path = typer.Argument(..., help="Corpus file (.toml/.json) or a directory of them.")) -> None:
    """Accuracy of the classifier on a labelled corpus, per category and action, with the confusion pairs."""
    clf = load_classifier()
    try:
        scenarios = scenarios_from_documents(corpus_documents(corpus))
        report = evaluate(clf, scenarios)
    except ScenarioError as exc:
        typer.echo(f"denials rules eval: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"rules version: {clf.rules_version}")
    typer.echo(report.render())
    if report.passed != report.total:
        raise typer.Exit(1)


@rules_app.command("version")
def version_command() -> None:
    """The rules version every decision carries."""
    typer.echo(load_classifier().rules_version)


def register(app: typer.Typer) -> None:
    app.add_typer(rules_app, name="rules")
