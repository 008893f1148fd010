"""The pyx12 map directory we validate with: pyx12's own maps for the guides we accept, plus its 277 X212 map
with the structure repaired.

pyx12 4.0.0 ships `277.5010.X212.xml` but does not register it, and for good reason: as shipped it cannot walk a
valid 277 (every TR3 example fails with "HL not found" and "SE not found"). The loops are there; they are nested
and numbered wrongly. `_repair_x212` fixes exactly that, following the layout of pyx12's working 277CA map
(`277.5010.X214.xml`):

- ST/HEADER/DETAIL positions 0050/0100/0200 (were 0100/0110/0120, which puts DETAIL before BHT);
- the hierarchical levels nested as the guide nests them: 2000B inside 2000A, 2000C inside 2000B, 2000D inside
  2000C, 2000E inside 2000D, each at position 2000 after its parent's own segments (they were siblings in
  "TABLE2AREA" wrappers at position 0100, ahead of the HL that opens the parent);
- SE moved back into the transaction set (it sat in a wrapper beside it).

Segment and element definitions are untouched. pyx12 looks maps up by directory (`map_path`), so the directory
holds copies of the maps we use and an index (`maps.xml`) naming only the guides we accept: any other GS08 is
"map not found", which the parser reports as an unsupported transaction.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
import xml.etree.ElementTree as ET
from importlib.resources import files
from pathlib import Path

# (ISA12, GS08, GS01, map file): the guides this gateway reads.
SUPPORTED = (
    ("00501", "005010X221A1", "HP", "835.5010.X221.A1.xml"),
    ("00401", "004010X091A1", "HP", "835.4010.X091.A1.xml"),
    ("00501", "005010X212", "HN", "277.5010.X212.xml"),
    ("00501", "005010X214", "HN", "277.5010.X214.xml"),
    ("00501", "005010X222A1", "HC", "837.5010.X222.A1.xml"),
)
_SUPPORT_FILES = ("codes.xml", "dataele.xml", "x12.control.00501.xml", "x12.control.00401.xml")
_REPAIRED = "277.5010.X212.xml"

_lock = threading.Lock()
_directory: Path | None = None
_owner = 0  # the process that built `_directory`: a forked worker builds its own


def map_path() -> str:
    """The directory to pass to pyx12 as `map_path` (built once per process)."""
    global _directory, _owner
    with _lock:
        if _directory is None or _owner != os.getpid() or not (_directory / "maps.xml").exists():
            _directory, _owner = _build(), os.getpid()
        return str(_directory)


def _remove(target: Path, owner: int) -> None:
    if os.getpid() == owner:  # never from a forked child, which would pull the directory from under its parent
        shutil.rmtree(target, ignore_errors=True)


def _build() -> Path:
    source = files("pyx12").joinpath("map")
    target = Path(tempfile.mkdtemp(prefix="denials-pyx12-maps-"))
    atexit.register(_remove, target, os.getpid())
    for name in _SUPPORT_FILES + tuple(m for *_, m in SUPPORTED if m != _REPAIRED):
        (target / name).write_bytes(source.joinpath(name).read_bytes())
    tree = ET.ElementTree(ET.fromstring(source.joinpath(_REPAIRED).read_bytes()))
    _repair_x212(tree.getroot())
    tree.write(target / _REPAIRED, encoding="utf-8", xml_declaration=True)
    (target / "maps.xml").write_text(_index(), encoding="utf-8")
    return target


def _index() -> str:
    versions: dict[str, list[str]] = {}
    for icvn, vriic, fic, name in SUPPORTED:
        versions.setdefault(icvn, []).append(f'    <map vriic="{vriic}" fic="{fic}" abbr="{fic}">{name}</map>')
    blocks = []
    for icvn, maps in versions.items():
        control = f"x12.control.{icvn}.xml"
        blocks.append(f'  <version icvn="{icvn}">\n' + "\n".join(maps)
                      + f'\n    <map vriic="" fic="" abbr="X12">{control}</map>\n  </version>')
    return '<?xml version="1.0" encoding="UTF-8"?>\n<maps>\n' + "\n".join(blocks) + "\n</maps>\n"


def _loop(parent: ET.Element, xid: str) -> ET.Element:
    for child in parent:
        if child.tag == "loop" and child.get("xid") == xid:
            return child
    raise LookupError(f"pyx12 277 X212 map: loop {xid} not where expected; the repair needs a review")


def _set_pos(node: ET.Element, pos: str) -> None:
    element = node.find("pos")
    if element is None:
        raise LookupError("pyx12 277 X212 map: a node has no pos")
    element.text = pos


def _repair_x212(root: ET.Element) -> None:
    gs = _loop(_loop(root, "ISA_LOOP"), "GS_LOOP")
    st = _loop(gs, "ST_LOOP")
    st_segment = st.find("segment")
    if st_segment is None or st_segment.get("xid") != "ST":
        raise LookupError("pyx12 277 X212 map: ST segment not found")
    _set_pos(st_segment, "0050")
    _set_pos(_loop(st, "HEADER"), "0100")
    detail = _loop(st, "DETAIL")
    _set_pos(detail, "0200")
    level_b = _loop(_loop(detail, "2000A"), "2000B")
    _set_pos(level_b, "2000")
    parent = level_b
    for area, level in (("TABLE2AREA4", "2000C"), ("TABLE2AREA5", "2000D"), ("TABLE2AREA6", "2000E")):
        wrapper = _loop(detail, area)
        child = _loop(wrapper, level)
        detail.remove(wrapper)
        _set_pos(child, "2000")
        parent.append(child)
        parent = child
    trailer_area = _loop(gs, "TABLE2AREA3")
    se = trailer_area.find("segment")
    if se is None or se.get("xid") != "SE":
        raise LookupError("pyx12 277 X212 map: SE segment not found")
    gs.remove(trailer_area)
    _set_pos(se, "5550")
    st.append(se)
