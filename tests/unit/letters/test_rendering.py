"""Rendering a composed letter: Markdown that never turns store values into markup, and a PDF whose extracted
text carries the same content (pypdf reads it back)."""

from __future__ import annotations

import io
from dataclasses import replace

from pypdf import PdfReader

from service.adapters.letter_pdf import latin1, render_pdf
from service.domain.letters import compose_letter, render_markdown
from service.domain.letters.markdown import escape
from tests.unit.letters.builders import book, claim, request


def test_the_markdown_letter_has_the_title_reference_sections_and_enclosures_in_order():
    text = render_markdown(compose_letter(request(), book()))
    order = ["# Medicare redetermination", "> **Draft: check before sending**", "**Re:**",
             "- **Payer claim number:** ICN-77", "## Request", "## Denied services",
             "## The services were medically necessary: criteria crosswalk", "| Criterion | Policy requires |",
             "## Level and deadline", "## Enclosures", "1. Current history and physical or progress notes",
             "Sincerely,"]
    positions = [text.index(part) for part in order]
    assert positions == sorted(positions)


def test_store_values_never_become_markup():
    assert escape("a|b *c* <script>") == "a\\|b \\*c\\* \\<script\\>"
    assert escape("# heading") == "\\# heading" and escape("1. item") == "\\1. item"
    assert escape("[x](javascript:alert(1))") == "[x\\](javascript:alert(1))"
    assert escape("[to complete: name]") == "[to complete: name]"
    r = request(claim=claim(payer_name="Evil | <b>Payer</b>", diagnoses=("M54.16",)))
    text = render_markdown(compose_letter(r, book()))
    assert "<b>" not in text and "Evil \\| \\<b\\>Payer\\</b\\>" in text


def test_the_pdf_text_carries_the_letter():
    letter = compose_letter(request(), book())
    data = render_pdf(letter)
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    for expected in ("Medicare redetermination", "ICN-77", "PC-100", "Payer claim number", "Denied services",
                     "Pain duration", "Levels per session", "Sessions in 12 months", "Local Coverage Determination",
                     "must reach the Medicare Administrative Contractor (MAC) by 2027-01-20", "Enclosures",
                     "Current history and physical or progress notes", "[to complete: patient name]"):
        assert expected in text, expected
    assert reader.metadata.title == "Medicare redetermination"


def test_characters_outside_latin1_are_written_as_ascii_not_dropped():
    assert latin1("\u2265 50% \u2014 relief \u201cok\u201d \u4e2d") == '>= 50% - relief "ok" ?'
    letter = compose_letter(request(), book())
    noted = replace(letter, draft_notes=("relief \u2265 80% \u2014 twice",))
    text = " ".join(PdfReader(io.BytesIO(render_pdf(noted))).pages[0].extract_text().split())
    assert "relief >= 80% - twice" in text
