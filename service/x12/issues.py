"""What can go wrong in an X12 file, said without the file's PHI.

The rule is *read what can be read, flag what is odd, refuse only what cannot be read at all*:

- `fatal`: the file cannot be read (not X12, truncated, an envelope version that is no version, an unsupported
  transaction). The whole file is refused and no record is published.
- `error`: one record (a claim, a PLB adjustment) whose money cannot be read (CLP03/CLP04, an SVC amount, a CAS
  amount that is not a number) or which has no claim id. Only the gateway's own reading raises these: a pyx12
  finding never decides whether a record is published. The record becomes a `RecordError` (a dead letter in the
  stream path).
- `warning`: everything else pyx12 or the reader found (a segment pyx12 could not place, an unknown qualifier, an
  impossible date, a missing element we can do without, a repair we made). Inside a record it travels with the
  record as a data-quality flag; outside any record it is a file-level warning (and, when it sits in a transaction
  set's header, a flag on every record of that set). Kept and counted, never silently dropped.

Reasons name segment ids, positions and element numbers. An element's value as sent is kept (`value`) only where it
cannot be PHI: codes, qualifiers, amounts, dates and version ids, never names, member ids, claim or account numbers
(pyx12's own message texts quote values, which is why they are not passed through).
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
    value: str | None = None  # the element as sent, only where it cannot be PHI (see `safe_value`)

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
        if self.value is not None:
            tail = f" (sent: {self.value!r})" + tail
        return f"{head}: {self.reason}{tail}" if head else f"{self.reason}{tail}"

    def as_dict(self) -> dict:
        return {
            "severity": self.severity, "code": self.code, "reason": self.reason, "segment": self.segment,
            "line": self.line, "position": self.position, "element": self.element, "pyx12_code": self.pyx12_code,
            "value": self.value,
        }

    def as_flag(self) -> dict:
        """The data-quality flag a published record carries (the `DataQualityFlag` contract)."""
        return {"code": self.code, "reason": self.reason, "segment": self.segment, "line": self.line,
                "position": self.position, "element": self.element, "pyx12_code": self.pyx12_code,
                "value": self.value}


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
# A missing trailer means the file was cut short: refused. Control-number and count bookkeeping errors with every
# trailer present are warnings: pyx12 still placed every segment, so the data is complete as sent (real samples
# repeat one ISA control number 156 times, close with a different IEA02, or state a wrong SE01).
SOFT_ENVELOPE = {("isa", "001"), ("isa", "021"), ("isa", "025"), ("gs", "4"), ("gs", "5"), ("gs", "6"), ("st", "3"),
                 ("st", "4"), ("st", "23")}
# pyx12's walker does not reset its counters between interchanges, so every IEA/GE after the first "repeats too
# often": an artifact, not a finding.
_ENVELOPE_SEGMENTS = {"ISA", "IEA", "GS", "GE"}

_MISSING_ID = re.compile(r"\(([A-Z0-9]{2,4})\) missing")
_ELEMENT_REF = re.compile(r"^([A-Z][A-Z0-9]{1,2})(\d{2})(?:-(\d{2}))?$")

# Elements whose value may be echoed in a flag: codes, qualifiers, amounts, quantities, dates and version ids.
# Everything else (names, member ids, claim and account numbers, addresses, bank data) is withheld. `None` = every
# element of the segment is safe.
_SAFE_ELEMENTS: dict[str, frozenset[int] | None] = {
    "SVC": None, "CAS": None, "AMT": None, "QTY": None, "LQ": None, "MOA": None, "MIA": None, "DTM": None,
    "DTP": None, "STC": None, "HL": None, "BHT": None, "ST": None, "SE": None, "GE": None, "LX": None, "TS3": None,
    "TS2": None, "GS": frozenset({1, 4, 5, 8}), "ISA": frozenset({11, 12, 14, 15, 16}),
    "CLP": frozenset({2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13}), "N1": frozenset({1, 3}), "REF": frozenset({1}),
    "SV1": None, "CLM": frozenset({2, 5, 6, 7, 8, 9}), "SBR": frozenset({1, 2, 9}),
    "NM1": frozenset({1, 2, 8}), "PLB": frozenset({2, 4, 6, 8, 10, 12, 14}), "TRN": frozenset({1}),
    "BPR": frozenset({1, 2, 3, 4, 16}), "PER": frozenset({1}), "DMG": frozenset({1}),
}
MAX_VALUE = 40  # a value longer than this is cut (a flag is a pointer, not a copy of the file)


def safe_value(element: str | None, value: str | None) -> str | None:
    """`value` when `element` (e.g. "SVC01-02", "DTP03") is one whose content cannot be PHI, else None."""
    if value is None or element is None:
        return None
    match = _ELEMENT_REF.match(element)
    if match is None:
        return None
    segment, number = match.group(1), int(match.group(2))
    if segment not in _SAFE_ELEMENTS:
        return None
    allowed = _SAFE_ELEMENTS[segment]
    if allowed is not None and number not in allowed:
        return None
    return value if len(value) <= MAX_VALUE else value[:MAX_VALUE] + "..."


@dataclass(slots=True)
class RawError:
    """One error as pyx12 reported it, before classification. `value` stays inside this module unless
    `safe_value` lets it through."""

    kind: str  # "isa" | "gs" | "st" | "seg" (X12Reader) | "walk" (map walker) | "ele" | "segval" (element check)
    code: str
    text: str
    value: str | None
    element: str | None


def classify(raw: RawError, *, segment: str | None, line: int | None, position: int | None,
             legacy_group: bool = False) -> Issue | None:
    """Turn one pyx12 error into an Issue (None: a known pyx12 artifact). Only a missing trailer (a truncated file)
    is fatal; every other finding is a warning, which becomes a data-quality flag of the record it falls in.
    `legacy_group`: the segment is a CAS with the 4010 group CR, which the 5010 map cannot place (it keys CAS on its
    group code) and which we accept."""
    kind, code = raw.kind, raw.code
    if kind == "walk" and code in ("4", "5") and segment in _ENVELOPE_SEGMENTS:
        return None
    if legacy_group and kind in ("walk", "ele") and code in ("1", "7"):
        return Issue("warning", "legacy", "legacy 4010 group code CR accepted", segment=segment, line=line,
                     position=position, element="CAS01", pyx12_code=code, value="CR")
    at = {"segment": segment, "line": line, "position": position, "pyx12_code": code}
    if kind in ("isa", "gs", "st"):
        reason = ENVELOPE_REASONS.get((kind, code), f"{kind.upper()} envelope error")
        severity = "warning" if (kind, code) in SOFT_ENVELOPE or (kind, code) not in ENVELOPE_REASONS else "fatal"
        return Issue(severity, "envelope", reason, **at)
    if kind == "seg":  # X12Reader's own segment checks
        if "leading space" in raw.text:
            return Issue("warning", "syntax", "segment starts with a space", **at)
        if "trailing element" in raw.text:
            return Issue("warning", "syntax", "segment ends with an element separator", **at)
        if "is empty" in raw.text:
            return Issue("warning", "syntax", "empty segment", **at)
        if code.startswith("HL"):
            return Issue("warning", "structure", "HL numbering or parent reference is inconsistent (read by the "
                                                  "levels' codes)", **at)
        return Issue("warning", "structure", "segment identifier is not valid: segment skipped", **at)
    if kind == "walk":
        reason = SEGMENT_REASONS.get(code, "segment error")
        if code == "3":
            missing = _MISSING_ID.search(raw.text)
            if missing:
                reason = f"required segment or loop {missing.group(1)} missing"
        elif code in ("1", "2", "6", "7"):
            reason += " (read by its segment id)"
        return Issue("warning", "structure", reason, **at)
    if kind == "segval":  # segment-level findings of the element check: syntax rules, too many elements
        if "Not Used" in raw.text:
            return Issue("warning", "element", "composite present but marked not used", **at)
        reason = "too many elements" if "Too many" in raw.text else "element syntax rule violated"
        return Issue("warning", "element", reason, **at)
    # element errors
    element = raw.element if raw.element and _ELEMENT_REF.match(raw.element) else None
    reason = ELEMENT_REASONS.get(code, "element error")
    return Issue("warning", "element", reason, element=element, value=safe_value(element, raw.value), **at)


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
