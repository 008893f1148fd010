"""Parse one X12 file (bytes) into contract records: pyx12 walks and validates, the builders read.

One pass: `X12ContextReader.iter_segments()` yields every segment with its place in the map; the matching builder
(835 or 277) reads it, and the errors pyx12 reported for that segment are classified (fatal / record error /
warning) and attached to the record the builder has open. Synchronous and free of asyncio: the stream agent runs
it in an executor.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyx12.errors
import pyx12.params
import pyx12.x12file
from pyx12.x12context import X12ContextReader

from service.x12 import identity, maps
from service.x12.claim_status import StatusBuilder
from service.x12.claim_submission import SubmissionBuilder
from service.x12.context import SetContext, safe_token
from service.x12.elements import el, timestamp
from service.x12.issues import Collector, Issue, RecordError, classify
from service.x12.prepare import Prepared, Rejected, prepare
from service.x12.records import Outbound, X12Record, outbound
from service.x12.remittance import RemittanceBuilder
from topics.provider_adjustment import ProviderAdjustmentEvent
from topics.remittance import RemittanceEvent

Progress = Callable[[int, int], None]  # (characters read, total characters)

MAX_ISSUES = 1000  # per severity: a garbage file must not turn into a million error objects
_REMITTANCE_GUIDES = ("005010X221A1", "004010X091A1")
_CLAIM_GUIDE = "005010X222A1"
_STATUS_GUIDES = {"005010X212": "status", "005010X214": "acknowledgement", "005010X213": "status",
                  "005010X364": "acknowledgement"}
_ENVELOPE = {"ISA", "GS", "GE", "IEA"}


@dataclass(slots=True)
class Counts:
    interchanges: int = 0
    transaction_sets: int = 0
    claims: int = 0  # remittance events
    service_lines: int = 0
    adjustments: int = 0  # CAS triplets, claim and line level
    status_records: int = 0  # status events (claim and batch level)
    submissions: int = 0  # submitted claims (837P CLM loops)
    batch_statuses: int = 0
    line_statuses: int = 0
    provider_adjustments: int = 0
    unbalanced: int = 0
    flagged: int = 0  # published records that carry data-quality flags
    record_errors: int = 0
    warnings: int = 0


@dataclass(frozen=True, slots=True)
class FileRejected:
    """A structurally invalid file as one error value (the stream agent dead-letters the whole input with it)."""

    issues: tuple[Issue, ...]

    error_class = "x12_file_invalid"

    @property
    def reason(self) -> str:
        shown = "; ".join(str(i) for i in self.issues[:10])
        more = f"; ... and {len(self.issues) - 10} more" if len(self.issues) > 10 else ""
        return f"file rejected: {shown}{more}"


@dataclass(frozen=True, slots=True)
class ParseResult:
    source: str | None
    events: tuple[X12Record, ...]  # in file order
    record_errors: tuple[RecordError, ...]
    issues: tuple[Issue, ...]  # file level: the fatal ones first, then warnings
    counts: Counts

    @property
    def rejected(self) -> bool:
        """The file is structurally invalid: nothing in it is published."""
        return any(i.severity == "fatal" for i in self.issues)

    @property
    def complete(self) -> bool:
        return not self.rejected and not self.record_errors

    @property
    def exit_code(self) -> int:
        """The `denials ingest` convention: 0 parsed fully, 1 some records rejected, 2 the file rejected."""
        return 2 if self.rejected else (1 if self.record_errors else 0)

    @property
    def fatal(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity == "fatal")

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity == "warning")

    @property
    def file_error(self) -> FileRejected | None:
        return FileRejected(self.fatal) if self.rejected else None

    @property
    def errors(self) -> tuple[RecordError | FileRejected, ...]:
        """Every dead-letter candidate, each with a value-free `error_class` and `reason`: the one FileRejected of
        a rejected file, else one RecordError per rejected record."""
        return (FileRejected(self.fatal),) if self.rejected else self.record_errors

    def records(self) -> list[Outbound]:
        """Each event with its topic and key, in file order."""
        return [outbound(e) for e in self.events]


def events_from_file(data: bytes, *, source: str | None = None) -> Iterator[X12Record | RecordError | FileRejected]:
    """For callers that consume a stream of values (`denials classify`): the events in file order, then one error
    value (with a value-free `.reason`) per rejected record, or a single `FileRejected` for a rejected file."""
    result = parse_bytes(data, source=source)
    if result.file_error is not None:
        yield result.file_error
        return
    yield from result.events
    yield from result.record_errors


@dataclass(slots=True)
class _Output:
    events: list = field(default_factory=list)
    record_errors: list[RecordError] = field(default_factory=list)
    fatal: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)

    def emit(self, event: X12Record) -> None:
        self.events.append(event)
        c = self.counts
        if isinstance(event, RemittanceEvent):
            c.claims += 1
            c.service_lines += len(event.claim.lines)
            c.adjustments += len(event.claim.adjustments) + sum(len(ln.adjustments) for ln in event.claim.lines)
            if event.claim.balance is not None and not event.claim.balance.balanced:
                c.unbalanced += 1
        elif isinstance(event, ProviderAdjustmentEvent):
            c.provider_adjustments += 1
        elif event.kind == "submitted":
            c.submissions += 1
            c.service_lines += len(event.claim.lines)
        else:
            c.status_records += 1
            c.line_statuses += len(event.line_statuses)
            if event.claim is None:
                c.batch_statuses += 1

    def reject(self, error: RecordError) -> None:
        self.record_errors.append(error)
        self.counts.record_errors += 1

    def warn(self, issue: Issue) -> None:
        self.counts.warnings += 1
        if len(self.warnings) < MAX_ISSUES:
            self.warnings.append(issue)

    def fail(self, issue: Issue) -> None:
        if len(self.fatal) < MAX_ISSUES:
            self.fatal.append(issue)


class _TextSource(io.TextIOBase):
    """The prepared text as the file object pyx12 reads, reporting progress as it is consumed."""

    def __init__(self, text: str, progress: Progress | None) -> None:
        self._text = text
        self._pos = 0
        self._progress = progress
        self._reported = 0

    def read(self, size: int | None = -1) -> str:
        end = len(self._text) if size is None or size < 0 else self._pos + size
        chunk = self._text[self._pos:end]
        self._pos += len(chunk)
        if self._progress is not None and (self._pos - self._reported >= 262_144 or self._pos >= len(self._text)):
            self._reported = self._pos
            self._progress(self._pos, len(self._text))
        return chunk

    def readable(self) -> bool:
        return True


def _default_max_bytes() -> int:
    from service.config import get_settings

    return get_settings().x12_max_bytes


def parse_file(path: str | Path, *, source: str | None = None, max_bytes: int | None = None,
               progress: Progress | None = None) -> ParseResult:
    """`parse_bytes` for a file; the size limit is checked before the file is read. OSError when it cannot be."""
    path = Path(path)
    limit = _default_max_bytes() if max_bytes is None else max_bytes
    size = path.stat().st_size
    if size > limit:
        issue = Issue("fatal", "oversize", f"the file is {size} bytes, over the {limit}-byte limit "
                                           "(DENIALS_X12_MAX_BYTES)")
        return ParseResult(source, (), (), (issue,), Counts())
    return parse_bytes(path.read_bytes(), source=source, max_bytes=limit, progress=progress)


def parse_bytes(data: bytes, *, source: str | None = None, max_bytes: int | None = None,
                progress: Progress | None = None) -> ParseResult:
    """Parse an X12 835 / 277 / 277CA file into contract records (in file order) with its errors and counts.

    Never raises for bad input: a structurally invalid file comes back `rejected` with its fatal issues (and no
    events); a readable file with bad records comes back with the good events and one `RecordError` per bad one.
    OSError only when pyx12's own map files cannot be read (an environment problem: retry, do not dead-letter).
    """
    limit = _default_max_bytes() if max_bytes is None else max_bytes
    out = _Output()
    try:
        prepared = prepare(data, max_bytes=limit)
    except Rejected as exc:
        return ParseResult(source, (), (), (exc.issue,), Counts())
    for warning in prepared.warnings:
        out.warn(warning)
    _walk(prepared, out, source, progress)
    if out.fatal:
        counts = out.counts
        return ParseResult(source, (), (), tuple(out.fatal) + tuple(out.warnings),
                           Counts(interchanges=counts.interchanges, transaction_sets=counts.transaction_sets,
                                  warnings=counts.warnings))
    if out.counts.transaction_sets == 0:
        out.warn(Issue("warning", "empty", "the interchange holds no transaction set"))
    events, identity_warnings = identity.distinguish(out.events)
    for warning in identity_warnings:
        out.warn(warning)
    out.counts.flagged = sum(1 for event in events if event.data_quality)
    return ParseResult(source, tuple(events), tuple(out.record_errors), tuple(out.warnings), out.counts)


_TRAILERS = {"ISA": "IEA", "GS": "GE", "ST": "SE"}


class _Walk:
    """One pass over the segments: tracks the envelope, opens a builder per transaction set, and routes every finding
    to the open record (a flag), the set's header (a flag on each of its records) or the file (a warning)."""

    def __init__(self, prepared: Prepared, out: _Output, source: str | None) -> None:
        self.prepared = prepared
        self.out = out
        self.source = source
        self.collector = Collector()
        self.builder = None
        self.envelope = {"sender": "", "control": "", "interchange": 0, "set_position": 0, "group": "",
                         "version": "", "time": None}
        self.at: tuple[str | None, int | None, int | None] = (None, None, None)

    def segment(self, seg, line: int | None, position: int | None) -> None:
        sid = seg.seg_id
        self.at = (sid, line, position)
        envelope = self.envelope
        if sid == "ISA":
            self.out.counts.interchanges += 1
            envelope.update(sender=safe_token(el(seg, 6), "unknown"), control=safe_token(el(seg, 13), "0"),
                            interchange=self.out.counts.interchanges, set_position=0)
        elif sid == "GS":
            envelope.update(group=el(seg, 6), version=el(seg, 8), time=timestamp(el(seg, 4), el(seg, 5)))
        elif sid == "ST":
            self.out.counts.transaction_sets += 1
            envelope["set_position"] += 1
            ctx = SetContext(source=self.source, sender=envelope["sender"],
                             interchange_control=envelope["control"], interchange=envelope["interchange"],
                             group_control=envelope["group"], group_time=envelope["time"],
                             version=envelope["version"], set_control=el(seg, 2),
                             set_position=envelope["set_position"],
                             synthetic_envelope=self.prepared.synthetic_envelope)
            self.builder = _builder(el(seg, 1), ctx, self.out, line)
        elif sid == "SE":
            if self.builder is not None:
                self.builder.finish()
            self.builder = None
        elif self.builder is not None and sid not in ("GE", "IEA"):
            self.builder.segment(seg, sid, line, position)
        if self.collector.pending:
            legacy = sid == "CAS" and el(seg, 1) == "CR"
            for raw in self.collector.drain():
                self.route(classify(raw, segment=sid, line=line, position=position, legacy_group=legacy))

    def route(self, issue: Issue | None) -> None:
        if issue is None:
            return
        if issue.severity == "fatal":
            self.out.fail(issue)
        elif self.builder is not None:
            self.builder.finding(issue)
        else:
            self.out.warn(issue)

    def end(self, open_loops: list[tuple[str, str]], errors) -> None:
        """At the end of the data: a loop still open means the file was cut short (one sentence says where);
        otherwise pyx12's last findings are routed as usual."""
        if self.builder is not None and not open_loops:
            self.builder.finish()
        if open_loops:
            kind, control = open_loops[-1]
            missing = "/".join(_TRAILERS[k] for k, _ in reversed(open_loops) if k in _TRAILERS)
            self.out.fail(Issue("fatal", "truncated", f"the file ends inside {kind} {safe_token(control, '?')}: "
                                                      f"no {missing}"))
            return
        self.collector.handle_errors(errors)
        for raw in self.collector.drain():
            self.route(classify(raw, segment=None, line=None, position=None))


def _walk(prepared: Prepared, out: _Output, source: str | None, progress: Progress | None) -> None:
    walk = _Walk(prepared, out, source)
    if prepared.unmapped:
        _walk_unmapped(prepared, walk, progress)
        return
    try:
        reader = X12ContextReader(pyx12.params.params(), walk.collector, _TextSource(prepared.text, progress),
                                  map_path=maps.map_path())
        for node in reader.iter_segments():
            sid = node.seg_data.seg_id
            walk.segment(node.seg_data, node.cur_line_number, node.seg_count if sid not in _ENVELOPE else None)
        walk.end(list(reader.src.loops), _cleanup(reader.src))
    except pyx12.errors.X12Error:
        out.fail(Issue("fatal", "not_x12", "pyx12 cannot read the interchange header (ISA): it needs 16 elements "
                                           "with the separators it declares", segment="ISA"))
    except pyx12.errors.EngineError as exc:
        _walk_failed(out, walk, exc)
    except OSError:
        raise  # pyx12's map files unreadable: the environment, not the input (the caller retries, no dead letter)
    except Exception as exc:  # noqa: BLE001 - a pyx12 internal failure on malformed input must not crash a worker
        _walk_failed(out, walk, exc)


def _walk_unmapped(prepared: Prepared, walk: _Walk, progress: Progress | None) -> None:
    """A guide pyx12 has no map for (the 277 RFAI): pyx12's reader checks the envelope (trailers, counts, control
    numbers) and the builder reads the segments; the structure inside the sets is not validated (one warning)."""
    walk.out.warn(Issue("warning", "unvalidated", "pyx12 has no map for this guide (277 RFAI 005010X213 or data "
                                                  "reporting acknowledgment 005010X364): the envelope is validated, "
                                                  "the segments are read without a map check"))
    try:
        reader = pyx12.x12file.X12Reader(_TextSource(prepared.text, progress))
        position = 0
        for seg in reader:
            sid = seg.get_seg_id()
            position = 1 if sid == "ST" else position + 1
            walk.collector.handle_errors(reader.pop_errors())
            walk.segment(seg, reader.cur_line, position if sid not in _ENVELOPE else None)
        walk.end(list(reader.loops), _cleanup(reader))
    except pyx12.errors.X12Error:
        walk.out.fail(Issue("fatal", "not_x12", "pyx12 cannot read the interchange header (ISA): it needs 16 "
                                                "elements with the separators it declares", segment="ISA"))
    except Exception as exc:  # noqa: BLE001 - as in _walk
        _walk_failed(walk.out, walk, exc)


def _cleanup(src) -> list:
    src.cleanup()
    return src.pop_errors()


def _walk_failed(out: _Output, walk: _Walk, exc: Exception) -> None:
    sid, line, _ = walk.at
    where = f" after line {line} (segment {sid})" if line is not None else ""
    out.fail(Issue("fatal", "structure", f"pyx12 could not walk the file{where}: the segments there do not form "
                                         f"the transaction's structure ({type(exc).__name__})", segment=sid,
                   line=line))


def _builder(set_id: str, ctx: SetContext, out: _Output, line: int | None):
    if ctx.version in _REMITTANCE_GUIDES and set_id == "835":
        return RemittanceBuilder(ctx, out)
    if ctx.version in _STATUS_GUIDES and set_id == "277":
        return StatusBuilder(ctx, out, kind=_STATUS_GUIDES[ctx.version])
    if ctx.version == _CLAIM_GUIDE and set_id == "837":
        return SubmissionBuilder(ctx, out)
    out.fail(Issue("fatal", "unsupported", f"transaction set {safe_token(set_id, '?')} does not match its group's "
                                           f"guide {safe_token(ctx.version, '?')}", segment="ST", line=line))
    return None
