"""Decode and encode records. Decoding errors name the field path and the reason, never the value (PHI)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import TypeVar

import orjson
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


# -- content digests ---------------------------------------------------------------------------------------------
#
# An event id is immutable (DESIGN.md invariant 8): the same id with other content is a conflicting duplicate. What
# "the same content" means is the record's canonical JSON, not its bytes: a producer that re-serialises a record
# (another key order, other whitespace, `812.40` for `812.4`, `\u00e9` for `é`) sends the same event, and a
# byte-identical redelivery trivially has the same digest. The parsed record as received is canonicalised, not the
# contract model the service reads it into, so the digest of a record never changes when the service is upgraded (a
# model that gains a field would otherwise make every redelivery after a deploy look like a conflict); unknown fields
# count, since they are part of what the producer said under that id.

CONTENT_DIGEST_SCHEME = "cj1"  # canonical JSON, version 1: sorted keys, no whitespace, numbers by value, sha256


def canonical_json(raw: bytes | str) -> bytes:
    """The canonical form of a JSON text: objects' keys sorted, no whitespace, numbers by value (compared as
    doubles; a whole number with or without `.0` alike), text unescaped UTF-8. orjson: a digest per record is on the
    hot path."""
    canonical = orjson.dumps(orjson.loads(raw), option=orjson.OPT_SORT_KEYS)
    # A whole-number float as orjson writes it (`1200.0`) is written as the int it equals. Byte replacements in C,
    # not a walk of the parsed record in Python (the walk cost three times the parse, on every event); `.0` before a
    # delimiter inside a string is rewritten too, which can only make two near-identical texts compare equal.
    return canonical.replace(b".0,", b",").replace(b".0}", b"}").replace(b".0]", b"]")


def content_digest(raw: bytes) -> str:
    """`cj1:<sha256 hex>` of a JSON record's canonical form; for a value that is not JSON, of its bytes."""
    try:
        canonical = canonical_json(raw)
    except (ValueError, RecursionError, TypeError):  # not JSON (or nested beyond orjson's limit): its bytes
        canonical = raw
    return f"{CONTENT_DIGEST_SCHEME}:{hashlib.sha256(canonical).hexdigest()}"


def record_digest(record: BaseModel) -> str:
    """The content digest of a record the service built itself (the per-claim records of an X12 interchange)."""
    return content_digest(encode(record))


def value_digest(raw: bytes | None) -> str:
    """`sha256:<hex>` of a value's exact bytes (names a dead-lettered value, however large, without storing it)."""
    return f"sha256:{hashlib.sha256(raw or b'').hexdigest()}"


def readable_event_id(raw: bytes | None, *, max_bytes: int = 0) -> str | None:
    """The `event_id` of a JSON object record, when it has a readable one (a string of sane length), whatever else
    is wrong with it (another schema, a future schema_version, a field that fails validation, oversize). None for a
    value that is not a JSON object. An oversize value is only scanned in its first `max_bytes` (the id comes first
    in every producer we know; a later id is not worth parsing megabytes for)."""
    if not raw:
        return None
    if max_bytes and len(raw) > max_bytes:
        return _leading_event_id(raw[:max_bytes])
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if isinstance(parsed, dict):
        return _sane_id(parsed.get("event_id"))
    return None


_LEADING_ID = re.compile(rb'^\s*\{\s*"event_id"\s*:\s*("(?:[^"\\]|\\.){1,400}")')


def _leading_event_id(prefix: bytes) -> str | None:
    match = _LEADING_ID.match(prefix) or re.search(rb'[{,]\s*"event_id"\s*:\s*("(?:[^"\\]|\\.){1,400}")', prefix)
    if not match:
        return None
    try:
        return _sane_id(json.loads(match.group(1)))
    except ValueError:
        return None


def _sane_id(value: object) -> str | None:
    if isinstance(value, str) and 0 < len(value) <= 128 and value.isprintable():
        return value
    return None
