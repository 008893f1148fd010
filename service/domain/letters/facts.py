"""What a letter is composed from: plain values the service layer gathers from the store (claim, tasks, decisions,
claim history), and what the composer returns (a `Letter`: sections, tables, enclosures), ready for any renderer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from service.domain.model import ChecklistItem, HistorySession, OtherPayer, PatientIdentifiers, SubmittedLine
from service.domain.tasks import TaskLine

# -- input -------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClaimFactsForLetter:
    """The claim as billed and as the payer adjudicated it. The patient identifiers travel apart (`LetterRequest`):
    they are decrypted only for a letter that is drafted, never to decide whether one can be."""

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
    other_payers: tuple[OtherPayer, ...] = ()  # the other coverage the submission listed (2320 loops)
    adjudicated_by: tuple[str, ...] = ()  # the payer ids whose remittance for the claim is on file
    # the date of a 271 on file showing the patient covered on the date of service: the store keeps no 271 today,
    # so no letter asserts active coverage (an eligibility task is told to verify it instead)
    eligibility_response: dt.date | None = None


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
    rule_ids: tuple[str, ...] = ()  # the rules of its decisions (auth.on_file: the register held an authorization)

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
    rule_id: str = ""  # the classifier's rule (auth.on_file: an authorization on file covers the line)


@dataclass(frozen=True, slots=True)
class DatedDiagnoses:
    """The diagnoses billed on one of the patient's other claims, with its date of service."""

    service_date: dt.date
    codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LetterRequest:
    claim: ClaimFactsForLetter
    task_id: str  # the task the user asked from; it decides between an appeal and a reopening request
    tasks: tuple[TaskForLetter, ...]  # the claim's tasks with this payer that the asker may see
    decisions: tuple[DenialForLetter, ...] = ()
    history: tuple[HistorySession, ...] = ()  # the patient's procedure sessions on any claim
    today: dt.date = field(default_factory=dt.date.today)
    other_diagnoses: tuple[DatedDiagnoses, ...] = ()  # the patient's other claims' diagnoses (recent first)
    patient: PatientIdentifiers | None = field(default=None, repr=False)  # decrypted for this letter only
    patient_withheld: str | None = None  # why the identifiers are not shown ("withheld: ...")


class LetterError(ValueError):
    """No letter can be drafted for this task (a stable `code` for the API). The message says why from the
    claim's facts (codes, dates, windows: never an identifier) and what to do instead; `details` carries the
    recommendation as data (e.g. {"recommendation": "write_off"})."""

    def __init__(self, code: str, message: str, details: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


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
    kind: str  # appeal | reopening | reconsideration (of an authorization denial)
    title: str
    level: str  # e.g. "Medicare redetermination (first level of appeal)"
    date: dt.date
    recipient: tuple[str, ...]
    reference: tuple[tuple[str, str], ...]  # the "Re:" block: label, value
    salutation: str
    sections: tuple[Section, ...]
    enclosures: tuple[str, ...]  # the covered tasks' checklist items, gathered or not
    closing: tuple[str, ...]
    task_ids: tuple[str, ...]
    deadline: dt.date | None = None
    deadline_basis: str | None = None
    to_gather: tuple[str, ...] = ()  # enclosures not yet marked gathered on the checklist
    draft_notes: tuple[str, ...] = ()  # what to check before sending (never sent)
    crosswalk: tuple[CrosswalkRow, ...] = ()
