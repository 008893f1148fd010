"""From bytes to the text pyx12 reads: size limit, decoding, and three repairs real files need.

pyx12 reads the separators from a fixed-width, 106-character ISA segment. Real files bend that:

- an ISA whose fields are not padded to their fixed widths: rebuilt padded (warning);
- a component separator in ISA16 that the file does not use (TR3 examples declare `:` and write `HC>55669`):
  when every composite that must carry a component separator (SVC01, STC01) uses one other character and never
  the declared one, ISA16 is corrected (warning);
- a bare transaction set (ST...SE without ISA/GS, as some billing systems export it): wrapped in a synthetic
  envelope whose control number is derived from the content, so ids stay deterministic (warning);
- envelope versions that disagree while each is a well-formed code: the transaction set's own implementation
  reference (ST03) decides, then GS08, and ISA12 follows GS08 (warning). A version element that is no version at all
  (`ISA12 '99999'`, `GS08 '5010'` with no ST03 to read instead) refuses the file with a sentence naming it.

Everything else about the structure is left to pyx12 and its maps.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from service.x12.issues import Issue

ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)  # ISA01..ISA16
ISA_LENGTH = 106


class Rejected(Exception):
    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.reason)
        self.issue = issue


@dataclass(slots=True)
class Prepared:
    text: str
    element_separator: str
    component_separator: str
    segment_terminator: str
    synthetic_envelope: bool = False
    warnings: list[Issue] = field(default_factory=list)
    unmapped: bool = False  # a group's guide has no pyx12 map: the file is read with envelope checks only


def _fatal(code: str, reason: str) -> Rejected:
    return Rejected(Issue("fatal", code, reason))


def decode(data: bytes, warnings: list[Issue]) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # One stray Latin-1 byte in a name must not sink a remittance; pyx12 flags characters it does not accept.
        warnings.append(Issue("warning", "encoding", f"not UTF-8 at byte {exc.start}: read as Latin-1"))
        return data.decode("latin-1")


def prepare(data: bytes, *, max_bytes: int) -> Prepared:
    """Raise `Rejected` (one fatal issue) or return the text to walk."""
    if len(data) > max_bytes:
        raise _fatal("oversize", f"the file is {len(data)} bytes, over the {max_bytes}-byte limit "
                                 "(DENIALS_X12_MAX_BYTES)")
    warnings: list[Issue] = []
    text = decode(data, warnings).lstrip(" \t\r\n\x00")
    if not text:
        raise _fatal("empty", "the file is empty")
    if text.startswith("ISA") and len(text) > 3:
        prepared = _interchange(text)
    elif text[:2] in ("ST", "GS") and len(text) > 3 and not text[2].isalnum() and not text[2].isspace():
        prepared = _wrap_bare(text)
    else:
        raise _fatal("not_x12", "not an X12 interchange: the data must begin with an ISA segment "
                                "(or a bare GS/ST transaction set)")
    prepared.warnings[:0] = warnings
    _versions(prepared)
    return prepared


# --- ISA ----------------------------------------------------------------------------------------------------------


def _split_isa(text: str, start: int) -> tuple[list[str], int, str]:
    """ISA elements, the index just past its terminator, and the terminator. The ISA has exactly 16 elements, so
    its terminator is the character after ISA16 (itself one character) whatever the widths."""
    sep = text[start + 3]
    idx = start + 3
    for _ in range(15):
        idx = text.find(sep, idx + 1)
        if idx < 0:
            raise _fatal("not_x12", "the ISA segment is truncated")
    if idx + 2 >= len(text):
        raise _fatal("not_x12", "the ISA segment is truncated")
    elements = text[start + 4: idx].split(sep) + [text[idx + 1]]
    return elements, idx + 3, text[idx + 2]


def _render_isa(elements: list[str], sep: str, terminator: str) -> str:
    fields = []
    for n, (value, width) in enumerate(zip(elements, ISA_WIDTHS, strict=True), start=1):
        value = value.strip() if n != 11 and n != 16 else value
        if n == 13:
            value = value.zfill(width)
        if len(value) > width:
            raise _fatal("not_x12", f"ISA{n:02d} is longer than its fixed width of {width}")
        fields.append(value.ljust(width))
    return "ISA" + sep + sep.join(fields) + terminator


def _interchange(text: str) -> Prepared:
    sep = text[3]
    if sep.isalnum() or sep.isspace():
        raise _fatal("not_x12", "the ISA element separator is not a delimiter character")
    elements, _end, terminator = _split_isa(text, 0)
    component = elements[15]
    if terminator.isalnum() or terminator == sep or component == sep:
        raise _fatal("not_x12", "the ISA separators are not distinct delimiter characters")
    warnings: list[Issue] = []
    isa_starts = _isa_starts(text, sep, terminator)
    repaired = _component_repair(text, sep, terminator, component)
    if repaired is not None:
        warnings.append(Issue("warning", "repair", f"ISA16 declares component separator {component!r} but the "
                                                     f"composites use {repaired!r}: read with {repaired!r}"))
        component = repaired
    rebuilt = []
    last = 0
    normalised = False
    for start in isa_starts:
        isa_elements, isa_end, isa_term = _split_isa(text, start)
        if text[start + 3] != sep or isa_term != terminator:
            raise _fatal("envelope", "interchanges in this file use different separators; send them as separate "
                                     "files")
        isa_elements[15] = component
        isa = _render_isa(isa_elements, sep, terminator)
        if isa != text[start:isa_end]:
            normalised = normalised or (isa_end - start) != ISA_LENGTH
            rebuilt.append(text[last:start])
            rebuilt.append(isa)
            last = isa_end
    if rebuilt:
        rebuilt.append(text[last:])
        text = "".join(rebuilt)
    if normalised:
        warnings.append(Issue("warning", "repair", "ISA fields were not padded to their fixed widths: padded"))
    return Prepared(text, sep, component, terminator, warnings=warnings)


def _isa_starts(text: str, sep: str, terminator: str) -> list[int]:
    starts = [0]
    pattern = re.compile(re.escape(terminator) + r"[\r\n]*ISA" + re.escape(sep))
    for m in pattern.finditer(text):
        starts.append(m.end() - 4)
    return starts


# Punctuation that occurs inside ordinary values (ids, names, date ranges): never taken for a component separator.
_IN_VALUES = set(".,-/()'&@#+ \r\n\t")


def _component_candidates(text: str, sep: str, terminator: str) -> set[str]:
    """The characters that follow the qualifier of SVC01 (`HC:64483`) and the category of STC01 (`A7:562`):
    composites that always carry a component separator."""
    t, s = re.escape(terminator), re.escape(sep)
    pattern = re.compile(t + r"[\r\n]*(?:SVC" + s + r"[A-Z0-9]{2}|STC" + s + r"[A-Z][A-Z0-9]{1,2})([^A-Za-z0-9])")
    found = set()
    for m in pattern.finditer(text):
        char = m.group(1)
        if char not in (sep, terminator) and char not in _IN_VALUES:
            found.add(char)
    return found


def _component_repair(text: str, sep: str, terminator: str, declared: str) -> str | None:
    candidates = _component_candidates(text, sep, terminator)
    if len(candidates) == 1 and declared not in candidates:
        return candidates.pop()
    return None


# --- bare transaction sets ----------------------------------------------------------------------------------------


def _wrap_bare(text: str) -> Prepared:
    sep = text[2]
    terminator = next((c for c in text[3:200] if not (c.isalnum() or c == sep or c == " ")), None)
    if terminator is None:
        raise _fatal("not_x12", "no segment terminator found after the first segment")
    candidates = _component_candidates(terminator + text, sep, terminator)
    component = candidates.pop() if len(candidates) == 1 else ":"
    st = re.search(r"(?:^|" + re.escape(terminator) + r")\s*ST" + re.escape(sep) + r"(\d{3})", text)
    if st is None:
        raise _fatal("not_x12", "no ST segment found")
    set_id = st.group(1)
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    control = str(int(digest[:12], 16) % 10**9).zfill(9)
    body = text if text.rstrip().endswith(terminator) else text.rstrip() + terminator
    isa = _render_isa(["00", "", "00", "", "ZZ", "NOENVELOPE", "ZZ", "NOENVELOPE", "000101", "0000", "^", "00501",
                       control, "0", "P", component], sep, terminator)
    parts = [isa]
    if not text.startswith("GS"):
        fic, version = _functional_group(text, sep, terminator, set_id)
        gs = sep.join(["GS", fic, "NOENVELOPE", "NOENVELOPE", "20000101", "0000", str(int(control)), "X", version])
        sets = len(re.findall(re.escape(terminator) + r"\s*ST" + re.escape(sep), terminator + text))
        parts += [gs + terminator, body, sep.join(["GE", str(sets), str(int(control))]) + terminator]
    else:
        parts.append(body)
    parts.append(sep.join(["IEA", "1", control]) + terminator)
    warning = Issue("warning", "repair", "no ISA/GS envelope: wrapped in a synthetic envelope "
                                         f"(control number {control}, derived from the content)")
    return Prepared("".join(parts), sep, component, terminator, synthetic_envelope=True, warnings=[warning])


def _functional_group(text: str, sep: str, terminator: str, set_id: str) -> tuple[str, str]:
    """GS01 and GS08 for a bare set: ST03 when present, else the 5010 guide the set id and BHT06 imply."""
    st = re.search(r"ST" + re.escape(sep) + r"\d{3}" + re.escape(sep) + r"[^" + re.escape(sep + terminator)
                   + r"]*" + re.escape(sep) + r"([0-9A-Z]{6,12})", text[:200])
    if set_id == "835":
        return "HP", st.group(1) if st else "005010X221A1"
    if set_id == "277":
        if st:
            return "HN", st.group(1)
        bht = re.search(r"BHT" + re.escape(sep) + r"[^" + re.escape(terminator) + r"]*", text)
        is_ack = bht is not None and bht.group(0).split(sep)[-1] == "TH"
        return "HN", "005010X214" if is_ack else "005010X212"
    raise _fatal("unsupported", f"transaction set {set_id} is not supported (835, 277 and 277CA are)")


# --- versions -----------------------------------------------------------------------------------------------------

# Every guide this gateway reads: GS08 -> (ST01, ISA12). The 277 RFAI has no pyx12 map: it is read with pyx12's
# envelope checks only (see parse.py).
GUIDES = {
    "005010X221A1": ("835", "00501"), "004010X091A1": ("835", "00401"), "005010X212": ("277", "00501"),
    "005010X214": ("277", "00501"), "005010X213": ("277", "00501"), "005010X364": ("277", "00501"),
    "005010X222A1": ("837", "00501"),
}
# Labels senders use for a guide we read: the base guide without its addenda.
ALIASES = {"005010X221": "005010X221A1", "004010X091": "004010X091A1", "005010X222": "005010X222A1"}
# Guides pyx12 has no map for: the 277 request for additional information (RFAI) and the 277 data reporting
# acknowledgment (read as an acknowledgment). Their envelopes are validated, their segments read without a map.
UNMAPPED_GUIDES = {"005010X213", "005010X364"}
_X12_VERSION = re.compile(r"^00[2-9]\d\d$")  # ISA12: 00200 ... 00801 and later
_RELEASE_CODE = re.compile(r"^\d{6}[A-Z0-9]{0,6}$")  # GS08: version, release and industry id (005010X221A1)
_READABLE = ("835 005010X221A1 or 004010X091A1, 277 005010X212, 277CA 005010X214, 277 RFAI 005010X213, 277 data "
             "reporting acknowledgment 005010X364, 837P 005010X222A1")


def guide(code: str) -> str | None:
    """The guide a GS08/ST03 value names, when it is one this gateway reads."""
    code = code.strip()
    code = ALIASES.get(code, code)
    return code if code in GUIDES else None


@dataclass(slots=True)
class _Segment:
    index: int  # in the list of raw segments
    elements: list[str]


@dataclass(slots=True)
class _Group:
    gs: _Segment
    sets: list[_Segment] = field(default_factory=list)  # ST segments


@dataclass(slots=True)
class _Interchange:
    isa: _Segment | None
    groups: list[_Group] = field(default_factory=list)


def _envelopes(raw: list[str], sep: str) -> list[_Interchange]:
    interchanges: list[_Interchange] = []
    for index, text in enumerate(raw):
        body = text.lstrip("\r\n")
        sid = body[:3].rstrip(sep)
        if sid not in ("ISA", "GS", "ST"):
            continue
        segment = _Segment(index, body.split(sep))
        if sid == "ISA":
            interchanges.append(_Interchange(segment))
        elif sid == "GS":
            if not interchanges:
                interchanges.append(_Interchange(None))
            interchanges[-1].groups.append(_Group(segment))
        elif interchanges and interchanges[-1].groups:
            interchanges[-1].groups[-1].sets.append(segment)
    return interchanges


def _element(segment: _Segment, n: int) -> str:
    return segment.elements[n].strip() if len(segment.elements) > n else ""


def _group_guide(group: _Group, warnings: list[Issue]) -> str:
    """The guide a functional group is read by; raises `Rejected` when neither GS08 nor ST03 names one we read."""
    declared = _element(group.gs, 8)
    from_gs = guide(declared)
    from_sets = {guide(_element(st, 3)) for st in group.sets if _element(st, 3)}
    from_sets.discard(None)
    chosen = from_gs
    if len(from_sets) == 1 and from_sets != {from_gs}:
        chosen = from_sets.pop()  # the sets' own implementation reference wins over a disagreeing group header
        warnings.append(Issue("warning", "repair", f"GS08 {declared!r} disagrees with the transaction sets' "
                                                    f"implementation reference (ST03): read as {chosen}",
                              segment="GS", element="GS08", value=declared[:20]))
    elif chosen is not None and chosen != declared:
        warnings.append(Issue("warning", "repair", f"GS08 {declared!r} read as the guide {chosen}", segment="GS",
                              element="GS08", value=declared[:20]))
    if chosen is None:
        shown = declared[:20]
        if not _RELEASE_CODE.match(declared):
            raise _fatal("version", f"GS08 {shown!r} is not a version/release code; expected e.g. 005010X221A1")
        raise _fatal("unsupported", f"transaction not supported: GS08 {shown!r} ({_READABLE} are read)")
    expected_set = GUIDES[chosen][0]
    for st in group.sets:
        set_id = _element(st, 1)
        if set_id != expected_set:
            raise _fatal("unsupported", f"ST01 {set_id[:6]!r} does not match its group's guide {chosen} (a "
                                        f"{expected_set} is expected)")
    return chosen


def _versions(prepared: Prepared) -> None:
    """Check ISA12, GS08 and ST03 and make them agree (see the module docstring); rewrites the text when a repair is
    needed, raises `Rejected` when a version element is no version at all."""
    sep, term = prepared.element_separator, prepared.segment_terminator
    raw = prepared.text.split(term)
    changed = False
    for interchange in _envelopes(raw, sep):
        guides = []
        for group in interchange.groups:
            chosen = _group_guide(group, prepared.warnings)
            guides.append(chosen)
            prepared.unmapped = prepared.unmapped or chosen in UNMAPPED_GUIDES
            if _element(group.gs, 8) != chosen:
                group.gs.elements += [""] * (9 - len(group.gs.elements))
                group.gs.elements[8] = chosen
                raw[group.gs.index] = _rebuild(raw[group.gs.index], group.gs.elements, sep)
                changed = True
        if interchange.isa is None:
            continue
        isa12 = _element(interchange.isa, 12)
        if not _X12_VERSION.match(isa12):
            raise _fatal("version", f"ISA12 {isa12[:10]!r} is not an X12 version (expected 00501, or 00401 for "
                                    "legacy files)")
        wanted = {GUIDES[g][1] for g in guides}
        if len(wanted) > 1:
            raise _fatal("version", "one interchange mixes 4010 and 5010 functional groups; send them as separate "
                                    "files")
        if not wanted:
            if isa12 not in ("00401", "00501"):
                raise _fatal("version", f"ISA12 {isa12!r} is an X12 version this gateway does not read (00501 and "
                                        "00401 are)")
            continue
        (version,) = wanted
        if isa12 != version:
            prepared.warnings.append(Issue("warning", "repair", f"ISA12 {isa12!r} disagrees with the groups' guide: "
                                                                f"read as {version}", segment="ISA",
                                           element="ISA12", value=isa12))
            interchange.isa.elements[12] = version
            raw[interchange.isa.index] = _rebuild(raw[interchange.isa.index], interchange.isa.elements, sep)
            changed = True
    if changed:
        prepared.text = term.join(raw)


def _rebuild(original: str, elements: list[str], sep: str) -> str:
    """The segment with new elements, keeping the line break that preceded it in the file."""
    body = original.lstrip("\r\n")
    return original[:len(original) - len(body)] + sep.join(elements)
