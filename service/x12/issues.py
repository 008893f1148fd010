"""What can go wrong in an X12 file, said without the file's values.

Three severities:

- `fatal`: the file is structurally invalid (not X12, truncated, envelope counts wrong, a segment pyx12 cannot place
  outside any claim, an unsupported transaction). The whole file is rejected and no record is published.
- `error`: one record (a claim, a PLB adjustment, a batch-level status) cannot be built; the others are fine. The
  record becomes a `RecordError` (a dead letter in the stream path).
- `warning`: something off that does not change the data we publish (a pyx12 code-list or usage complaint, a header
  element we do not need, a repair we made). Kept and counted, never silently dropped.

Reasons name segment ids, positions and element numbers; they never echo element values (names, member ids and
claim ids are PHI), which is why pyx12's own message texts (they quote values) are not passed through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Severity = Literal["fatal", "error", "warning"]


@dataclass(frozen=True, slots=True)
class Issue:
    severity: Severity
    code: str  # a stable short class: "oversize", "not_x12", "envelope", "structure", "element", "contract", ...
    reason: str  # value-free
    segment: str | None = None  # segment id, e.g. "SVC"
    line: int | None = None  # ordinal of the segment in the file, 1-based (pyx12's line count)
    position: int | None = None  # position of the segment in its transaction set, ST = 1 (SE01 numbering)
    element: str | None = None  # element reference, e.g. "SVC02" or "SVC01-02"
    pyx12_code: str | None = None  # the 999/TA1 code pyx12 reported (IK3, IK4, TA1 or AK5 family)

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.segment:
            where.append(f"segment {self.segment}" + (f" (set position {self.position})" if self.position else ""))
        if self.element:
            where.append(f"element {self.element}")
        head = ", ".join(where)
        tail = f" [pyx12 {self.pyx12_code}]" if self.pyx12_code else ""
        return f"{head}: {self.reason}{tail}" if head else f"{self.reason}{tail}"

    def as_dict(self) -> dict:
        return {
            "severity": self.severity, "code": self.code, "reason": self.reason, "segment": self.segment,
            "line": self.line, "position": self.position, "element": self.element, "pyx12_code": self.pyx12_code,
        }


@dataclass(frozen=True, slots=True)
class RecordError:
    """One record of an otherwise readable file that could not be built. The stream agent turns it into a dead
    letter: `error_class` and `reason` are value-free; `key` (a claim id) and `raw` (the record's segments as sent)
    are PHI and belong only in the dead letter's key and value, never in logs."""

    kind: Literal["remittance", "provider_adjustment", "status"]
    topic: str
    event_id: str  # the id the record would have had (deterministic, like the good records' ids)
    key: str | None
    interchange: int  # position of the interchange in the file, 1-based
    set_control_number: str
    record_position: int  # position of the record in its transaction set, 1-based
    first_line: int | None
    issues: tuple[Issue, ...]
    raw: bytes

    error_class = "x12_record_invalid"

    @property
    def reason(self) -> str:
        what = {"remittance": "claim", "provider_adjustment": "provider adjustment", "status": "status record"}
        head = (f"{what[self.kind]} {self.record_position} of transaction set {self.set_control_number} "
                f"(interchange {self.interchange})")
        return f"{head}: " + "; ".join(str(i) for i in self.issues if i.severity == "error")


# --- pyx12 error classification -------------------------------------------------------------------------------

# Paraphrased meanings of the 999 (IK3 segment, IK4 element) and TA1/AK5 codes pyx12 reports.
SEGMENT_REASONS = {
    "1": "segment not recognised where it appears",
    "2": "segment not expected here (or marked not used)",
    "3": "required segment or loop missing",
    "4": "loop repeats more often than allowed",
    "5": "segment repeats more often than allowed",
    "6": "segment not defined in this transaction set",
    "7": "segment out of sequence",
    "8": "segment has data element errors",
}
ELEMENT_REASONS = {
    "1": "required element missing",
    "2": "conditionally required element missing",
    "3": "too many elements",
    "4": "element too short",
    "5": "element too long",
    "6": "invalid character in element",
    "7": "code value not valid for this element",
    "8": "invalid date",
    "9": "invalid time",
    "10": "element present but marked not used",
    "12": "too many repetitions",
    "13": "too many components",
}
ENVELOPE_REASONS = {
    ("isa", "001"): "interchange control numbers in ISA and IEA do not match",
    ("isa", "021"): "IEA01 does not match the number of functional groups",
    ("isa", "023"): "interchange trailer (IEA) missing: the file is truncated",
    ("isa", "024"): "functional group not closed before IEA",
    ("isa", "025"): "interchange control number repeated within the file",
    ("gs", "3"): "functional group trailer (GE) missing or group not closed",
    ("gs", "4"): "group control numbers in GS and GE do not match",
    ("gs", "5"): "GE01 does not match the number of transaction sets",
    ("gs", "6"): "group control number repeated within the interchange",
    ("st", "2"): "transaction set trailer (SE) missing: the file is truncated",
    ("st", "3"): "transaction set control numbers in ST and SE do not match",
    ("st", "4"): "SE01 does not match the number of segments in the set",
    ("st", "23"): "transaction set control number repeated within the group",
}
# A missing trailer means the file was cut short: rejected. Control-number and count bookkeeping errors with every
# trailer present are warnings: pyx12 still placed every segment, so the data is complete as sent (real samples
# repeat one ISA control number 156 times, close with a different IEA02, or state a wrong SE01).
SOFT_ENVELOPE = {("isa", "001"), ("isa", "021"), ("isa", "025"), ("gs", "4"), ("gs", "5"), ("gs", "6"), ("st", "3"),
                 ("st", "4"), ("st", "23")}
# pyx12's walker does not reset its counters between interchanges, so every IEA/GE after the first "repeats too
# often": an artifact, not a finding.
_ENVELOPE_SEGMENTS = {"ISA", "IEA", "GS", "GE"}
# Walker codes for a segment pyx12 could not place in the map: the structure around it is broken.
PLACEMENT_CODES = {"1", "2", "6", "7"}
# Element codes that mean data we need is absent; the others (code lists, usage, lengths, characters, dates pyx12
# dislikes) are warnings: what we publish is validated by the contracts and by our own element parsing.
MISSING_ELEMENT_CODES = {"1", "2"}

_MISSING_ID = re.compile(r"\(([A-Z0-9]{2,4})\) missing")
_ELEMENT_REF = re.compile(r"^[A-Z0-9]{2,3}\d{2}(-\d{2})?$")


@dataclass(slots=True)
class RawError:
    """One error as pyx12 reported it, before classification. `value` stays inside this module."""

    kind: str  # "isa" | "gs" | "st" | "seg" (X12Reader) | "walk" (map walker) | "ele" | "segval" (element check)
    code: str
    text: str
    value: str | None
    element: str | None


def classify(raw: RawError, *, segment: str | None, line: int | None, position: int | None,
             in_record: bool, legacy_group: bool = False) -> Issue | None:
    """Turn one pyx12 error into an Issue (None: a known pyx12 artifact): severity by where it happened (inside a
    record or not) and what it is. `legacy_group`: the segment is a CAS with the 4010 group CR, which the 5010 map
    cannot place (it keys CAS on its group code) and which we accept."""
    kind, code = raw.kind, raw.code
    if kind == "walk" and code in ("4", "5") and segment in _ENVELOPE_SEGMENTS:
        return None
    if legacy_group and kind in ("walk", "ele") and code in ("1", "7"):
        return Issue("warning", "legacy", "legacy 4010 group code CR accepted", segment=segment, line=line,
                     position=position, element="CAS01", pyx12_code=code)
    at = {"segment": segment, "line": line, "position": position, "pyx12_code": code}
    if kind in ("isa", "gs", "st"):
        reason = ENVELOPE_REASONS.get((kind, code), f"{kind.upper()} envelope error")
        severity = "warning" if (kind, code) in SOFT_ENVELOPE else "fatal"
        return Issue(severity, "envelope", reason, **at)
    if kind == "seg":  # X12Reader's own segment checks
        if "leading space" in raw.text:
            return Issue("warning", "syntax", "segment starts with a space", **at)
        if "trailing element" in raw.text:
            return Issue("warning", "syntax", "segment ends with an element separator", **at)
        if "is empty" in raw.text:
            return Issue("warning", "syntax", "empty segment", **at)
        if code.startswith("HL"):
            return Issue("fatal", "structure", "HL numbering or parent reference is inconsistent", **at)
        return Issue("fatal", "structure", "segment identifier is not valid", **at)
    if kind == "walk":
        reason = SEGMENT_REASONS.get(code, "segment error")
        if code == "3":
            missing = _MISSING_ID.search(raw.text)
            if missing:
                reason = f"required segment or loop {missing.group(1)} missing"
        if code in PLACEMENT_CODES:
            return Issue("error" if in_record else "fatal", "structure", reason, **at)
        return Issue("warning", "structure", reason, **at)
    if kind == "segval":  # segment-level findings of the element check: syntax rules, too many elements
        if "Not Used" in raw.text:
            return Issue("warning", "element", "composite present but marked not used", **at)
        reason = "too many elements" if "Too many" in raw.text else "element syntax rule violated"
        return Issue("error" if in_record else "warning", "element", reason, **at)
    # element errors
    element = raw.element if raw.element and _ELEMENT_REF.match(raw.element) else None
    reason = ELEMENT_REASONS.get(code, "element error")
    severity = "error" if (code in MISSING_ELEMENT_CODES and in_record) else "warning"
    return Issue(severity, "element", reason, element=element, **at)


class Collector:
    """A pyx12 error handler (the `errh` X12ContextReader calls) that keeps raw errors until the reader yields the
    segment they belong to. It implements the calls X12ContextReader, the map walker and the segment validator make.
    """

    __slots__ = ("pending",)

    def __init__(self) -> None:
        self.pending: list[RawError] = []

    def drain(self) -> list[RawError]:
        out, self.pending = self.pending, []
        return out

    # X12Reader errors: tuples (kind, code, message, value, source line)
    def handle_errors(self, err_list) -> None:
        for kind, code, text, value, _line in err_list:
            self.pending.append(RawError(kind, str(code), text or "", value, None))

    def isa_error(self, err_cde: str, err_str: str) -> None:
        self.pending.append(RawError("isa", err_cde, err_str, None, None))

    def gs_error(self, err_cde: str, err_str: str) -> None:
        self.pending.append(RawError("gs", err_cde, err_str, None, None))

    def st_error(self, err_cde: str, err_str: str) -> None:
        self.pending.append(RawError("st", err_cde, err_str, None, None))

    def seg_error(self, err_cde: str, err_str: str, err_value=None, src_line=None) -> None:
        # The walker reports placement/usage codes; the segment validator reports its segment-level findings as "8".
        kind = "segval" if err_cde == "8" else "walk"
        self.pending.append(RawError(kind, err_cde, err_str or "", err_value, None))

    def ele_error(self, err_cde: str, err_str: str, bad_value, refdes=None) -> None:
        self.pending.append(RawError("ele", err_cde, err_str or "", bad_value, refdes))

    # Cursor and lifecycle calls: positions come from the yielded segment node instead.
    def add_isa_loop(self, seg, src) -> None:
        pass

    def add_gs_loop(self, seg, src) -> None:
        pass

    def add_st_loop(self, seg, src) -> None:
        pass

    def add_seg(self, map_node, seg, seg_count, cur_line, ls_id) -> None:
        pass

    def add_ele(self, map_node) -> None:
        pass

    def close_isa_loop(self, node, seg, src) -> None:
        pass

    def close_gs_loop(self, node, seg, src) -> None:
        pass

    def close_st_loop(self, node, seg, src) -> None:
        pass
