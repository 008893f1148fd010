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
    code: Annotated[str, Field(min_length=1, max_length=12, pattern=r"^[A-Za-z0-9]+$")]
    modifiers: Annotated[list[Annotated[str, Field(min_length=2, max_length=2, pattern=r"^[A-Za-z0-9]{2}$")]],
                         Field(max_length=4)] = []
    # X12 product/service id qualifier (SVC01-1): HC (CPT/HCPCS), NU (revenue code), N4 (NDC), ... when known.
    qualifier: Code | None = None


Date = dt.date
