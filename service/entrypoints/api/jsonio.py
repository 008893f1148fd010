"""JSON in and out of the API: bounded request bodies, money as JSON numbers with exactly 2 decimals, ISO dates.

The standard encoder writes 1200.0 for a float and cannot write a Decimal as a number, so responses are encoded
here: Decimal (money, the only Decimals in response models) -> `1200.00`, dates and datetimes -> ISO 8601.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from aiohttp import web

from service.entrypoints.api.errors import ApiError

CENT = Decimal("0.01")


def _encode(value: Any, out: list[str]) -> None:
    if value is None or isinstance(value, (bool, str, int)):
        out.append(json.dumps(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("money must be finite")
        out.append(format(value.quantize(CENT, ROUND_HALF_UP), "f"))
    elif isinstance(value, float):
        out.append(json.dumps(value, allow_nan=False))
    elif isinstance(value, (dt.datetime, dt.date)):
        out.append(json.dumps(value.isoformat()))
    elif isinstance(value, dict):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(json.dumps(str(key)))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(value: Any) -> str:
    out: list[str] = []
    _encode(value, out)
    return "".join(out)


def json_response(value: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=dumps(value), status=status, content_type="application/json", headers=headers)


async def read_body(request: web.Request, limit: int) -> bytes:
    """The body, refused with 413 once it passes `limit` bytes (declared or streamed)."""
    if request.content_length is not None and request.content_length > limit:
        raise ApiError.too_large(limit)
    data = bytearray()
    async for chunk in request.content.iter_any():
        data += chunk
        if len(data) > limit:
            raise ApiError.too_large(limit)
    return bytes(data)


async def read_json_object(request: web.Request, limit: int) -> dict[str, Any]:
    raw = await read_body(request, limit)
    if not raw.strip():
        raise ApiError(400, "invalid_json", "the request needs a JSON object body")
    try:
        value = json.loads(raw, parse_float=Decimal)  # money stays exact
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, "invalid_json", "the body is not valid JSON",
                       {"line": getattr(exc, "lineno", None), "column": getattr(exc, "colno", None)}) from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "the body nests too deeply") from None
    if not isinstance(value, dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object")
    return value
