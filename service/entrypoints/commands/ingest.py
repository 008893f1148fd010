"""`denials ingest FILE... [--dry-run]`: X12 835 / 277 / 277CA / 277 RFAI / 837P files in, input-topic records out.

Each file is parsed with `service.x12` (pyx12 validates the structure). Without `--dry-run` the records are
published to the input topics (`claims.remittance.v1`, `claims.status.v1`, `remittance.provider-adjustments.v1`)
on the broker in KAFKA_BOOTSTRAP_SERVERS; with `--dry-run` nothing is published and no broker or database is needed:
each record goes to stdout as one JSON line `{"topic": ..., "key": ..., "value": {...}}`.

stderr carries the progress bar (large files), what was rejected and why (segment ids, positions and element
numbers, never PHI), a claim id shared by several patients, and the summary (with `--verbose` also every warning and
every record's data-quality flags). Exit code: 0 every record of every file was published (flagged or not), 1 some
records could not be read (each named by its place in the file), 2 a file was refused (not X12, truncated, a version
element that is no version, over the size limit, unreadable), 3 nothing could be published (no broker configured,
broker unreachable).
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from service import logs
from service.config import get_settings
from service.x12 import ParseResult, parse_file
from service.x12.context import place

EXIT_OK, EXIT_RECORDS_REJECTED, EXIT_FILE_REJECTED, EXIT_NOT_PUBLISHED = 0, 1, 2, 3
ALWAYS_SHOWN = {"claim_id_shared", "claim_id_reused"}
PROGRESS_FROM_BYTES = 512 * 1024
SHOW_ISSUES = 20  # per file, on stderr


@dataclass
class Summary:
    files: int = 0
    files_rejected: int = 0
    claims: int = 0
    status_records: int = 0
    submissions: int = 0
    provider_adjustments: int = 0
    unbalanced: int = 0
    flagged: int = 0  # published records carrying data-quality flags
    errors: int = 0  # rejected records + rejected files
    warnings: int = 0
    exit_code: int = EXIT_OK
    published: int = 0
    results: list[ParseResult] = field(default_factory=list, repr=False)

    def add(self, result: ParseResult) -> None:
        c = result.counts
        self.files += 1
        self.files_rejected += int(result.rejected)
        self.claims += c.claims
        self.status_records += c.status_records
        self.submissions += c.submissions
        self.provider_adjustments += c.provider_adjustments
        self.unbalanced += c.unbalanced
        self.flagged += c.flagged
        self.errors += len(result.record_errors) + int(result.rejected)
        self.warnings += c.warnings
        self.exit_code = max(self.exit_code, result.exit_code)

    def line(self) -> str:
        rejected = f" ({self.files_rejected} rejected)" if self.files_rejected else ""
        return (f"files: {self.files}{rejected}, claims: {self.claims}, status records: {self.status_records}, "
                f"provider adjustments: {self.provider_adjustments}, unbalanced: {self.unbalanced}, "
                f"flagged: {self.flagged}, errors: {self.errors}, warnings: {self.warnings}"
                + (f", submitted claims: {self.submissions}" if self.submissions else ""))


def _say(console: Console, text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _parse(path: Path, console: Console, *, source: str | None, max_bytes: int) -> ParseResult:
    try:
        size = path.stat().st_size
    except OSError as exc:
        return _unreadable(path, exc, source)
    if size < PROGRESS_FROM_BYTES or size > max_bytes:
        try:
            return parse_file(path, source=source, max_bytes=max_bytes)
        except OSError as exc:
            return _unreadable(path, exc, source)
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task(f"parsing {path.name}", total=size)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=size * done // max(total, 1))

        try:
            return parse_file(path, source=source, max_bytes=max_bytes, progress=advance)
        except OSError as exc:
            return _unreadable(path, exc, source)


def _unreadable(path: Path, exc: OSError, source: str | None) -> ParseResult:
    from service.x12 import Counts, Issue

    reason = f"cannot read the file ({exc.strerror or type(exc).__name__})"
    return ParseResult(source, (), (), (Issue("fatal", "unreadable", reason),), Counts())


def _report(path: Path, result: ParseResult, console: Console, verbose: bool) -> None:
    if result.rejected:
        _say(console, f"{path}: rejected")
        for issue in result.fatal[:SHOW_ISSUES]:
            _say(console, f"  {issue}")
        if len(result.fatal) > SHOW_ISSUES:
            _say(console, f"  ... and {len(result.fatal) - SHOW_ISSUES} more")
    for error in result.record_errors[:SHOW_ISSUES]:
        _say(console, f"{path}: rejected {error.reason}")
    if len(result.record_errors) > SHOW_ISSUES:
        _say(console, f"{path}: ... and {len(result.record_errors) - SHOW_ISSUES} more rejected records")
    # A claim id shared by several patients changes what downstream sees: said even without --verbose.
    for issue in result.warnings:
        if verbose or issue.code in ALWAYS_SHOWN:
            _say(console, f"{path}: warning: {issue}")
    if verbose:
        for event in result.events:
            for flag in event.data_quality:
                _say(console, f"{path}: flag on {place(event.event_id)}: {_flag_text(flag)}")


def _flag_text(flag) -> str:
    from service.x12 import Issue

    return str(Issue("warning", flag.code, flag.reason, segment=flag.segment, line=flag.line,
                     position=flag.position, element=flag.element, pyx12_code=flag.pyx12_code, value=flag.value))


async def _publish(bootstrap: str, results: list[ParseResult]) -> int:
    from service.adapters.kafka import Record, ensure_topics, producer, send_all

    await ensure_topics(bootstrap)
    records = [Record(o.topic, o.key.encode(), o.value()) for r in results for o in r.records()]
    if not records:
        return 0
    async with producer(bootstrap) as prod:
        return await send_all(prod, records)


def ingest(
    files: list[Path] = typer.Argument(..., help="X12 835 / 277 / 277CA / 277 RFAI / 837P files", metavar="FILE..."),
    dry_run: bool = typer.Option(False, "--dry-run", help="parse only: records as JSON lines on stdout, no broker"),
    source: str = typer.Option("denials-ingest", "--source", metavar="NAME", help="the `source` field of every record"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="also list warnings on stderr"),
) -> None:
    """Parse X12 835/277/277CA/RFAI/837P files and publish their records to the input topics."""
    settings = get_settings()
    console = Console(stderr=True)
    bootstrap = settings.kafka_bootstrap_servers
    if not dry_run and not bootstrap:
        _say(console, "error: KAFKA_BOOTSTRAP_SERVERS is not set: nowhere to publish "
                      "(use --dry-run to parse without a broker)")
        raise typer.Exit(EXIT_NOT_PUBLISHED)
    summary = Summary()
    out = sys.stdout
    for path in files:
        result = _parse(path, console, source=source, max_bytes=settings.x12_max_bytes)
        summary.add(result)
        _report(path, result, console, verbose)
        if dry_run:
            for record in result.records():
                out.write(record.json_line() + "\n")
            out.flush()
        else:
            summary.results.append(result)
    if not dry_run and summary.results:
        try:
            with logs.quiet("aiokafka", "kafka"):  # a refused connection is said once, below, in our words
                summary.published = asyncio.run(_publish(bootstrap, summary.results))
        except Exception as exc:  # noqa: BLE001 - any broker failure: report it, exit non-zero
            _say(console, f"error: could not publish to {bootstrap} ({type(exc).__name__}); re-run the same "
                          "command once the broker is reachable (records carry deterministic ids)")
            _say(console, summary.line())
            raise typer.Exit(EXIT_NOT_PUBLISHED) from None
        _say(console, f"published {summary.published} records to {bootstrap}")
    _say(console, summary.line())
    raise typer.Exit(summary.exit_code)


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
