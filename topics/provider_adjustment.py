"""`remittance.provider-adjustments.v1`: one 835 PLB adjustment, keyed by payee NPI."""

from __future__ import annotations

from pydantic import Field

from topics.common import Code, Contract, DataQuality, Date, Envelope, Identifier, Money, Payer
from topics.remittance import RemitInfo


class Payee(Contract):
    npi: Identifier
    name: str | None = Field(default=None, max_length=200)


class ProviderAdjustmentDetail(Contract):
    reason: Code  # PLB03-1: WO recoupment, L6 interest, FB forward balance, CS, 72 ...
    reference: Identifier | None = None  # PLB03-2
    claim_id: Identifier | None = None  # when PLB03-2 names a claim we billed
    amount: Money  # positive reduces the payment (X12 convention)
    fiscal_period_date: Date | None = None


class ProviderAdjustmentEvent(Envelope):
    source: str | None = Field(default=None, max_length=200)
    payer: Payer
    payee: Payee
    remit: RemitInfo
    adjustment: ProviderAdjustmentDetail
    data_quality: DataQuality = []  # what the X12 gateway found odd in this PLB as sent
