"""Decode and encode records. Decoding errors name the field path and the reason, never the value (PHI)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

DEFAULT_MAX_RECORD_BYTES = 1_048_576


@dataclass(frozen=True, slots=True)
class ContractError(Exception):
    """A record that can never be processed as sent (permanent): not JSON, schema violation, oversize."""

    error_class: str  # "not_json" | "schema_violation" | "oversize" | "not_utf8"
    reason: str  # value-free: field paths and rule names only

    def __str__(self) -> str:
        return f"{self.error_class}: {self.reason}"


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(record)"


def describe_validation_error(exc: ValidationError, limit: int = 10) -> tuple[str, str]:
    """(error_class, reason) for a pydantic error, without any input value."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    if errors and all(err["type"] == "json_invalid" for err in errors):
        return "not_json", "the record is not valid JSON"
    parts = []
    for err in errors[:limit]:
        # `msg` of pydantic's built-in errors names the rule, not the input; custom validators here never echo values.
        parts.append(f"{_loc(err['loc'])}: {err['type']}: {err['msg']}")
    if len(errors) > limit:
        parts.append(f"... and {len(errors) - limit} more")
    return "schema_violation", "; ".join(parts)


def decode(model: type[M], raw: bytes | None, *, max_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> M:
    """Parse one record's value into its contract model or raise ContractError."""
    if raw is None:
        raise ContractError("schema_violation", "(record): missing: the record has no value")
    if len(raw) > max_bytes:
        raise ContractError("oversize", f"(record): the record is {len(raw)} bytes, over the {max_bytes}-byte limit")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContractError("not_utf8", f"(record): not UTF-8 at byte {exc.start}") from None
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        error_class, reason = describe_validation_error(exc)
        raise ContractError(error_class, reason) from None
    except RecursionError:
        raise ContractError("schema_violation", "(record): nested too deeply") from None


def encode(record: BaseModel) -> bytes:
    return record.model_dump_json(exclude_none=False).encode()
