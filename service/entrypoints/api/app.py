"""Wiring the API into aiohttp: every route of the table behind bearer-token auth, validation and the JSON error
shape, over the parts service.bootstrap built (settings, clock, the connections' pool). `mount_api` adds the routes to
an existing application (the worker's web server); `create_api_app` builds a standalone one with `/health` and
`/ready` (service.entrypoints.health, as the worker serves them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ValidationError

from service.adapters import metrics
from service.adapters.driver_errors import translate
from service.adapters.task_store import PostgresWorkQueue
from service.adapters.tokens import TokenStore
from service.bootstrap import Parts
from service.entrypoints.api.errors import ApiError, api_middleware
from service.entrypoints.api.jsonio import json_response, read_json_object
from service.entrypoints.api.routes import ROUTES, Route
from service.entrypoints.api.views import Ctx, Reply
from service.entrypoints.health import database_readiness, mount_health
from service.entrypoints.metrics import mount_metrics
from service.entrypoints.web import mount_web
from service.errors import TransientError
from service.logs import get_logger
from service.service_layer.tasks_api import Conflict, Forbidden, Invalid, NotFound, Problem, Scope

log = get_logger("denials.api")

_STATUS = {NotFound: 404, Forbidden: 403, Conflict: 409, Invalid: 422}
_BEARER = {"WWW-Authenticate": 'Bearer realm="denials"'}


def _validation_details(exc: ValidationError) -> list[dict[str, str]]:
    return [{"field": ".".join(str(p) for p in err["loc"]) or "(body)", "problem": err["msg"]}
            for err in exc.errors(include_url=False, include_input=False, include_context=False)]


class Refused(ApiError):
    """A 401 or 403 with what the log and the refusal counter need: the reason and, when the token matched a row,
    its id (never the token)."""

    def __init__(self, status: int, code: str, message: str, *, reason: str, token_id: int | None = None,
                 details: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, code, message, details, headers)
        self.reason = reason
        self.token_id = token_id


def _bearer_error(description: str) -> dict[str, str]:
    return {"WWW-Authenticate": f'Bearer realm="denials", error="invalid_token", error_description="{description}"'}


async def authenticate(request: web.Request, tokens: TokenStore) -> Scope:
    """The token's scope, or a `Refused` 401 saying why: no token, not a bearer token, malformed, unknown, revoked,
    expired. The message never echoes the token."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise Refused(401, "missing_token", "send `Authorization: Bearer <token>`", reason="missing", headers=_BEARER)
    if scheme.lower() != "bearer":
        raise Refused(401, "invalid_token", "send the token as `Authorization: Bearer <token>`", reason="not_bearer",
                      headers=_bearer_error("not a bearer token"))
    found = await tokens.check(token.strip())
    if found.accepted:
        assert found.info is not None
        return found.info.scope()
    info = found.info
    if found.reason == "revoked" and info is not None:
        raise Refused(401, "invalid_token", "the token was revoked: ask for a new one", reason="revoked",
                      token_id=info.id, details={"reason": "revoked", "token_id": info.id},
                      headers=_bearer_error("the token was revoked"))
    if found.reason == "expired" and info is not None and info.expires_at is not None:
        when = info.expires_at.astimezone(dt.UTC).isoformat(timespec="seconds")
        raise Refused(401, "invalid_token", f"the token expired at {when}: ask for a new one", reason="expired",
                      token_id=info.id, details={"reason": "expired", "token_id": info.id, "expired_at": when},
                      headers=_bearer_error("the token expired"))
    raise Refused(401, "invalid_token", "the token is unknown or malformed", reason=found.reason or "unknown",
                  details={"reason": found.reason}, headers=_bearer_error("the token is unknown or malformed"))


def _refused(route: Route, request: web.Request, exc: Refused) -> None:
    """Log and count a refusal: the route's template and name, the method, status and reason, the token's id when
    one matched (never the token, the path's ids or the query)."""
    log.warning("api.refused", route=route.name, path=route.path, method=request.method, status=exc.status,
                reason=exc.reason, token_id=exc.token_id)
    metrics.api_refused(route.name, exc.reason, exc.status)


def _parse_query(model: type[BaseModel] | None, request: web.Request, status: int = 422) -> Any:
    if model is None:
        return None
    code = "invalid_parameter" if status == 400 else "validation_error"
    raw: dict[str, str] = {}
    for key in request.query:
        values = request.query.getall(key)
        if len(values) > 1:
            message = f"the query parameter `{key}` was given more than once" if status == 400 else \
                "a query parameter was given more than once"
            raise ApiError(status, code, message, [{"field": key, "problem": "repeated"}])
        raw[key] = values[0]
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        details = _validation_details(exc)
        names = ", ".join(f"`{d['field']}`" for d in details)
        message = f"invalid query parameter {names}" if status == 400 else "invalid query parameters"
        raise ApiError(status, code, message, details) from None


async def _parse_body(model: type[BaseModel] | None, request: web.Request, limit: int) -> Any:
    if model is None:
        return None
    data = await read_json_object(request, limit)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "validation_error", "invalid request body", _validation_details(exc)) from None


def _handler(route: Route, parts: Parts):
    settings, clock = parts.settings, parts.clock

    async def handle(request: web.Request) -> web.StreamResponse:
        pool = parts.connections.pool
        if pool is None:
            raise ApiError(503, "unavailable", "the database is not connected yet; try again shortly")
        scope: Scope | None = None
        try:
            try:
                scope = await authenticate(request, TokenStore(pool))
            except Refused as exc:
                _refused(route, request, exc)
                raise
            ctx = Ctx(request=request, scope=scope, store=PostgresWorkQueue(pool), settings=settings,
                      query=_parse_query(route.query, request, route.bad_query_status),
                      body=await _parse_body(route.body, request, settings.api_max_body_bytes),
                      now=clock.now(), pool=pool, parts=parts)
            result = await route.view(ctx)
        except Problem as exc:
            status = _STATUS.get(type(exc), 400)
            if status == 403:
                refused = Refused(403, exc.code, exc.message, reason="forbidden", details=exc.details,
                                  token_id=scope.token_id if scope is not None else None)
                _refused(route, request, refused)
                raise refused from None
            raise ApiError(status, exc.code, exc.message, exc.details) from None
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            if not isinstance(translate(exc), TransientError):
                raise
            log.warning("api.database_unavailable", route=route.name, error=type(exc).__name__)
            raise ApiError(503, "unavailable", "the database is unavailable; try again shortly") from None
        if isinstance(result, web.StreamResponse):  # a non-JSON body (a letter as Markdown or PDF)
            return result
        if isinstance(result, Reply):
            if result.body is None:
                return web.Response(status=result.status)
            status, result = result.status, result.body
        else:
            status = 200
        body = result.model_dump(mode="python") if isinstance(result, BaseModel) else result
        return json_response(body, status=status, headers={"Cache-Control": "no-store"})

    return handle


def _public_handler(route: Route, parts: Parts):
    """A route that holds no data (the OpenAPI document): no token, no database."""
    async def handle(request: web.Request) -> web.StreamResponse:
        ctx = Ctx(request=request, scope=None, store=None, settings=parts.settings,  # type: ignore[arg-type]
                  query=_parse_query(route.query, request, route.bad_query_status), body=None,
                  now=parts.clock.now())
        return json_response(await route.view(ctx), headers={"Cache-Control": "no-cache"})

    return handle


def mount_api(app: web.Application, parts: Parts) -> None:
    """Add every /api route (and the /api error and body-size middleware) to `app` before it starts."""
    app.middlewares.append(api_middleware(parts.settings.api_max_body_bytes))
    for route in ROUTES:
        handler = _public_handler(route, parts) if route.public else _handler(route, parts)
        app.router.add_route(route.method, route.path, handler, name=route.name)


def create_api_app(parts: Parts) -> web.Application:
    """A standalone API server over the pool `parts.connections` holds: the routes plus `/health` (alive) and `/ready`
    (the database answers)."""
    settings = parts.settings
    app = web.Application(client_max_size=max(settings.api_max_body_bytes, 1024) + 1024)

    def pool_provider() -> asyncpg.Pool | None:  # read when asked: the pool may open after the app is built
        return parts.connections.pool

    mount_health(app, database_readiness(pool_provider, settings.db_connect_timeout_s))
    mount_api(app, parts)
    mount_web(app)
    mount_metrics(app, pool_provider=pool_provider, settings=settings)  # Prometheus at /metrics
    return app
