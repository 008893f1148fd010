"""Building blocks shared by every contract: base model, money, dates, payer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer

# Money is Decimal inside the service and a JSON number with at most 2 decimals on the wire.
Money = Annotated[
    Decimal,
    Field(max_digits=14, decimal_places=2, allow_inf_nan=False),
    PlainSerializer(lambda d: float(d), return_type=float, when_used="json"),
]
Quantity = Annotated[
    Decimal,
    Field(max_digits=12, decimal_places=3, allow_inf_nan=False),
    PlainSerializer(lambda d: float(d), return_type=float, when_used="json"),
]
Identifier = Annotated[str, Field(min_length=1, max_length=64)]
Code = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9]+$")]
ShortText = Annotated[str, Field(max_length=200)]
EventId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]

PayerType = Literal["medicare", "medicare_advantage", "medicaid", "commercial", "workers_comp", "other"]


class Contract(BaseModel):
    """Base of every record: unknown fields are ignored (contracts evolve additively), input values never appear in
    validation errors (they may hold PHI), instances are immutable."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True, populate_by_name=True)


class Envelope(Contract):
    """Fields every record carries."""

    event_id: EventId
    schema_version: Literal[1] = 1
    occurred_at: AwareDatetime


class OutputEnvelope(Envelope):
    """Fields every record we emit carries: the input event that caused it."""

    causation_id: EventId


class Payer(Contract):
    id: Identifier
    name: ShortText | None = None
    type: PayerType


class Procedure(Contract):
    # Kept as the payer sent it: a CPT/HCPCS code is five characters, but an NDC (N4) has hyphens and a payer's own
    # code may carry a dot; the X12 gateway flags a code that is not what its qualifier promises.
    code: Annotated[str, Field(min_length=1, max_length=48, pattern=r"^[\x21-\x7e]+$")]
    modifiers: Annotated[list[Annotated[str, Field(min_length=1, max_length=4, pattern=r"^[A-Za-z0-9]+$")]],
                         Field(max_length=4)] = []
    # X12 product/service id qualifier (SVC01-1): HC (CPT/HCPCS), NU (revenue code), N4 (NDC), ... when known.
    qualifier: Code | None = None


Date = dt.date


class DataQualityFlag(Contract):
    """Something odd the X12 gateway found in the record as sent and read past: an element pyx12 rejects, a segment
    it could not place, an impossible date, a shared claim id, a repair. The record is published with its flags;
    the text never carries PHI (`value` is the element as sent only for codes, amounts, dates and versions)."""

    code: Annotated[str, Field(min_length=1, max_length=32)]  # stable short class: element, structure, repair ...
    reason: Annotated[str, Field(max_length=300)]
    segment: Annotated[str, Field(max_length=4)] | None = None  # segment id, e.g. "SVC"
    line: int | None = None  # ordinal of the segment in the file (1-based)
    position: int | None = None  # position of the segment in its transaction set (ST = 1)
    element: Annotated[str, Field(max_length=12)] | None = None  # e.g. "SVC01-01", "DTP03"
    pyx12_code: Annotated[str, Field(max_length=8)] | None = None  # the 999 code pyx12 reported
    value: Annotated[str, Field(max_length=48)] | None = None


DataQuality = Annotated[list[DataQualityFlag], Field(max_length=60)]
