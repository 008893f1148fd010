"""`claims.status.v1`: a claim lifecycle event: `submitted`, `acknowledgement` (277CA) or `status` (277)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from topics.common import Code, Contract, DataQuality, Date, Envelope, Identifier, Money, Payer, Procedure, Quantity
from topics.remittance import Patient

# ICD-10-CM, with or without the dot (M54.16 / M5416)
DiagnosisCode = Annotated[
    str, Field(min_length=3, max_length=8, pattern=r"^[A-Za-z][0-9A-Za-z]{2}\.?[0-9A-Za-z]{0,4}$")]


class Provider(Contract):
    billing_npi: Annotated[str, Field(pattern=r"^\d{10}$")] | None = None
    rendering_npi: Annotated[str, Field(pattern=r"^\d{10}$")] | None = None


class OtherPayer(Contract):
    id: Identifier
    name: str | None = Field(default=None, max_length=200)
    type: Literal["medicare", "medicare_advantage", "medicaid", "commercial", "workers_comp", "other"] = "other"
    responsibility: Literal["primary", "secondary", "tertiary", "unknown"] = "unknown"


# A vertebral level or joint as the op note names it: "L4-L5", "L5-S1", "C5-6", "T12-L1", "S1".
Level = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9][A-Za-z0-9 .-]*$")]


class SubmittedLine(Contract):
    line_id: Identifier
    procedure: Procedure
    units: Quantity = 1
    charge: Money
    service_date: Date | None = None
    diagnosis_pointers: Annotated[list[Annotated[int, Field(ge=1, le=12)]], Field(max_length=4)] = []
    prior_authorization: Identifier | None = None  # a line's own authorization (837P 2400 REF*G1)
    # What the procedure note documents, when the platform sends it (all optional, added in schema version 1): the
    # side and levels treated, whether the injection was diagnostic or therapeutic, and the relief that followed
    # (percent on the same pain scale, and how many days it lasted). Coverage rules that need a missing one say they
    # cannot decide. A later `submitted` event for the same claim and line may add the relief once it is known.
    side: Literal["left", "right", "bilateral"] | None = None
    levels: Annotated[list[Level], Field(max_length=8)] = []
    intent: Literal["diagnostic", "therapeutic"] | None = None
    relief_percent: Annotated[int, Field(ge=0, le=100)] | None = None
    relief_days: Annotated[int, Field(ge=0, le=3650)] | None = None


class Injury(Contract):
    """Workers' compensation or personal-injury (property and casualty) facts of a claim, when there are any. The
    claim number and the adjuster identify a person's case: PHI, never logged."""

    kind: Literal["workers_comp", "auto", "liability", "other"] = "workers_comp"
    date_of_injury: Date | None = None
    claim_number: Identifier | None = None  # the carrier's claim number for the injury (837 REF*Y4)
    adjuster_name: Annotated[str, Field(max_length=200)] | None = None
    adjuster_phone: Annotated[str, Field(max_length=32, pattern=r"^[0-9+().x -]+$")] | None = None
    employer: Annotated[str, Field(max_length=200)] | None = None
    state: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None  # the jurisdiction whose forms apply


class StatusClaim(Contract):
    claim_id: Identifier
    trace_number: Identifier | None = None  # 277/277CA claim-level TRN02
    frequency_code: Literal["1", "7", "8"] | None = None
    original_payer_claim_number: Identifier | None = None
    payer_claim_number: Identifier | None = None
    total_charge: Money | None = None
    service_date_from: Date | None = None
    service_date_to: Date | None = None
    patient: Patient = Patient()
    provider: Provider | None = None
    diagnoses: Annotated[list[DiagnosisCode], Field(max_length=12)] = []
    prior_authorization: Identifier | None = None
    other_payers: Annotated[list[OtherPayer], Field(max_length=5)] = []
    lines: Annotated[list[SubmittedLine], Field(max_length=999)] = []
    injury: Injury | None = None  # workers' comp or personal injury (optional, added in schema version 1)


# STC01-2: a claim status code (numeric), or with STC01-4 = LOI a LOINC code (`18464-5`), or an NCPDP reject code.
StatusCodeValue = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9][A-Za-z0-9.-]*$")]


class StatusCode(Contract):
    """One STC composite: category (STC01-1), status code (STC01-2), entity (STC01-3), action code (STC03)."""

    category: Code
    code: StatusCodeValue | None = None
    entity: Code | None = None
    action_code: Code | None = None
    effective_date: Date | None = None
    amount: Money | None = None
    # STC01-4: the code list `code` comes from when it is not the claim status list (e.g. RX: an NCPDP reject code).
    code_list_qualifier: Code | None = None


class LineStatus(StatusCode):
    line_id: Identifier


class RequestedItem(Contract):
    """One thing a 277 request for additional information (RFAI) asks for: an STC composite whose code is a LOINC
    attachment code (STC01-4 = LOI) or a claim status code, at claim level or for one line."""

    category: Code  # R0-R17 (what kind of request), or another category the payer used
    code: StatusCodeValue | None = None  # the LOINC code (e.g. 18842-5 discharge summary) or status code
    code_list_qualifier: Code | None = None  # LOI: LOINC; absent: the claim status code list
    modifier: StatusCodeValue | None = None  # a LOINC modifier code when sent (STC01-2 of the next composite)
    line_id: Identifier | None = None  # the line the request is about (REF*FJ, else the SVC position)


class InformationRequest(Contract):
    """What a payer's 277 RFAI (005010X213) asks for a claim: echoed in the 275 that answers it."""

    payer_control_number: Identifier | None = None  # 2200D TRN02: the payer's number for this request
    response_due_date: Date | None = None  # 2200D DTP*106: after it the payer may adjudicate without the records
    requested: Annotated[list[RequestedItem], Field(max_length=99)] = []


class BatchScope(Contract):
    """A status record above claim level (information receiver or provider level)."""

    level: Literal["information_receiver", "provider", "billing_provider"]
    reference: Identifier | None = None  # the level's trace number (TRN02), else its entity id
    entity_id: Identifier | None = None  # the level's NM109: receiver id (ETIN) or provider id (NPI)


class StatusEvent(Envelope):
    kind: Literal["submitted", "acknowledgement", "status"]
    source: str | None = Field(default=None, max_length=200)
    payer: Payer
    claim: StatusClaim | None = None
    status: StatusCode | None = None
    # Further STC composites of the same claim or batch record (STC10, STC11 and later STC segments), in file order.
    additional_statuses: Annotated[list[StatusCode], Field(max_length=99)] = []
    line_statuses: Annotated[list[LineStatus], Field(max_length=999)] = []
    scope: BatchScope | None = None
    information_request: InformationRequest | None = None  # set by a 277 RFAI: what the payer asks for
    data_quality: DataQuality = []  # what the X12 gateway found odd in this status record as sent

    @model_validator(mode="after")
    def _shape(self) -> StatusEvent:
        if self.kind == "submitted":
            if self.claim is None:
                raise ValueError("a submitted event needs claim")
        else:
            if self.status is None:
                raise ValueError("an acknowledgement or status event needs status")
            if self.claim is None and self.scope is None:
                raise ValueError("a status without claim needs scope (batch-level status)")
        return self
