"""Money on the wire (JSON numbers with exactly 2 decimals), and the OpenAPI document generated from the route
table (every route documented, with its errors). Pure: no server, no database."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from aiohttp import web

from service.bootstrap import bootstrap
from service.config import Settings
from service.entrypoints.api import mount_api
from service.entrypoints.api.jsonio import dumps
from service.entrypoints.api.openapi import openapi_document
from service.entrypoints.api.routes import ROUTES


def test_money_is_a_json_number_with_two_decimals_and_dates_are_iso():
    text = dumps({"a": Decimal("1200"), "b": Decimal("812.4"), "c": Decimal("0.005"), "d": [Decimal("-3.1")],
                  "when": dt.date(2026, 3, 2), "at": dt.datetime(2026, 3, 2, 14, 5, tzinfo=dt.UTC),
                  "n": None, "ok": True, "f": 0.25, "s": "\"quoted\" \u00e9"})
    assert text == ('{"a":1200.00,"b":812.40,"c":0.01,"d":[-3.10],"when":"2026-03-02",'
                    '"at":"2026-03-02T14:05:00+00:00","n":null,"ok":true,"f":0.25,"s":"\\"quoted\\" \\u00e9"}')
    assert json.loads(text)["b"] == 812.4


def test_non_finite_money_or_unknown_types_are_refused():
    with pytest.raises(ValueError):
        dumps(Decimal("NaN"))
    with pytest.raises(TypeError):
        dumps(object())


def test_mount_api_registers_exactly_the_documented_routes():
    app = web.Application()
    mount_api(app, bootstrap(Settings()))
    registered = {(r.method, r.resource.canonical) for r in app.router.routes()}
    documented = {(m.upper(), p) for p, ops in openapi_document()["paths"].items() for m in ops}
    assert registered == documented == {(r.method, r.path) for r in ROUTES}


def test_every_operation_names_its_errors_and_schemas_resolve():
    doc = openapi_document()
    schemas = doc["components"]["schemas"]
    refs = set()

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                refs.add(node["$ref"].rsplit("/", 1)[-1])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    assert refs <= set(schemas)
    for route in ROUTES:
        op = doc["paths"][route.path][route.method.lower()]
        assert op["operationId"] == route.name
        assert {"200", "413"} <= set(op["responses"])
        assert ("401" in op["responses"]) != route.public  # a public route needs no token
        assert (op.get("security") == []) == route.public
        assert all(str(code) in op["responses"] for code in route.errors)
        assert ("requestBody" in op) == (route.body is not None)
    lease = doc["paths"]["/api/queues/{queue}/next"]["post"]
    assert "204" in lease["responses"]
    task = schemas["TaskOut"]["properties"]
    for key in ("id", "state", "queue", "category", "action", "amount_at_risk", "deadline", "filing_deadline",
                "priority", "checklist", "lines"):
        assert key in task
    assert task["amount_at_risk"]["type"] == "number"


def test_a_tasks_priority_is_its_score_not_the_float4_it_was_stored_as():
    import struct

    from service.entrypoints.api.views import task_out
    from tests.unit.api.test_tasks_api import NOW, make

    stored = struct.unpack("f", struct.pack("f", 19.82))[0]  # what a PostgreSQL real gives back
    assert stored != 19.82
    out = json.loads(dumps(task_out(make("t1", priority=stored), None, NOW).model_dump(mode="python")))
    assert out["priority"] == 19.82


def test_a_task_shows_what_it_can_still_bring_back_beside_its_denied_amount():
    from dataclasses import replace

    from service.entrypoints.api.views import task_out
    from tests.unit.api.test_tasks_api import NOW, make

    def out(task):
        return json.loads(dumps(task_out(task, None, NOW).model_dump(mode="python")))

    open_task = make("t1")
    assert (out(open_task)["at_risk"], out(open_task)["amount_at_risk"]) == (100, 100)
    # a write-off, a task with no recoverability and a closed task hold the denied amount, nothing at risk
    for task in (replace(open_task, action="write_off"), replace(open_task, recoverability=0.0),
                 replace(open_task, state="won")):
        assert (out(task)["at_risk"], out(task)["amount_at_risk"]) == (0, 100)
    assert "at_risk" in openapi_document()["components"]["schemas"]["TaskOut"]["properties"]
