"""Appeal letters, reopening requests and authorization reconsiderations: composed from plain values and checked
against them (`compose_letter`), rendered to Markdown (`render_markdown`). The PDF rendering is an adapter
(`service.adapters.letter_pdf`)."""

from service.domain.letters.book import LetterBook
from service.domain.letters.compose import compose_letter
from service.domain.letters.facts import (
    ClaimFactsForLetter,
    CrosswalkRow,
    DatedDiagnoses,
    DenialForLetter,
    Letter,
    LetterError,
    LetterRequest,
    Section,
    Table,
    TaskForLetter,
)
from service.domain.letters.markdown import render_markdown

__all__ = ["ClaimFactsForLetter", "CrosswalkRow", "DatedDiagnoses", "DenialForLetter", "Letter", "LetterBook",
           "LetterError", "LetterRequest", "Section", "Table", "TaskForLetter", "compose_letter", "render_markdown"]
