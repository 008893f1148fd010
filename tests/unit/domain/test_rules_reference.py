"""docs/rules-reference.md explains every `ref` a rule table cites, and only those: a decision that says
"(reference 2.9)" can always be looked up, and the page never describes a source no rule uses."""

import csv
import re
import tomllib
from pathlib import Path

from service.domain.ruledata import PACKAGE_DATA

REFERENCE = Path(__file__).resolve().parents[3] / "docs" / "rules-reference.md"
ENTRY = re.compile(r"^### `([^`]+)`", re.MULTILINE)


def _toml_refs(node, out):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "ref" and isinstance(value, str):
                out.add(value)
            else:
                _toml_refs(value, out)
    elif isinstance(node, list):
        for item in node:
            _toml_refs(item, out)


def table_refs() -> dict[str, set[str]]:
    """Every `ref` value of every table under service/domain/data/, with the files that cite it."""
    cited: dict[str, set[str]] = {}
    for path in sorted(PACKAGE_DATA.iterdir()):
        found: set[str] = set()
        if path.suffix == ".csv":
            # a table may open with comment lines before its header (pricing_codes.csv)
            lines = [text for text in path.read_text(encoding="utf-8").splitlines() if not text.startswith("#")]
            found = {row["ref"].strip() for row in csv.DictReader(lines) if (row.get("ref") or "").strip()}
        elif path.suffix == ".toml":
            _toml_refs(tomllib.loads(path.read_text(encoding="utf-8")), found)
        for ref in found:
            cited.setdefault(ref, set()).add(path.name)
    return cited


def entries() -> dict[str, str]:
    """The page's entries: the ref value of each `### `ref`` heading, with the entry's text up to the next heading."""
    text = REFERENCE.read_text(encoding="utf-8")
    heads = list(ENTRY.finditer(text))
    out = {}
    for index, head in enumerate(heads):
        end = heads[index + 1].start() if index + 1 < len(heads) else len(text)
        assert head.group(1) not in out, f"two entries for {head.group(1)}"
        out[head.group(1)] = text[head.end():end].split("\n## ")[0]
    return out


def test_the_tables_cite_references_at_all():
    cited = table_refs()
    assert {"carc.csv", "rarc.csv", "outcomes.csv", "pain_rules.toml", "letters.toml"} <= set().union(*cited.values())


def test_every_ref_a_table_cites_has_an_entry():
    missing = sorted(set(table_refs()) - set(entries()))
    assert missing == [], f"refs cited by a table but not explained in {REFERENCE.name}: {missing}"


def test_the_page_explains_no_ref_that_no_table_cites():
    unused = sorted(set(entries()) - set(table_refs()))
    assert unused == [], f"entries in {REFERENCE.name} that no table cites: {unused}"


def test_each_entry_names_the_tables_that_cite_it():
    cited = table_refs()
    for ref, body in entries().items():
        used_by = re.search(r"^Used by: (.+)$", body, re.MULTILINE)
        assert used_by is not None, f"entry {ref} has no 'Used by' line"
        assert sorted(name.strip() for name in used_by.group(1).split(",")) == sorted(cited.get(ref, ())), ref


def test_each_entry_says_what_the_source_is_and_what_the_rules_take_from_it():
    for ref, body in entries().items():
        assert "Source:" in body or "Source for all" in body or ref.startswith(("2.", "3.")), ref
        assert len(body.split()) >= 30, f"entry {ref} is too short to say what the rules rely on"
