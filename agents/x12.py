"""The `x12.inbound.v1` decoder: one raw interchange -> the per-claim events it holds (parsed in an executor)."""

from __future__ import annotations

from functools import partial

from agents.batch import Decoded, Decoder
from service.config import Settings
from service.service_layer import mapping
from topics.catalogue import X12_INBOUND
from topics.codec import ContractError, record_digest
from topics.provider_adjustment import ProviderAdjustmentEvent
from topics.remittance import RemittanceEvent


def _to_domain(record):
    if isinstance(record, RemittanceEvent):
        return mapping.remittance(record)
    if isinstance(record, ProviderAdjustmentEvent):
        return mapping.provider_adjustment(record)
    return mapping.status_event(record)


def decode_interchange(raw: bytes | None, *, max_bytes: int) -> Decoded:
    from service import x12

    if raw is None:
        return Decoded(errors=[ContractError("schema_violation", "(record): missing: the record has no value")])
    if len(raw) > max_bytes:
        return Decoded(errors=[ContractError(
            "oversize", f"(record): the interchange is {len(raw)} bytes, over the {max_bytes}-byte limit")])
    result = x12.parse_bytes(raw, source="x12.inbound.v1", max_bytes=max_bytes)
    if result.rejected:  # structurally invalid: nothing in it is applied, the whole interchange is one dead letter
        return Decoded(errors=[ContractError("x12_file_invalid", "; ".join(str(i) for i in result.fatal))])
    events = [_to_domain(e) for e in result.events]
    return Decoded(events=events, digests={e.event_id: record_digest(r) for e, r in zip(events, result.events,
                                                                                     strict=True)},
                   errors=[ContractError(err.error_class, err.reason) for err in result.record_errors])


def x12_decoders(settings: Settings) -> dict[str, tuple[Decoder, bool]]:
    """pyx12 is synchronous: the agent runs this decoder in an executor so heartbeats never starve."""
    return {X12_INBOUND: (partial(decode_interchange, max_bytes=settings.x12_max_bytes), True)}
