"""What a letter is composed from: plain values the service layer gathers from the store (claim, tasks, decisions,
claim history), and what the composer returns (a `Letter`: sections, tables, enclosures), ready for any renderer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from service.domain.model import ChecklistItem, HistorySession, SubmittedLine
from service.domain.tasks import TaskLine

# -- input -------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClaimFactsForLetter:
    """The claim as billed and as the payer adjudicated it. No patient identifiers: the letter leaves blanks for
    the patient's name and member id, which the store does not keep in readable form."""

    claim_id: str
    payer_id: str
    payer_type: str
    payer_name: str | None = None
    payer_claim_numbers: tuple[str, ...] = ()
    service_date_from: dt.date | None = None
    service_date_to: dt.date | None = None
    total_charge: Decimal | None = None
    billing_npi: str | None = None
    rendering_npi: str | None = None
    diagnoses: tuple[str, ...] = ()
    prior_authorization: str | None = None
    submitted_lines: tuple[SubmittedLine, ...] = ()
    first_submitted: dt.date | None = None  # the first `submitted` event on the claim's timeline
    first_accepted: dt.date | None = None  # the first 277CA acknowledgement on the timeline


@dataclass(frozen=True, slots=True)
class TaskForLetter:
    task_id: str
    category: str
    action: str
    appealable: bool
    state: str
    amount_at_risk: Decimal
    explanation: str
    deadline: dt.date | None = None
    deadline_basis: str | None = None
    lines: tuple[TaskLine, ...] = ()
    checklist: tuple[ChecklistItem, ...] = ()
    appeal_level: int = 1  # 1 = first appeal (Medicare redetermination); the stream raises it when one is upheld

    @property
    def is_open(self) -> bool:
        return self.state in ("open", "in_progress", "submitted")


@dataclass(frozen=True, slots=True)
class DenialForLetter:
    """One decision (one adjustment) behind a task: its codes and the classifier's explanation."""

    task_id: str | None
    line_id: str | None
    group: str
    reason: str
    remarks: tuple[str, ...]
    amount: Decimal
    procedure_code: str | None = None
    modifiers: tuple[str, ...] = ()
    service_date: dt.date | None = None
    explanation: str = ""


@dataclass(frozen=True, slots=True)
class LetterRequest:
    claim: ClaimFactsForLetter
    task_id: str  # the task the user asked from; it decides between an appeal and a reopening request
    tasks: tuple[TaskForLetter, ...]  # the claim's tasks with this payer that the asker may see
    decisions: tuple[DenialForLetter, ...] = ()
    history: tuple[HistorySession, ...] = ()  # the patient's procedure sessions on any claim
    today: dt.date = field(default_factory=dt.date.today)


class LetterError(ValueError):
    """No letter can be drafted for this task (a stable `code` for the API)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# -- output ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Section:
    heading: str
    paragraphs: tuple[str, ...] = ()
    table: Table | None = None
    bullets: tuple[str, ...] = ()
    after: tuple[str, ...] = ()  # paragraphs after the table or bullets


@dataclass(frozen=True, slots=True)
class CrosswalkRow:
    criterion: str
    requirement: str
    evidence: str
    status: str  # met | not met | to document

    def cells(self) -> tuple[str, ...]:
        return (self.criterion, self.requirement, self.evidence, self.status)


@dataclass(frozen=True, slots=True)
class Letter:
    kind: str  # appeal | reopening
    title: str
    level: str  # e.g. "Medicare redetermination (first level of appeal)"
    date: dt.date
    recipient: tuple[str, ...]
    reference: tuple[tuple[str, str], ...]  # the "Re:" block: label, value
    salutation: str
    sections: tuple[Section, ...]
    enclosures: tuple[str, ...]  # checklist items marked done
    closing: tuple[str, ...]
    task_ids: tuple[str, ...]
    deadline: dt.date | None = None
    deadline_basis: str | None = None
    to_gather: tuple[str, ...] = ()  # checklist items not yet done
    draft_notes: tuple[str, ...] = ()  # what to check before sending (never sent)
    crosswalk: tuple[CrosswalkRow, ...] = ()
