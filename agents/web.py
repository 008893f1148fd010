"""The worker's HTTP server (aiohttp): `/health`, `/ready`, `/metrics`, and the API routes when the API is
enabled."""

from __future__ import annotations

import asyncio

import mode
from aiohttp import web

from agents.runtime import Runtime
from service.adapters.faust_compat import app_consumer
from service.logs import get_logger

log = get_logger("denials.web")


def health_routes(runtime: Runtime) -> list[web.RouteDef]:
    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def ready(_: web.Request) -> web.Response:
        ok, parts = runtime.ready()
        return web.json_response({"ready": ok, **parts}, status=200 if ok else 503)

    return [web.get("/health", health), web.get("/ready", ready)]


class WebServer(mode.Service):
    def __init__(self, runtime: Runtime, host: str, port: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.runtime = runtime
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    def build(self) -> web.Application:
        app = web.Application(client_max_size=1_048_576)
        app.add_routes(health_routes(self.runtime))
        try:  # the work-queue API, when it is installed alongside
            from service.entrypoints.api import mount_api
        except ImportError:
            pass
        else:
            mount_api(app, pool_provider=lambda: self.runtime.pool, settings=self.runtime.settings)
            from service.entrypoints.web import mount_web  # the appeal team's page at /

            mount_web(app)
        from service.entrypoints.metrics import mount_metrics  # Prometheus at /metrics

        runtime = self.runtime
        mount_metrics(app, pool_provider=lambda: runtime.pool, settings=runtime.settings,
                      consumer_provider=lambda: app_consumer(runtime.app),
                      relay_provider=lambda: runtime.relay)
        return app

    async def on_start(self) -> None:
        self._runner = web.AppRunner(self.build(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        log.info("web.listening", host=self.host, port=self.port)

    async def on_stop(self) -> None:
        if self._runner is not None:
            await asyncio.wait_for(self._runner.cleanup(), timeout=10)
