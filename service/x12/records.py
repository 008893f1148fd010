"""Where each X12-derived record goes: its topic, its key, its wire form."""

from __future__ import annotations

import json
from dataclasses import dataclass

from topics.catalogue import CLAIMS_REMITTANCE, CLAIMS_STATUS, PROVIDER_ADJUSTMENTS
from topics.provider_adjustment import ProviderAdjustmentEvent
from topics.remittance import RemittanceEvent
from topics.status import StatusEvent

X12Record = RemittanceEvent | StatusEvent | ProviderAdjustmentEvent


@dataclass(frozen=True, slots=True)
class Outbound:
    topic: str
    key: str
    record: X12Record

    def value(self) -> bytes:
        return self.record.model_dump_json().encode()

    def json_line(self) -> str:
        """`{"topic": ..., "key": ..., "value": {...}}` on one line (the dry-run output)."""
        return json.dumps({"topic": self.topic, "key": self.key, "value": self.record.model_dump(mode="json")},
                          separators=(",", ":"))


def outbound(record: X12Record) -> Outbound:
    """Claim-scoped topics are keyed by claim id, provider adjustments by payee NPI. A batch-level status (no
    claim) is keyed by its scope, so the statuses of one batch stay in order on one partition."""
    if isinstance(record, RemittanceEvent):
        return Outbound(CLAIMS_REMITTANCE, record.claim.claim_id, record)
    if isinstance(record, ProviderAdjustmentEvent):
        return Outbound(PROVIDER_ADJUSTMENTS, record.payee.npi, record)
    if record.claim is not None:
        return Outbound(CLAIMS_STATUS, record.claim.claim_id, record)
    scope = record.scope
    assert scope is not None  # the contract requires claim or scope
    return Outbound(CLAIMS_STATUS, f"batch:{scope.level}:{scope.reference or record.event_id}", record)
