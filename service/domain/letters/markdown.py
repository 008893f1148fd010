"""A letter as Markdown (CommonMark plus pipe tables): what `GET /api/tasks/{id}/letter?format=md` returns and the
web page shows as the draft."""

from __future__ import annotations

import re

from service.domain.letters.facts import Letter, Table

# Markup characters escaped in every value. Brackets stay readable (`[to complete: ...]` is not a link without a
# `](`, which is escaped), so the raw Markdown reads well in the page's draft view.
_SPECIAL = re.compile(r"([\\`*_<>|])")


def escape(text: str) -> str:
    """Text from the store or the rule data never turns into Markdown markup (or HTML) by accident."""
    text = _SPECIAL.sub(r"\\\1", text).replace("](", "\\](")
    text = " ".join(text.splitlines())
    # a value at the start of a line must not open a heading or a list
    return "\\" + text if text and (text[0] in "#+-=" or re.match(r"\d+[.)]\s", text)) else text


def _table(table: Table) -> list[str]:
    out = ["| " + " | ".join(escape(c) for c in table.columns) + " |",
           "|" + "|".join("---" for _ in table.columns) + "|"]
    out += ["| " + " | ".join(escape(c) for c in row) + " |" for row in table.rows]
    return out


def render_markdown(letter: Letter) -> str:
    out: list[str] = [f"# {escape(letter.title)}", ""]
    if letter.draft_notes:
        out.append("> **Draft: check before sending** (remove this box from the letter you send)")
        out.append(">")
        out += [f"> - {escape(note)}" for note in letter.draft_notes]
        out.append("")
    out += [letter.date.isoformat(), ""]
    out += [escape(line) + "  " for line in letter.recipient]
    out.append("")
    out.append("**Re:**")
    out.append("")
    out += [f"- **{escape(label)}:** {escape(value)}" for label, value in letter.reference]
    out.append("")
    out += [escape(letter.salutation), ""]
    for section in letter.sections:
        out += [f"## {escape(section.heading)}", ""]
        for paragraph in section.paragraphs:
            out += [escape(paragraph), ""]
        if section.table is not None:
            out += [*_table(section.table), ""]
        if section.bullets:
            out += [f"- {escape(b)}" for b in section.bullets]
            out.append("")
        for paragraph in section.after:
            out += [escape(paragraph), ""]
    out += ["## Enclosures", ""]
    if letter.enclosures:
        out += [f"{i}. {escape(item)}" for i, item in enumerate(letter.enclosures, start=1)]
    else:
        out.append(escape("[to complete: the documents to enclose (the task checklist lists none)]"))
    out.append("")
    out += [escape(line) + "  " for line in letter.closing]
    return "\n".join(out).rstrip() + "\n"
