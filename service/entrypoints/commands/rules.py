"""`denials rules eval CORPUS`: run the labelled corpus (a TOML/JSON file or a directory of them) through the
classifier and print accuracy per category and action with the confusion pairs. Exit 1 when a case fails, 2 when
the corpus cannot be read.

`denials rules codes-check FILE`: compare a code table (CARC, RARC, 277 category or status code) with a code list a
user downloaded, so a list update is a data change plus a review. Exit 0 when nothing differs, 1 when something
does, 2 when the file cannot be read."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from service.domain.classification import load_classifier
from service.domain.classification.codes import CodeTables
from service.domain.classification.evaluation import ScenarioError, evaluate, scenarios_from_documents
from service.domain.ruledata import RuleDataError, use_rules_dir

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
def eval_command(corpus: Path = typer.Argument(..., metavar="CORPUS",
                                               help="Corpus file (.toml/.json) or a directory of them."),
                 rules: Path | None = typer.Option(None, "--rules", metavar="DIR",
                                                   help="Evaluate the rule tables in DIR (an edited copy of "
                                                        "service/domain/data/) instead of the ones in use.")) -> None:
    """Accuracy of the classifier on a labelled corpus, per category and action, with the confusion pairs."""
    if rules is not None:
        try:
            use_rules_dir(rules)
        except RuleDataError as exc:
            typer.echo(f"denials rules eval: {exc}", err=True)
            raise typer.Exit(2) from None
    try:
        clf = load_classifier()
    except RuleDataError as exc:
        typer.echo(f"denials rules eval: {exc}", err=True)
        raise typer.Exit(2) from None
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


LISTS = ("carc", "rarc", "status-category", "status-code")
CODE_SHAPES = {
    "carc": re.compile(r"^(\d{1,3}|[ABDPW]\d{1,2})$"),
    "rarc": re.compile(r"^(M|MA|N)\d{1,3}$"),
    "status-category": re.compile(r"^([ADEFPRX]\d{1,2}[A-Z]?|RQ)$"),
    "status-code": re.compile(r"^\d{1,4}$"),
}
ANY_CODE = re.compile(r"^[A-Z]{0,3}\d{1,4}[A-Z]?$|^RQ$")
START_HEADERS = ("start", "start date", "start_date", "effective", "effective date", "begin")
STOP_HEADERS = ("stop", "stop date", "stop_date", "end", "end date", "deactivated", "deactivation date")
DESCRIPTION_HEADERS = ("description", "meaning", "desc", "text", "definition")


SHOWN = 40  # codes listed per section of the summary


class ListFileError(Exception):
    """The list file cannot be read; the message is one sentence naming the file and line."""


@dataclass(frozen=True, slots=True)
class ListedCode:
    code: str
    start: dt.date | None
    stop: dt.date | None
    description: str
    line: int


@dataclass(frozen=True, slots=True)
class Period:
    start: dt.date | None
    stop: dt.date | None


@dataclass
class CodesCheck:
    """How our table differs from a code list: every field is a list of codes (or code/date pairs)."""

    list: str
    detected: bool
    in_file: int
    in_table: int
    missing: list[str] = field(default_factory=list)
    retired_in_list: list[str] = field(default_factory=list)
    not_in_list: list[str] = field(default_factory=list)
    not_in_list_retired: list[str] = field(default_factory=list)
    changed_dates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def differences(self) -> int:
        return len(self.missing) + len(self.retired_in_list) + len(self.not_in_list) + len(self.changed_dates)

    def as_json(self, file: Path, listed: dict[str, ListedCode]) -> dict[str, Any]:
        return {"file": str(file), "list": self.list, "auto_detected": self.detected, "codes_in_file": self.in_file,
                "codes_in_table": self.in_table, "differences": self.differences,
                "missing": [{"code": c, "description": listed[c].description} for c in self.missing],
                "retired_in_list_active_here": self.retired_in_list, "not_in_list": self.not_in_list,
                "not_in_list_retired_here": self.not_in_list_retired, "changed_dates": self.changed_dates}


def _date(text: str, where: str) -> dt.date | None:
    text = text.strip()
    if not text:
        return None
    for pattern in ("%Y-%m-%d", "%m/%d/%Y", "%Y%m%d", "%m/%d/%y"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ListFileError(f"{where}: {text!r} is not a date (use YYYY-MM-DD or MM/DD/YYYY)")


def _looks_like_date(text: str) -> bool:
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}|\d{8}", text.strip()))


def _cell(cells: list[str], columns: dict[str, int], key: str) -> str:
    index = columns.get(key)
    return cells[index] if index is not None and index < len(cells) else ""


def read_code_list(path: Path) -> dict[str, ListedCode]:
    """One code per line, or CSV with a code column and optional start/stop/description (header or not)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ListFileError(f"{path}: cannot read the file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ListFileError(f"{path} line {line}: not UTF-8 text") from None
    reader = csv.reader(io.StringIO(text), delimiter="\t" if "\t" in text and "," not in text else ",")
    columns: dict[str, int] | None = None
    listed: dict[str, ListedCode] = {}
    for row in reader:
        line = reader.line_num
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if not listed and columns is None and not ANY_CODE.match(cells[0].upper()):
            names = [c.lower() for c in cells]
            if "code" in names or any(n in names for n in START_HEADERS + DESCRIPTION_HEADERS):
                columns = {"code": names.index("code") if "code" in names else 0}
                for key, headers in (("start", START_HEADERS), ("stop", STOP_HEADERS),
                                     ("description", DESCRIPTION_HEADERS)):
                    found = next((names.index(h) for h in headers if h in names), None)
                    if found is not None:
                        columns[key] = found
                continue
        where = f"{path} line {line}"
        if columns is not None:
            code, start, stop, description = (_cell(cells, columns, key)
                                              for key in ("code", "start", "stop", "description"))
        else:
            code, rest = cells[0], cells[1:]
            dates = [c for c in rest if _looks_like_date(c)]
            start, stop = (dates + ["", ""])[:2]
            description = " ".join(c for c in rest if c and not _looks_like_date(c))
        code = code.upper()
        if not ANY_CODE.match(code):
            raise ListFileError(f"{where}: {code or 'an empty cell'!r} is not a code")
        listed[code] = ListedCode(code, _date(start, where), _date(stop, where), description, line)
    if not listed:
        raise ListFileError(f"{path} line 1: no codes in the file")
    return listed


def _list_stop(stop: dt.date | None) -> dt.date | None:
    """Our tables' `stop` is the last day a code is valid; X12's lists give the first day it no longer is."""
    return stop + dt.timedelta(days=1) if stop is not None else None


def table_periods(codes: CodeTables, which: str) -> dict[str, Period]:
    """Each code of one of our tables with its first start and last stop (None while a row is still open), the stop
    said the way the published lists say it (the first day the code is no longer valid)."""
    if which in ("carc", "rarc"):
        table = codes.carc if which == "carc" else codes.rarc
        periods = {}
        for code in table.codes():
            versions = table.versions(code)
            periods[code] = Period(versions[0].start, _list_stop(versions[-1].stop))
        return periods
    rows = codes.status_categories if which == "status-category" else codes.status_codes
    return {code: Period(row.start, _list_stop(row.stop)) for code, row in rows.items()}


def detect_list(listed: dict[str, ListedCode], codes: CodeTables) -> str:
    """The shape of the codes first; numbers alone are told apart by how far they reach and by overlap."""
    shaped = [name for name in LISTS if all(CODE_SHAPES[name].match(c) for c in listed)]
    if len(shaped) == 1:
        return shaped[0]
    candidates = shaped or list(LISTS)
    def overlap(name: str) -> float:
        ours = set(table_periods(codes, name))
        return len(ours & set(listed)) / len(ours | set(listed))
    return max(candidates, key=overlap)


def compare_codes(listed: dict[str, ListedCode], ours: dict[str, Period], which: str,
                  detected: bool) -> CodesCheck:
    check = CodesCheck(which, detected, len(listed), len(ours))
    for code, item in sorted(listed.items(), key=lambda kv: kv[1].line):
        mine = ours.get(code)
        if mine is None:
            if item.stop is None:
                check.missing.append(code)
            continue
        if item.stop is not None and mine.stop is None:
            check.retired_in_list.append(code)
            continue
        changed = {}
        for key in ("start", "stop"):
            theirs, ours_date = getattr(item, key), getattr(mine, key)
            if theirs is not None and theirs != ours_date:
                changed[key] = {"ours": ours_date.isoformat() if ours_date else None, "list": theirs.isoformat()}
        if changed:
            check.changed_dates.append({"code": code, **changed})
    for code, mine in ours.items():
        if code not in listed:
            (check.not_in_list if mine.stop is None else check.not_in_list_retired).append(code)
    return check


def _render(check: CodesCheck, file: Path, listed: dict[str, ListedCode]) -> str:
    how = "auto-detected from the codes" if check.detected else "as given"
    lines = [f"{file}: {check.in_file} codes compared with our {check.list} table ({check.in_table} codes; "
             f"list {how})"]
    def section(title: str, codes: list[str], detail=None) -> None:
        if codes:
            lines.append(f"{title}: {len(codes)}")
            lines.extend(f"  {detail(c) if detail else c}" for c in codes[:SHOWN])
            if len(codes) > SHOWN:
                lines.append(f"  ... and {len(codes) - SHOWN} more (--json lists them all)")
    section("missing from our table", check.missing,
            lambda c: f"{c}  {listed[c].description[:90]}".rstrip())
    section("retired by the list, still active here", check.retired_in_list,
            lambda c: f"{c}  stop {listed[c].stop.isoformat()}")
    section("in our table, not in the list", check.not_in_list)
    dates = [c["code"] for c in check.changed_dates]
    by_code = {c["code"]: c for c in check.changed_dates}
    section("dates that differ", dates, lambda c: f"{c}  " + ", ".join(
        f"{k} ours {v['ours'] or '-'} list {v['list']}" for k, v in by_code[c].items() if k != "code"))
    if check.not_in_list_retired:
        lines.append(f"retired here and absent from the list (expected for a list of active codes): "
                     f"{len(check.not_in_list_retired)}")
    lines.append("no differences" if not check.differences else
                 f"{check.differences} differences: update the table (a data change), review it, bump VERSION")
    return "\n".join(lines)


@rules_app.command("codes-check")
def codes_check_command(
    file: Path = typer.Argument(..., metavar="FILE",
                                help="The downloaded list: one code per line, or CSV with a code column."),
    which: str | None = typer.Option(None, "--list", metavar="LIST", help="carc | rarc | status-category | status-code "
                                     "(default: detected from the codes)"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of the summary."),
) -> None:
    """Compare our code table with a downloaded code list: missing, retired, extra codes and changed dates."""
    if which is not None and which not in LISTS:
        typer.echo(f"denials rules codes-check: --list must be one of {', '.join(LISTS)}", err=True)
        raise typer.Exit(2)
    try:
        listed = read_code_list(file)
    except ListFileError as exc:
        typer.echo(f"denials rules codes-check: {exc}", err=True)
        raise typer.Exit(2) from None
    codes = load_classifier().codes
    detected = which is None
    which = which or detect_list(listed, codes)
    check = compare_codes(listed, table_periods(codes, which), which, detected)
    typer.echo(json.dumps(check.as_json(file, listed)) if as_json else _render(check, file, listed))
    if check.differences:
        raise typer.Exit(1)


@rules_app.command("version")
def version_command() -> None:
    """The rules version every decision carries."""
    typer.echo(load_classifier().rules_version)


def register(app: typer.Typer) -> None:
    app.add_typer(rules_app, name="rules")
