"""`/api/openapi.json`, generated from the route table and the pydantic models (so it cannot drift from them)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from service.entrypoints.api import schemas as s
from service.entrypoints.api.routes import ROUTES, Route

REF = "#/components/schemas/{model}"
_ERROR_TEXT = {
    400: "Malformed JSON body", 401: "No bearer token, or an unknown, revoked or expired one (details.reason)",
    403: "The token's queues do not cover this queue, task or claim", 404: "No such task, claim or queue",
    409: "Refused by the task's state, its lease holder or its version", 413: "Request body too large",
    422: "Invalid query or body (the details name the fields)",
}
_PATH_PARAM = re.compile(r"{([^}]+)}")


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", None)
        param = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            param["description"] = description
        out.append(param)
    return out


def _operation(route: Route) -> dict[str, Any]:
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
              for name in _PATH_PARAM.findall(route.path)]
    if route.query is not None:
        params += _query_parameters(route.query)
    responses: dict[str, Any] = {}
    ok: dict[str, Any] = {"description": "OK", "content": {}}
    if route.response is not None:
        ok["content"]["application/json"] = {"schema": _ref(route.response)}
    elif route.name == "openapi":
        ok["content"]["application/json"] = {"schema": {"type": "object"}}
    for mt in route.media_types:
        ok["content"][mt] = {"schema": {"type": "string"} if mt.startswith("text/")
                             else {"type": "string", "format": "binary"}}
    if not ok["content"]:
        del ok["content"]
    responses["200"] = ok
    if route.empty_status:
        responses[str(route.empty_status)] = {"description": "Nothing to return"}
    errors = set(route.errors) | ({413} if route.public else {401, 413})
    if route.query is not None:
        errors |= {route.bad_query_status}
    if route.body is not None:
        errors |= {400, 422}
    for status in sorted(errors):
        text = _ERROR_TEXT[status]
        if status == 400 and route.query is not None and route.bad_query_status == 400:
            text = "Invalid query parameter (the details name it)"
        responses[str(status)] = {"description": text,
                                  "content": {"application/json": {"schema": _ref(s.ErrorOut)}}}
    op: dict[str, Any] = {"operationId": route.name, "summary": route.summary, "tags": [route.tag],
                          "parameters": params, "responses": responses}
    if route.public:
        op["security"] = []
    if route.body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(route.body)}}}
    return op


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], str]] = [(s.ErrorOut, "serialization")]
    for route in ROUTES:
        if route.response is not None:
            models.append((route.response, "serialization"))
        if route.body is not None:
            models.append((route.body, "validation"))
    _, defs = models_json_schema(list(dict.fromkeys(models)), ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {"title": "denials work-queue API", "version": "1",
                 "description": "Appeal work queues: tasks, leasing, audit. Money is a JSON number with 2 decimals; "
                                "dates are ISO 8601. Every error is {error, message, details}."},
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "a token from `denials tokens create`"}},
        },
    }
