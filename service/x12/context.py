"""Where a record sits in the file (interchange, group, set) and the record accumulator the builders share."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from typing import Literal

from pydantic import ValidationError

from service.x12.elements import FieldError
from service.x12.issues import Issue, RecordError, safe_value
from topics.codec import describe_validation_error

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_token(value: str, default: str) -> str:
    """An envelope identifier made safe for an event id (printable, no spaces)."""
    token = _UNSAFE.sub("_", value.strip())
    return token[:20] or default


@dataclass(slots=True)
class SetContext:
    """One transaction set and its envelope. Event ids derive from the sender, the interchange control number, the
    interchange's position in the file, the set's position in its interchange and control number, and the
    record's position in the set: re-ingesting the same bytes yields the same ids (the inbox makes it a no-op); a
    file repeated inside itself still yields distinct ids (the store's business key catches the duplicates)."""

    source: str | None
    sender: str
    interchange_control: str
    interchange: int
    group_control: str
    group_time: dt.datetime | None
    version: str
    set_control: str
    set_position: int
    synthetic_envelope: bool
    _prefix: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self._prefix = (f"x12-{self.sender}-{self.interchange_control}-i{self.interchange}-s{self.set_position}"
                        f"-{safe_token(self.set_control, '0')}-")

    def event_id(self, tag: str, n: int) -> str:
        return f"{self._prefix}{tag}{n}"


_EVENT_ID = re.compile(r"-i(\d+)-s\d+-(.+)-([cbp])(\d+)$")
_RECORD_KINDS = {"c": "record", "b": "batch status", "p": "provider adjustment"}


def place(event_id: str) -> str:
    """Where a record of this gateway came from, said without PHI: `record 3 of transaction set 0001 (interchange
    1)`, read back from its event id."""
    match = _EVENT_ID.search(event_id)
    if match is None:
        return "a record"
    interchange, set_control, tag, number = match.groups()
    return f"{_RECORD_KINDS[tag]} {number} of transaction set {set_control} (interchange {interchange})"


MAX_FLAGS = 50  # per record: a flag points at a problem; a record drowning in them carries a count of the rest


@dataclass(slots=True)
class Record:
    """The segments of one future record (a claim, a PLB adjustment, a batch status) and what was found in them:
    `error` issues make it unreadable (the money or the key cannot be read); `warning` issues are its data-quality
    flags."""

    kind: Literal["remittance", "provider_adjustment", "status"]
    topic: str
    position: int
    first_line: int | None
    segments: list = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    def field_error(self, exc: FieldError, segment: str, line: int | None, position: int | None) -> None:
        self.issues.append(Issue("error", "element", exc.reason, segment=segment, line=line, position=position,
                                 element=exc.element))

    def problem(self, reason: str, code: str = "content", segment: str | None = None, line: int | None = None,
                position: int | None = None, element: str | None = None) -> None:
        self.issues.append(Issue("error", code, reason, segment=segment, line=line, position=position,
                                 element=element))

    @property
    def failed(self) -> bool:
        return any(i.severity == "error" for i in self.issues)

    def flags(self, inherited: list[Issue] | tuple[Issue, ...] = ()) -> list[dict]:
        """The data-quality flags the published record carries: the set header's findings, then its own."""
        found = [i for i in (*inherited, *self.issues) if i.severity == "warning"]
        flags = [i.as_flag() for i in found[:MAX_FLAGS]]
        if len(found) > MAX_FLAGS:
            flags.append(Issue("warning", "more", f"{len(found) - MAX_FLAGS} more findings not listed").as_flag())
        return flags

    def contract_error(self, exc: ValidationError) -> None:
        _, reason = describe_validation_error(exc)
        self.issues.append(Issue("error", "contract", f"the record does not fit its contract: {reason}"))

    def rejection(self, ctx: SetContext, event_id: str, key: str | None) -> RecordError:
        raw = "".join(seg.format() for seg in self.segments).encode("utf-8", "replace")
        return RecordError(kind=self.kind, topic=self.topic, event_id=event_id, key=key,
                           interchange=ctx.interchange, set_control_number=ctx.set_control,
                           record_position=self.position, first_line=self.first_line,
                           issues=tuple(i for i in self.issues if i.severity == "error"), raw=raw)


_NOT_PLACED = "segment not recognised where it appears"


def add_finding(issues: list[Issue], issue: Issue) -> None:
    """Append a record's finding, folding the echoes: pyx12's code for an element the reader already flagged joins
    that flag, and the segments pyx12 could not place after losing its place (one after another) become one flag."""
    last = issues[-1] if issues else None
    if last is not None and issue.pyx12_code and last.line == issue.line:
        for index in range(len(issues) - 1, -1, -1):
            earlier = issues[index]
            if earlier.line != issue.line:
                break
            if earlier.pyx12_code is None and earlier.element is not None and earlier.element == issue.element:
                issues[index] = replace(earlier, pyx12_code=issue.pyx12_code)
                return
    if (last is not None and issue.reason.startswith(_NOT_PLACED) and last.reason.startswith(_NOT_PLACED)
            and last.line is not None and issue.line is not None):
        first, _, end = (last.reason.partition("(lines ")[2].partition(",")[0] or f"{last.line}-{last.line}"
                         ).partition("-")
        if int(end) + 1 == issue.line:
            issues[-1] = replace(last, reason=f"{_NOT_PLACED} (lines {first}-{issue.line}, pyx12 lost its place: "
                                              "read by their segment ids)")
            return
    issues.append(issue)


class Builder:
    """Base of the transaction-set builders: dispatches each segment to its handler and keeps the open record's
    segments (for a dead letter) and findings.

    A `FieldError` a handler lets escape makes the open record unreadable: handlers let it escape only for the
    record's money and key. Every other value is read with `lenient`, which flags what it cannot read and carries
    on. Findings outside any record are file warnings; those in the set's header (before its first record) are also
    flags on every record of the set, since the payer, payee and dates they concern belong to each record."""

    _HANDLERS: dict = {}

    def __init__(self, ctx: SetContext, out) -> None:
        self.ctx = ctx
        self.out = out
        self.record: Record | None = None  # the open record: pyx12's findings on the current segment go to it
        self.header_flags: list[Issue] = []  # findings in the set before its first record
        self._records_opened = False
        self._models: dict = {}
        self._at: tuple[str | None, int | None, int | None] = (None, None, None)  # segment id, line, set position

    def open(self, record: Record) -> Record:
        self.record = record
        self._records_opened = True
        return record

    def finding(self, issue: Issue) -> None:
        """A pyx12 or reader finding (severity warning): to the open record, else to the file (and the header)."""
        if self.record is not None:
            add_finding(self.record.issues, issue)
            return
        self.out.warn(issue)
        if not self._records_opened:
            self.header_flags.append(issue)

    def flag(self, code: str, reason: str, *, element: str | None = None, value: str | None = None,
             segment: str | None = None) -> None:
        sid, line, position = self._at
        self.finding(Issue("warning", code, reason, segment=segment or sid, line=line, position=position,
                           element=element, value=safe_value(element, value)))

    def lenient(self, reader, value: str, element: str):
        """`reader(value, element)`, or None with a flag (value kept as sent where it is not PHI) when it fails."""
        try:
            return reader(value, element)
        except FieldError as exc:
            self.flag("element", exc.reason + " (not read)", element=exc.element, value=value)
            return None

    def shared(self, key, model, data: dict):
        """A part every record of the set repeats (payer, payee, remit info), validated once and reused: pydantic
        keeps a model instance passed for a field of its type. Invalid data is returned as is, so each record's
        own validation reports it under its full field path."""
        try:
            return self._models[key]
        except KeyError:
            pass
        try:
            value = model.model_validate(data)
        except ValidationError:
            value = data
        self._models[key] = value
        return value

    def segment(self, seg, sid: str, line: int | None, position: int | None) -> None:
        self._at = (sid, line, position)
        try:
            handler = self._HANDLERS.get(sid)
            if handler is not None:
                handler(self, seg, line, position)
        except FieldError as exc:
            if self.record is None:
                self.finding(Issue("warning", "element", exc.reason + " (header value ignored)", segment=sid,
                                   line=line, position=position, element=exc.element))
                return
            self._keep(seg)
            self.record.field_error(exc, sid, line, position)
            return
        if self.record is not None:
            self._keep(seg)

    def _keep(self, seg) -> None:
        # A record-opening segment (CLP, TRN, PLB) is already its record's first segment.
        if self.record.segments[-1] is not seg:
            self.record.segments.append(seg)

    def finish(self) -> None:
        raise NotImplementedError
