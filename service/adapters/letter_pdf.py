"""A composed letter as PDF bytes (fpdf2, pure Python): the same content as the Markdown, laid out on US Letter.

The built-in PDF fonts cover Latin-1 only, so the few other characters the texts use are written as their ASCII
equivalents (and anything else as "?"), rather than shipping a font file."""

from __future__ import annotations

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from service.domain.letters import Letter, Table

_ASCII = str.maketrans({"\u2265": ">=", "\u2264": "<=", "\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'",
                        "\u201c": '"', "\u201d": '"', "\u2026": "...", "\u00a0": " ", "\u2022": "-"})
FONT = "Helvetica"


def latin1(text: str) -> str:
    return text.translate(_ASCII).encode("latin-1", "replace").decode("latin-1")


class _LetterPdf(FPDF):
    def __init__(self, letter: Letter) -> None:
        super().__init__(orientation="portrait", unit="mm", format="Letter")
        self._footer_text = latin1(f"{letter.title} - {letter.date.isoformat()}")
        self.set_margins(20, 18, 20)
        self.set_auto_page_break(auto=True, margin=18)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.cell(0, 5, f"{self._footer_text} - page {self.page_no()}/{{nb}}", align="C")


def _line(pdf: FPDF, text: str, *, size: float = 10, style: str = "", height: float = 5) -> None:
    pdf.set_font(FONT, style=style, size=size)
    pdf.multi_cell(0, height, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _table(pdf: FPDF, table: Table) -> None:
    pdf.set_font(FONT, size=8)
    widths = _widths(table)
    with pdf.table(col_widths=widths, text_align="LEFT", line_height=4, first_row_as_headings=True) as out:
        out.row([latin1(c) for c in table.columns])
        for row in table.rows:
            out.row([latin1(c) for c in row])
    pdf.ln(2)


def _widths(table: Table, *, chars_per_line: int = 112) -> tuple[int, ...]:
    """Column weights: every column fits its longest word (dates, amounts and codes never break), and the room
    left goes to the columns with the most text."""
    cells = [table.columns, *table.rows]
    longest_word = [min(28, max(len(w) for row in cells for w in (row[i].split() or [""]))) + 2
                    for i in range(len(table.columns))]
    text = [sum(len(row[i]) for row in cells) for i in range(len(table.columns))]
    room = max(0, chars_per_line - sum(longest_word))
    total = sum(text) or 1
    return tuple(w + int(room * t / total) for w, t in zip(longest_word, text, strict=True))


def render_pdf(letter: Letter) -> bytes:
    pdf = _LetterPdf(letter)
    pdf.set_title(latin1(letter.title))
    pdf.set_creator("denials")
    pdf.alias_nb_pages()
    pdf.add_page()
    _line(pdf, letter.title, size=15, style="B", height=8)
    if letter.draft_notes:
        pdf.set_fill_color(255, 244, 214)
        pdf.set_font(FONT, style="B", size=9)
        pdf.multi_cell(0, 5, "Draft: check before sending (remove this box from the letter you send)", fill=True,
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FONT, size=9)
        for note in letter.draft_notes:
            pdf.multi_cell(0, 4.5, latin1(f"- {note}"), fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(3)
    _line(pdf, letter.date.isoformat())
    pdf.ln(2)
    for line in letter.recipient:
        _line(pdf, line)
    pdf.ln(3)
    _line(pdf, "Re:", style="B")
    for label, value in letter.reference:
        pdf.set_font(FONT, style="B", size=9)
        pdf.cell(55, 5, latin1(label))
        pdf.set_font(FONT, size=9)
        pdf.multi_cell(0, 5, latin1(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    _line(pdf, letter.salutation)
    for section in letter.sections:
        pdf.ln(2)
        _line(pdf, section.heading, size=12, style="B", height=7)
        for paragraph in section.paragraphs:
            _line(pdf, paragraph)
            pdf.ln(1.5)
        if section.table is not None:
            _table(pdf, section.table)
        for bullet in section.bullets:
            _line(pdf, f"- {bullet}")
        for paragraph in section.after:
            _line(pdf, paragraph)
    pdf.ln(2)
    _line(pdf, "Enclosures", size=12, style="B", height=7)
    if letter.enclosures:
        for i, item in enumerate(letter.enclosures, start=1):
            _line(pdf, f"{i}. {item}")
    else:
        _line(pdf, "[to complete: the documents to enclose (the task checklist lists none)]")
    pdf.ln(4)
    for line in letter.closing:
        _line(pdf, line)
    return bytes(pdf.output())
