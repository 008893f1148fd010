"""`claims.remittance.v1`: one claim payment from an 835 (one CLP loop with its service lines)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from topics.common import (
    Code,
    Contract,
    DataQuality,
    Date,
    Envelope,
    Identifier,
    Money,
    Payer,
    Procedure,
    Quantity,
    ShortText,
)

GroupCode = Literal["CO", "PR", "OA", "PI", "CR"]
Remarks = Annotated[list[Code], Field(max_length=99)]


class Adjustment(Contract):
    """One CAS triplet: group, reason (CARC) and amount (negative on reversals)."""

    group: GroupCode
    reason: Code
    amount: Money
    quantity: Quantity | None = None


class Patient(Contract):
    member_id: Identifier | None = None
    patient_ref: Identifier | None = None
    name: ShortText | None = None
    birth_date: Date | None = None


class RemitInfo(Contract):
    trace_number: Identifier | None = None
    production_date: Date
    payment_date: Date | None = None
    received_date: Date | None = None


class ServiceLine(Contract):
    line_id: Identifier
    procedure: Procedure
    units: Quantity = 1
    charge: Money
    allowed: Money | None = None
    paid: Money
    service_date: Date | None = None
    adjustments: Annotated[list[Adjustment], Field(max_length=99)] = []
    remarks: Remarks = []
    line_control_number: Identifier | None = None
    adjudicated_procedure: Procedure | None = None
    units_paid: Quantity | None = None


class Balance(Contract):
    """Set by the X12 gateway when CLP04 + adjustments do not add up to the charge."""

    balanced: bool = True
    claim_difference: Money | None = None
    unbalanced_lines: list[Identifier] = []


# CLP02 values of the 5010 list; other values (older lists' 5 pended, 27 reviewed ...) are kept as sent, flagged by
# the X12 gateway, and read as "processed".
CLAIM_STATUS_CODES = ("1", "2", "3", "4", "19", "20", "21", "22", "23", "25")


class RemittanceClaim(Contract):
    # CLP01, the provider's claim id (patient control number). When one file uses one CLP01 for two patients, the X12
    # gateway makes the claims distinct (`CLP01~p<digest>`) and keeps CLP01 in `patient_control_number`.
    claim_id: Identifier
    patient_control_number: Identifier | None = None
    payer_claim_number: Identifier | None = None
    status_code: Code
    filing_indicator: Code | None = None
    total_charge: Money
    total_paid: Money
    patient_responsibility: Money | None = None
    service_date_from: Date | None = None
    service_date_to: Date | None = None
    patient: Patient = Patient()
    adjustments: Annotated[list[Adjustment], Field(max_length=99)] = []
    remarks: Remarks = []
    lines: Annotated[list[ServiceLine], Field(max_length=999)] = []
    balance: Balance | None = None

    @model_validator(mode="after")
    def _line_ids_unique(self) -> RemittanceClaim:
        ids = [line.line_id for line in self.lines]
        if len(ids) != len(set(ids)):
            raise ValueError("line_id values must be unique within a claim")
        return self


class RemittancePayee(Contract):
    """The 835 payee (N1*PE): who was paid."""

    name: ShortText | None = None
    npi: Identifier | None = None  # N104 when N103 = XX
    tax_id: Identifier | None = None  # N104 when N103 = FI, else REF*TJ


class RemittanceEvent(Envelope):
    source: ShortText | None = None
    payer: Payer
    remit: RemitInfo
    claim: RemittanceClaim
    payee: RemittancePayee | None = None
    data_quality: DataQuality = []  # what the X12 gateway found odd in this claim as sent (none: clean)
