"""Per-topic decoders: record bytes -> domain events, or value-free contract errors."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from pydantic import BaseModel

from agents.batch import Decoded
from service.service_layer import mapping
from topics.catalogue import CLAIMS_REMITTANCE, CLAIMS_STATUS, PROVIDER_ADJUSTMENTS
from topics.codec import ContractError, content_digest, decode
from topics.provider_adjustment import ProviderAdjustmentEvent
from topics.remittance import RemittanceEvent
from topics.status import StatusEvent


def _nul_path(value: object, path: str = "") -> str | None:
    """The path of the first text holding U+0000 (PostgreSQL can store it in no text or jsonb column)."""
    if isinstance(value, str):
        return (path or "(record)") if "\x00" in value else None
    if isinstance(value, BaseModel):
        items = ((name, getattr(value, name)) for name in type(value).model_fields)
    elif isinstance(value, dict):
        items = ((str(k), v) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        return next((p for i, v in enumerate(value) if (p := _nul_path(v, f"{path}[{i}]"))), None)
    else:
        return None
    return next((p for k, v in items if (p := _nul_path(v, f"{path}.{k}" if path else k))), None)


def _json_decoder(model, to_domain, raw: bytes | None, *, max_bytes: int) -> Decoded:
    try:
        record = decode(model, raw, max_bytes=max_bytes)
    except ContractError as err:
        return Decoded(errors=[err])
    if b"\\u0000" in raw and (path := _nul_path(record)):  # only a JSON escape can put U+0000 in a string
        return Decoded(errors=[ContractError("schema_violation", f"{path}: the text holds U+0000 (NUL), which "
                                                                 "cannot be stored")])
    event = to_domain(record)
    return Decoded(events=[event], digests={event.event_id: content_digest(raw)})


def json_decoders(max_bytes: int) -> dict[str, Callable[[bytes | None], Decoded]]:
    return {
        CLAIMS_REMITTANCE: partial(_json_decoder, RemittanceEvent, mapping.remittance, max_bytes=max_bytes),
        CLAIMS_STATUS: partial(_json_decoder, StatusEvent, mapping.status_event, max_bytes=max_bytes),
        PROVIDER_ADJUSTMENTS: partial(_json_decoder, ProviderAdjustmentEvent, mapping.provider_adjustment,
                                      max_bytes=max_bytes),
    }
