"""Value objects the domain reasons about. Built from the wire contracts by the service layer (`mapping.py`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from service.domain.authorizations import Authorization

PayerType = Literal["medicare", "medicare_advantage", "medicaid", "commercial", "workers_comp", "other"]

ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class Payer:
    id: str
    type: PayerType
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Procedure:
    code: str
    modifiers: tuple[str, ...] = ()

    def has(self, *modifiers: str) -> bool:
        return any(m in self.modifiers for m in modifiers)


@dataclass(frozen=True, slots=True)
class PatientIdentifiers:
    """The identifiers a letter names the patient by (PHI): kept out of every repr, so a log line or an error that
    formats an event never shows them. The store keeps them encrypted; the domain only carries them through."""

    name: str | None = None
    member_id: str | None = None
    birth_date: dt.date | None = None

    FIELDS = ("name", "member_id", "birth_date")

    def __repr__(self) -> str:
        return f"PatientIdentifiers(<{', '.join(self.present) or 'none'} withheld>)"

    __str__ = __repr__

    @property
    def present(self) -> tuple[str, ...]:
        """The names of the fields that hold a value (field names are not PHI)."""
        return tuple(f for f in self.FIELDS if getattr(self, f) is not None)

    def merged_over(self, older: PatientIdentifiers | None) -> PatientIdentifiers:
        """These values, with the older record's where this one has none (an 835 carries no birth date)."""
        if older is None:
            return self
        return PatientIdentifiers(name=self.name if self.name is not None else older.name,
                                  member_id=self.member_id if self.member_id is not None else older.member_id,
                                  birth_date=self.birth_date if self.birth_date is not None else older.birth_date)


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One CAS triplet. `amount` is negative on reversals."""

    group: str  # CO PR OA PI (CR from 4010 files)
    reason: str  # CARC
    amount: Decimal
    quantity: Decimal | None = None


@dataclass(frozen=True, slots=True)
class RemitLine:
    line_id: str
    procedure: Procedure
    charge: Decimal
    paid: Decimal
    units: Decimal = Decimal(1)
    allowed: Decimal | None = None
    service_date: dt.date | None = None
    adjustments: tuple[Adjustment, ...] = ()
    remarks: tuple[str, ...] = ()
    line_control_number: str | None = None
    adjudicated_procedure: Procedure | None = None
    units_paid: Decimal | None = None

    @property
    def covered(self) -> bool:
        """The payer covered the service (paid it, or allowed it and applied it to the deductible): it counts as a
        session in the patient's history even when nothing was paid."""
        return self.paid > 0 or (self.allowed is not None and self.allowed > 0)


@dataclass(frozen=True, slots=True)
class Remittance:
    """One CLP loop of an 835: how one payer adjudicated one claim."""

    event_id: str
    occurred_at: dt.datetime
    payer: Payer
    claim_id: str
    status_code: str  # CLP02
    total_charge: Decimal
    total_paid: Decimal
    production_date: dt.date  # DTM*405: appeal windows count from here
    payer_claim_number: str | None = None
    filing_indicator: str | None = None  # CLP06
    patient_responsibility: Decimal | None = None
    service_date_from: dt.date | None = None
    service_date_to: dt.date | None = None
    patient_key: str | None = None  # patient_ref, else member id: the history key (PHI: never logged)
    trace_number: str | None = None
    payment_date: dt.date | None = None
    received_date: dt.date | None = None
    adjustments: tuple[Adjustment, ...] = ()  # claim level
    remarks: tuple[str, ...] = ()  # claim level (MOA/MIA)
    lines: tuple[RemitLine, ...] = ()
    balanced: bool = True
    data_quality: tuple[str, ...] = ()  # what the X12 gateway flagged in the record as sent (PHI-free sentences)
    patient: PatientIdentifiers | None = field(default=None, repr=False)  # stored encrypted, never logged

    @property
    def is_reversal(self) -> bool:
        return self.status_code == "22"

    @property
    def first_service_date(self) -> dt.date | None:
        dates = [line.service_date for line in self.lines if line.service_date]
        return min(dates) if dates else self.service_date_from


@dataclass(frozen=True, slots=True)
class SessionDetail:
    """What the billing platform documented about one procedure line, when it sends it: the side and levels treated,
    whether the injection was diagnostic or therapeutic, and the relief that followed (percent on the same pain scale,
    and how many days it lasted). Every field may be missing; rules that need a missing one say they cannot decide."""

    side: str | None = None  # "left" | "right" | "bilateral"
    levels: tuple[str, ...] = ()  # vertebral levels or joints treated, e.g. ("L4-L5", "L5-S1")
    intent: str | None = None  # "diagnostic" | "therapeutic"
    relief_percent: int | None = None
    relief_days: int | None = None

    @property
    def empty(self) -> bool:
        return (self.side is None and not self.levels and self.intent is None and self.relief_percent is None
                and self.relief_days is None)


NO_DETAIL = SessionDetail()


@dataclass(frozen=True, slots=True)
class SubmittedLine:
    line_id: str
    procedure: Procedure
    charge: Decimal
    units: Decimal = Decimal(1)
    service_date: dt.date | None = None
    diagnosis_pointers: tuple[int, ...] = ()
    prior_authorization: str | None = None  # the line's own authorization number, when it has one
    detail: SessionDetail = NO_DETAIL


@dataclass(frozen=True, slots=True)
class OtherPayer:
    id: str
    type: PayerType = "other"
    responsibility: str = "unknown"
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Injury:
    """Workers' compensation or personal-injury facts of a claim (property and casualty), as far as the rules need
    them: the carrier's claim number and the adjuster identify a person's case, so the domain keeps only whether
    the platform sent them (the letters keep the values themselves, encrypted)."""

    kind: str = "workers_comp"  # workers_comp | auto | liability | other
    date_of_injury: dt.date | None = None
    state: str | None = None  # jurisdiction (two letters) whose forms and fee schedule apply
    claim_number_sent: bool = False  # the carrier's claim number for the injury
    adjuster_sent: bool = False  # the adjuster's name or contact


@dataclass(frozen=True, slots=True)
class Submission:
    """What was billed (837 semantics): a `submitted` claim-status event."""

    event_id: str
    occurred_at: dt.datetime
    payer: Payer
    claim_id: str
    frequency_code: str = "1"  # 1 original, 7 replacement, 8 void
    original_payer_claim_number: str | None = None
    total_charge: Decimal | None = None
    service_date_from: dt.date | None = None
    service_date_to: dt.date | None = None
    patient_key: str | None = None
    billing_npi: str | None = None
    rendering_npi: str | None = None
    diagnoses: tuple[str, ...] = ()
    prior_authorization: str | None = None
    other_payers: tuple[OtherPayer, ...] = ()
    lines: tuple[SubmittedLine, ...] = ()
    patient: PatientIdentifiers | None = field(default=None, repr=False)  # stored encrypted, never logged
    injury: Injury | None = None

    @property
    def is_correction(self) -> bool:
        return self.frequency_code in ("7", "8")


@dataclass(frozen=True, slots=True)
class StatusCode:
    category: str  # STC01-1
    code: str | None = None  # STC01-2
    entity: str | None = None  # STC01-3
    action_code: str | None = None  # STC03
    effective_date: dt.date | None = None
    line_id: str | None = None
    code_list_qualifier: str | None = None  # STC01-4: LOI = `code` is a LOINC attachment code


@dataclass(frozen=True, slots=True)
class RequestedItem:
    """One thing a payer's request for additional information (277 RFAI) asks for."""

    category: str  # R0-R17
    code: str | None = None  # a LOINC attachment code (code_list_qualifier LOI) or a claim status code
    code_list_qualifier: str | None = None
    line_id: str | None = None


@dataclass(frozen=True, slots=True)
class InformationRequest:
    payer_control_number: str | None = None  # echoed in the 275 that answers it
    response_due_date: dt.date | None = None
    requested: tuple[RequestedItem, ...] = ()

    def describe(self) -> str:
        """The requested items in words (LOINC codes as sent), for explanations and follow-ups."""
        parts = []
        for item in self.requested:
            what = f"LOINC {item.code}" if item.code_list_qualifier == "LOI" and item.code else (
                f"{item.category}:{item.code}" if item.code else item.category)
            parts.append(what + (f" (line {item.line_id})" if item.line_id else ""))
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class StatusReport:
    """A 277CA acknowledgement or a 277 status for one claim (claim_id None: a batch-level status)."""

    event_id: str
    occurred_at: dt.datetime
    kind: Literal["acknowledgement", "status"]
    payer: Payer
    status: StatusCode
    claim_id: str | None = None
    payer_claim_number: str | None = None
    total_charge: Decimal | None = None
    service_date_from: dt.date | None = None
    line_statuses: tuple[StatusCode, ...] = ()
    scope_level: str | None = None
    information_request: InformationRequest | None = None  # a 277 RFAI: what the payer asks for
    data_quality: tuple[str, ...] = ()  # what the X12 gateway flagged in the record as sent (PHI-free sentences)


@dataclass(frozen=True, slots=True)
class ProviderAdjustment:
    """One PLB adjustment (recoupment WO, interest L6, forward balance FB ...)."""

    event_id: str
    occurred_at: dt.datetime
    payer: Payer
    payee_npi: str
    reason: str
    amount: Decimal
    production_date: dt.date
    reference: str | None = None
    claim_id: str | None = None
    trace_number: str | None = None


Event = Remittance | Submission | StatusReport | ProviderAdjustment


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    id: str
    text: str
    done: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict on one adjustment. `line_id` None means a claim-level adjustment."""

    line_id: str | None
    adjustment_index: int
    group: str
    reason: str
    amount: Decimal
    remarks: tuple[str, ...]
    category: str
    is_denial: bool
    action: str
    queue: str | None
    appealable: bool
    recoverability: float
    explanation: str
    rule_id: str
    rules_version: str
    deadline: dt.date | None = None
    deadline_basis: str | None = None
    filing_deadline: dt.date | None = None
    checklist: tuple[ChecklistItem, ...] = ()
    procedure: Procedure | None = None
    filing_deadline_basis: str | None = None
    service_date: dt.date | None = None
    # What fixing the line can bring back, when a rule can value it better than the denied amount (a bilateral
    # false duplicate is worth the bilateral add-on, not the whole charge); None: the denied amount.
    value: Decimal | None = None


@dataclass(frozen=True, slots=True)
class HistorySession:
    """One earlier procedure session of a patient, as the claim history knows it (for frequency and prerequisites)."""

    claim_id: str
    line_id: str
    service_date: dt.date
    procedure: Procedure
    paid: bool | None = None  # None: not adjudicated yet
    detail: SessionDetail = NO_DETAIL


@dataclass(slots=True)
class ClaimFacts:
    """What the store knows about a claim before an event: the submission and the payers that adjudicated it."""

    claim_id: str
    submission: Submission | None = None
    adjudicated_payers: set[str] = field(default_factory=set)
    forwarded: bool = False  # a payer processed it and forwarded it (CLP02 19/20/21)
    # the patient's authorizations on file with the payer (the register), when the caller read them
    authorizations: tuple[Authorization, ...] = ()
    # the day the claim was first sent (its earliest submission other than a void), when the caller knows it
    first_submitted: dt.date | None = None


@dataclass(frozen=True, slots=True)
class StatusDecision:
    """The verdict on a 277/277CA status: its bucket (rejected, denied, info_requested, pending, paid ...), what to do
    and who does it. `category`/`queue`/`action` are set when the status opens work (a rejection, a records request)."""

    bucket: str
    action: str
    explanation: str
    rule_id: str
    rules_version: str
    category: str | None = None
    queue: str | None = None
    due_date: dt.date | None = None
    filing_deadline: dt.date | None = None
    line_id: str | None = None
    checklist: tuple[ChecklistItem, ...] = ()
    filing_deadline_basis: str | None = None
