"""service.bootstrap is the one place the worker's parts are built: the settings are read once, the classifier,
clock, pricing and connections are built once, and the stream runtime and the API the worker serves get the same
ones. `/health` and `/ready` come from one module in the worker and in `denials api`."""

from __future__ import annotations

import datetime as dt

from aiohttp.test_utils import TestClient, TestServer

import service.bootstrap as bootstrap_module
from service import config
from service.adapters.clock import FixedClock
from service.bootstrap import bootstrap
from service.entrypoints.api import create_api_app
from service.entrypoints.commands.worker import build_worker
from service.entrypoints.server import WebServer

DATABASE = "postgresql://x@127.0.0.1:9/x"
BROKER = "127.0.0.1:9"


def _web_server(worker) -> WebServer:
    (server,) = [s for s in worker.services if isinstance(s, WebServer)]
    return server


def test_the_worker_reads_the_settings_once_and_loads_the_classifier_once(tmp_path, monkeypatch):
    monkeypatch.setenv("DENIALS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DENIALS_API_ENABLED", "true")
    config.get_settings.cache_clear()
    loads = []
    real = bootstrap_module.load_classifier
    monkeypatch.setattr(bootstrap_module, "load_classifier", lambda: loads.append(1) or real())
    try:
        parts = bootstrap(database_url=DATABASE, bootstrap_servers=BROKER)
        worker, runtime, _ = build_worker(parts)
        _web_server(worker).build()
        assert config.get_settings.cache_info().misses == 1
        assert runtime.settings is parts.settings is config.get_settings()
    finally:
        config.get_settings.cache_clear()
    assert loads == [1]


def test_the_stream_and_the_api_get_the_same_parts(tmp_path):
    parts = bootstrap(config.Settings(DENIALS_DATA_DIR=tmp_path), database_url=DATABASE, bootstrap_servers=BROKER)
    worker, runtime, _ = build_worker(parts, with_web=True)
    server = _web_server(worker)
    assert runtime.parts is parts and server.parts is parts
    assert runtime.classifier is parts.classifier and runtime.pseudonyms is parts.pseudonyms
    assert runtime.connections is parts.connections  # one pool and one producer for agents, API, relay, timers


async def test_the_api_stamps_requests_with_the_bootstrapped_clock(tmp_path, monkeypatch):
    at = dt.datetime(2026, 3, 2, 14, 5, tzinfo=dt.UTC)
    parts = bootstrap(config.Settings(DENIALS_DATA_DIR=tmp_path), clock=FixedClock(at))
    seen = []
    from service.entrypoints.api import app as api_app

    original = api_app.Ctx

    def recording(**kwargs):
        seen.append(kwargs["now"])
        return original(**kwargs)

    monkeypatch.setattr(api_app, "Ctx", recording)
    async with TestClient(TestServer(create_api_app(parts))) as client:
        response = await client.get("/api/openapi.json")
        assert response.status == 200
    assert seen == [at]


async def test_health_and_ready_come_from_one_module_in_the_worker_and_in_the_api(tmp_path):
    parts = bootstrap(config.Settings(DENIALS_DATA_DIR=tmp_path), database_url=DATABASE, bootstrap_servers=BROKER)
    worker, _, _ = build_worker(parts, with_web=True)
    apps = {"worker": _web_server(worker).build(), "api": create_api_app(parts)}
    for name, app in apps.items():
        handlers = {r.resource.canonical: r.handler for r in app.router.routes() if r.method == "GET"}
        assert handlers["/health"].__module__ == "service.entrypoints.health", name
        assert handlers["/ready"].__module__ == "service.entrypoints.health", name
        async with TestClient(TestServer(app)) as client:
            assert (await client.get("/health")).status == 200
            ready = await client.get("/ready")  # nothing connected yet: not ready, in the same shape
            assert ready.status == 503 and (await ready.json())["ready"] is False, name
