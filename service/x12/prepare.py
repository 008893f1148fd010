"""From bytes to the text pyx12 reads: size limit, decoding, and three repairs real files need.

pyx12 reads the separators from a fixed-width, 106-character ISA segment. Real files bend that:

- an ISA whose fields are not padded to their fixed widths: rebuilt padded (warning);
- a component separator in ISA16 that the file does not use (TR3 examples declare `:` and write `HC>55669`):
  when every composite that must carry a component separator (SVC01, STC01) uses one other character and never
  the declared one, ISA16 is corrected (warning);
- a bare transaction set (ST...SE without ISA/GS, as some billing systems export it): wrapped in a synthetic
  envelope whose control number is derived from the content, so ids stay deterministic (warning).

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
