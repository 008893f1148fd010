"""The worker's HTTP server (aiohttp), started and stopped by the faust Worker: `/health`, `/ready`, `/metrics`, the
API and the appeal team's page, over the parts service.bootstrap built and the stream runtime's readiness."""

from __future__ import annotations

import asyncio

import mode
from aiohttp import web

from agents.runtime import Runtime
from service.adapters.faust_compat import app_consumer
from service.bootstrap import Parts
from service.entrypoints.api import mount_api
from service.entrypoints.health import mount_health
from service.entrypoints.metrics import mount_metrics
from service.entrypoints.web import mount_web
from service.logs import get_logger

log = get_logger("denials.web")


class WebServer(mode.Service):
    def __init__(self, parts: Parts, runtime: Runtime, host: str, port: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.parts = parts
        self.runtime = runtime
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    def build(self) -> web.Application:
        parts, runtime = self.parts, self.runtime
        app = web.Application(client_max_size=1_048_576)

        async def ready() -> tuple[bool, dict[str, object]]:
            return runtime.ready()

        mount_health(app, ready)
        mount_api(app, parts)
        mount_web(app)  # the appeal team's page at /
        mount_metrics(app, pool_provider=lambda: parts.connections.pool, settings=parts.settings,
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
