"""Per-topic decoders: record bytes -> domain events, or value-free contract errors."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from agents.batch import Decoded
from service.service_layer import mapping
from topics.catalogue import CLAIMS_REMITTANCE, CLAIMS_STATUS, PROVIDER_ADJUSTMENTS
from topics.codec import ContractError, decode
from topics.provider_adjustment import ProviderAdjustmentEvent
from topics.remittance import RemittanceEvent
from topics.status import StatusEvent


def _json_decoder(model, to_domain, raw: bytes | None, *, max_bytes: int) -> Decoded:
    try:
        record = decode(model, raw, max_bytes=max_bytes)
    except ContractError as err:
        return Decoded(errors=[err])
    return Decoded(events=[to_domain(record)])


def json_decoders(max_bytes: int) -> dict[str, Callable[[bytes | None], Decoded]]:
    return {
        CLAIMS_REMITTANCE: partial(_json_decoder, RemittanceEvent, mapping.remittance, max_bytes=max_bytes),
        CLAIMS_STATUS: partial(_json_decoder, StatusEvent, mapping.status_event, max_bytes=max_bytes),
        PROVIDER_ADJUSTMENTS: partial(_json_decoder, ProviderAdjustmentEvent, mapping.provider_adjustment,
                                      max_bytes=max_bytes),
    }
