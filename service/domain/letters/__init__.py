"""Appeal letters and reopening requests: composed from plain values (`compose_letter`), rendered to Markdown
(`render_markdown`). The PDF rendering is an adapter (`service.adapters.letter_pdf`)."""

from service.domain.letters.book import LetterBook
from service.domain.letters.compose import compose_letter
from service.domain.letters.facts import (
    ClaimFactsForLetter,
    CrosswalkRow,
    DenialForLetter,
    Letter,
    LetterError,
    LetterRequest,
    Section,
    Table,
    TaskForLetter,
)
from service.domain.letters.markdown import render_markdown

__all__ = ["ClaimFactsForLetter", "CrosswalkRow", "DenialForLetter", "Letter", "LetterBook", "LetterError",
           "LetterRequest", "Section", "Table", "TaskForLetter", "compose_letter", "render_markdown"]
