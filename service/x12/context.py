"""Where a record sits in the file (interchange, group, set) and the record accumulator the builders share."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Literal

from pydantic import ValidationError

from service.x12.elements import FieldError
from service.x12.issues import Issue, RecordError
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


@dataclass(slots=True)
class Record:
    """The segments of one future record (a claim, a PLB adjustment, a batch status) and what went wrong in them."""

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

    def contract_error(self, exc: ValidationError) -> None:
        _, reason = describe_validation_error(exc)
        self.issues.append(Issue("error", "contract", f"the record does not fit its contract: {reason}"))

    def rejection(self, ctx: SetContext, event_id: str, key: str | None) -> RecordError:
        raw = "".join(seg.format() for seg in self.segments).encode("utf-8", "replace")
        return RecordError(kind=self.kind, topic=self.topic, event_id=event_id, key=key,
                           interchange=ctx.interchange, set_control_number=ctx.set_control,
                           record_position=self.position, first_line=self.first_line,
                           issues=tuple(i for i in self.issues if i.severity == "error"), raw=raw)


class Builder:
    """Base of the transaction-set builders: dispatches each segment to its handler and keeps the open record's
    segments (for a dead letter) and value errors. A value error outside any record (a header date) is a warning."""

    _HANDLERS: dict = {}

    def __init__(self, ctx: SetContext, out) -> None:
        self.ctx = ctx
        self.out = out
        self.record: Record | None = None  # the open record: pyx12's findings on the current segment go to it
        self._models: dict = {}

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
        try:
            handler = self._HANDLERS.get(sid)
            if handler is not None:
                handler(self, seg, line, position)
        except FieldError as exc:
            if self.record is None:
                self.out.warn(Issue("warning", "element", exc.reason + " (header value ignored)", segment=sid,
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
