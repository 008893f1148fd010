"""`denials check FILE`: will these claims be denied, and why? Run it on a day's claims before they go out.

FILE is an 837P (005010X222A1), JSON lines of `claims.status.v1` `submitted` events, or the output of
`denials ingest --dry-run` ('-' reads stdin); records that are not submitted claims are skipped. Each finding goes to
stdout as one JSON object per line: `claim_id`, `line_id` (null: the whole claim), `rule_id`, `category` (the
denial it would be), `severity` (`deny`: likely denied; `warn`: may be), `message` (what and why, with the policy
cited) and `fix` (what to change). The rules are `service/domain/data/check_rules.toml`.

History: with `--history auto` (the default) the patients' history, earlier submissions, the authorization register,
the imported NCCI tables and the enabled prevention rules are read from PostgreSQL when DATABASE_URL is set or the
embedded database exists, and each claim's outcome is recorded there (the dashboard compares denial rates); otherwise
a claim's history is the earlier claims of the same input. stderr says which, and the summary.

Exit status: 0 no findings, 1 findings, 2 unreadable input (each problem one sentence naming the file and line),
3 `--history database` and the database cannot be read.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import typer

from service.config import get_settings
from service.domain import model
from service.domain.authorizations import Authorization
from service.domain.presubmission import NcciTables, load_checker
from service.entrypoints.commands.classify import InputError, InputEvent, events_from_bytes, parse_as_of
from service.service_layer.presubmission import CheckRun, check_submissions

EXIT_CLEAN, EXIT_FINDINGS, EXIT_UNREADABLE, EXIT_NO_DATABASE = 0, 1, 2, 3
SHOW_ERRORS = 20


def _say(text: str) -> None:
    typer.echo(f"denials check: {text}", err=True)


def _read(file: str) -> tuple[str, bytes]:
    if file == "-":
        return "<stdin>", sys.stdin.buffer.read()
    path = Path(file)
    try:
        return file, path.read_bytes()
    except IsADirectoryError:
        _say(f"{file} is a directory, not an 837P or a JSON-lines file")
    except OSError as exc:
        _say(f"cannot read {file} ({exc.strerror or type(exc).__name__})")
    raise typer.Exit(EXIT_UNREADABLE)


def read_submissions(name: str, data: bytes) -> tuple[list[model.Submission], list[InputError], int]:
    """The submitted claims of the input in order, the input's problems, and how many other records were skipped."""
    submissions, errors, skipped = [], [], 0
    for item in events_from_bytes(data, name):
        if isinstance(item, InputError):
            errors.append(item)
        elif isinstance(item, InputEvent) and isinstance(item.event, model.Submission):
            submissions.append(item.event)
        else:
            skipped += 1
    return submissions, errors, skipped


def _database(mode: str) -> tuple[str | None, str]:
    """(URL or None, the sentence saying where history comes from and why)."""
    from service.adapters import postgres
    from service.errors import ConfigurationError

    settings = get_settings()
    if mode == "input":
        return None, "history from the input only (--history input)"
    if settings.database_url:
        return settings.database_url, "PostgreSQL (DATABASE_URL)"
    pgdata = settings.data_dir / "pgdata"
    if not pgdata.exists() and mode == "auto":
        return None, (f"history from the input only: DATABASE_URL is unset and there is no embedded database in "
                      f"{pgdata}")
    try:
        return postgres.resolve_database_url(settings), f"PostgreSQL (embedded, {pgdata})"
    except (ConfigurationError, OSError) as exc:
        return None, f"history from the input only: the embedded database cannot start ({type(exc).__name__})"


async def _run(submissions: list[model.Submission], url: str | None, where: str, mode: str,
               today: dt.date | None, files: _Files) -> tuple[CheckRun, str]:
    from service.adapters.clock import SystemClock
    from service.bootstrap import member_digest

    checker = load_checker()
    digest = member_digest()
    clock = SystemClock()

    async def from_input(said: str) -> tuple[CheckRun, str]:
        run = await check_submissions(submissions, checker, store=None, clock=clock, today=today,
                                      member_digest=digest, register=files.register, tables=files.tables)
        return run, said

    if url is None:
        return await from_input(where)
    from service.adapters import postgres
    from service.adapters.presubmission import SCHEMA_CHECK, PostgresCheckStore
    from service.errors import TransientError

    settings = get_settings()
    try:
        conn = await postgres.connect(url, settings)
    except (OSError, TimeoutError, TransientError) as exc:
        # DatabaseUnreachable's sentence names host, port and database
        why = str(exc) if isinstance(exc, TransientError) else type(exc).__name__
        if mode == "database":
            raise _NoDatabase(f"cannot reach {where} ({why})") from None
        return await from_input(f"history from the input only: cannot reach {where} ({why})")
    try:
        if not await conn.fetchval(SCHEMA_CHECK):
            if mode == "database":
                raise _NoDatabase(f"{where} has no check tables yet: run `denials migrate` first")
            return await from_input(f"history from the input only: {where} has no check tables yet (run "
                                    "`denials migrate`)")
        async with conn.transaction():
            run = await check_submissions(submissions, checker, store=PostgresCheckStore(conn), clock=clock,
                                          member_digest=digest, origin="cli", today=today, register=files.register,
                                          tables=files.tables)
        return run, f"history, authorizations and NCCI tables from {where}; outcomes recorded there"
    finally:
        await conn.close()


@dataclass
class _Files:
    """Authorizations and NCCI tables read from files given on the command line (no database needed)."""

    register: list[Authorization] | None = None
    tables: NcciTables | None = None


def _read_files(auths: list[Path], ncci: list[Path]) -> _Files:
    from service.bootstrap import member_digest
    from service.domain.authorizations import AuthorizationFileError, parse_authorizations_csv
    from service.domain.presubmission.ncci import detect_kind, parse_table

    out = _Files()
    if auths:
        rules = load_checker().rules
        digest = member_digest()
        out.register = []
        for path in auths:
            name, data = _read(str(path))
            try:
                rows = parse_authorizations_csv(data.decode("utf-8", errors="replace"), source=name,
                                                known_scopes=rules.scope_known)
            except AuthorizationFileError as exc:
                _say(f"{name}: {exc.problems[0]} ({len(exc.problems)} problem(s) in the authorization file)")
                raise typer.Exit(EXIT_UNREADABLE) from None
            out.register += [row.digested(digest) for row in rows]
    if ncci:
        edits, mues = [], []
        for path in ncci:
            name, data = _read(str(path))
            text = data.decode("utf-8", errors="replace")
            kind = detect_kind("\n".join(text.splitlines()[:60]))
            table = parse_table(text.splitlines(), kind) if kind else None
            if table is None or table.problem_count or not (table.ptp or table.mue):
                why = table.problems[0] if table is not None and table.problems else "not a CMS PTP or MUE table"
                _say(f"{name}: {why}")
                raise typer.Exit(EXIT_UNREADABLE)
            edits += table.ptp
            mues += table.mue
        out.tables = NcciTables.of(edits, mues, ptp_loaded=bool(edits), mue_loaded=bool(mues))
    return out


class _NoDatabase(Exception):
    pass


def summary_line(run: CheckRun, skipped: int) -> str:
    severities = Counter(f.severity for f in run.findings)
    flagged = sum(1 for c in run.claims if c.outcome.outcome == "flagged")
    warned = sum(1 for c in run.claims if c.outcome.outcome == "warned")
    lines = sum(len(c.submission.lines) for c in run.claims)
    rules = Counter(f.rule_id for f in run.findings)
    top = ", ".join(f"{rule} x{n}" for rule, n in rules.most_common(5))
    return (f"{len(run.claims)} claim{'s' if len(run.claims) != 1 else ''} ({lines} lines) checked: "
            f"{flagged} likely denied, {warned} with warnings only, {len(run.claims) - flagged - warned} clean; "
            f"{severities['deny']} deny and {severities['warn']} warn findings"
            + (f" ({top})" if top else "") + (f"; {skipped} records that are not submitted claims skipped"
                                              if skipped else ""))


def check_command(
    file: str = typer.Argument(..., metavar="FILE", help="An 837P file, JSON lines of submitted events, or the "
                                                          "output of `denials ingest --dry-run`; '-' reads stdin."),
    history: str = typer.Option("auto", "--history", help="auto: PostgreSQL when configured or the embedded "
                                                          "database exists, else the input; database; input."),
    as_of: str | None = typer.Option(None, "--as-of", help="The submission date to judge timely filing by "
                                                           "(YYYY-MM-DD; default: each claim's own date, the BHT)."),
    auths: list[Path] = typer.Option([], "--auths", help="An authorization CSV (as `denials auths import` reads) "
                                                         "to check against, besides the register."),
    ncci: list[Path] = typer.Option([], "--ncci", help="A CMS PTP or MUE file (as `denials ncci import` reads) to "
                                                       "check against, besides the imported tables."),
) -> None:
    """Check submitted claims before they go out: one JSON finding per line on stdout, the summary on stderr."""
    if history not in ("auto", "database", "input"):
        raise typer.BadParameter("expected auto, database or input", param_hint="--history")
    today = parse_as_of(as_of)
    files = _read_files(auths, ncci)
    name, data = _read(file)
    submissions, errors, skipped = read_submissions(name, data)
    if not submissions and errors and all(e.reason.startswith("not_json") for e in errors):
        _say(f"{name} is neither an X12 837P (it does not start with ISA) nor JSON lines (line "
             f"{errors[0].line_no} is not JSON)")
        raise typer.Exit(EXIT_UNREADABLE)
    for error in errors[:SHOW_ERRORS]:
        _say(f"{name}:{error.line_no}: {error.reason}")
    if len(errors) > SHOW_ERRORS:
        _say(f"{name}: ... and {len(errors) - SHOW_ERRORS} more unreadable records")
    if not submissions:
        if not errors:
            _say(f"{name} holds no submitted claim (an 837P, or claims.status.v1 events of kind submitted)")
        raise typer.Exit(EXIT_UNREADABLE)
    url, where = _database(history)
    if url is None and history == "database":
        _say(where.replace("history from the input only: ", "cannot read the database: "))
        raise typer.Exit(EXIT_NO_DATABASE)
    try:
        run, said = asyncio.run(_run(submissions, url, where, history, today, files))
    except _NoDatabase as exc:
        _say(str(exc))
        raise typer.Exit(EXIT_NO_DATABASE) from None
    out = sys.stdout
    for finding in run.findings:
        out.write(json.dumps(finding.as_json(), separators=(",", ":")) + "\n")
    out.flush()
    _say(said)
    _say(summary_line(run, skipped))
    if errors:
        _say(f"{len(errors)} record{'s' if len(errors) != 1 else ''} of {name} could not be read (above); the "
             "others were checked")
        raise typer.Exit(EXIT_UNREADABLE)
    raise typer.Exit(EXIT_FINDINGS if run.findings else EXIT_CLEAN)


def register(app: typer.Typer) -> None:
    app.command("check")(check_command)
