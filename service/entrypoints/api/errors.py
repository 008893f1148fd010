"""The API's error shape: every 4xx (and 5xx) under /api is `{"error": code, "message": text, "details": ...}`.

Codes are stable (clients branch on them); messages are for people and never echo request values (they may be
PHI). The middleware also enforces the body-size limit before anything reads the body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from service.logs import get_logger

log = get_logger("denials.api")

# aiohttp's own refusals (no route, wrong method ...) mapped to our codes.
_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
               415: "unsupported_media_type"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}

    @classmethod
    def too_large(cls, limit: int) -> ApiError:
        return cls(413, "payload_too_large", f"request bodies are limited to {limit} bytes", {"limit": limit})

    def response(self) -> web.Response:
        from service.entrypoints.api.jsonio import dumps

        body = {"error": self.code, "message": self.message, "details": self.details}
        return web.Response(text=dumps(body), status=self.status, content_type="application/json",
                            headers=self.headers)


def is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def api_middleware(max_body_bytes: int) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(request: web.Request, handler) -> web.StreamResponse:
        if not is_api_path(request.path):
            return await handler(request)
        if request.content_length is not None and request.content_length > max_body_bytes:
            return ApiError.too_large(max_body_bytes).response()
        try:
            return await handler(request)
        except ApiError as exc:
            return exc.response()
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
            code = _HTTP_CODES.get(exc.status, f"http_{exc.status}")
            return ApiError(exc.status, code, exc.reason or code, headers=headers).response()
        except Exception as exc:  # noqa: BLE001 - never a stack trace (or a value) to the client
            log.error("api.unhandled", route=request.match_info.route.name, error=type(exc).__name__)
            return ApiError(500, "internal_error", "the server failed to handle the request").response()

    return middleware
