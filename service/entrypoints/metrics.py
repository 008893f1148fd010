"""`GET /metrics` (Prometheus text format) on the worker's web server and on `denials api`.

No bearer token: Prometheus scrapes it, and it carries no PHI (labels are closed vocabularies, see
`service.adapters.metrics`). Disable it with DENIALS_METRICS_ENABLED=false where the port is reachable from places
that should not see operational numbers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
from aiohttp import web

from service.adapters.metrics import build_endpoint
from service.config import Settings


def mount_metrics(app: web.Application, *, pool_provider: Callable[[], asyncpg.Pool | None], settings: Settings,
                  consumer_provider: Callable[[], Any] | None = None,
                  relay_provider: Callable[[], Any] | None = None) -> None:
    """Add `/metrics` to `app` (nothing when DENIALS_METRICS_ENABLED is false)."""
    if not settings.metrics_enabled:
        return
    endpoint = build_endpoint(pool_provider, ttl_s=settings.metrics_db_refresh_s,
                              timeout_s=settings.db_connect_timeout_s, consumer_provider=consumer_provider,
                              relay_provider=relay_provider)

    async def metrics(_: web.Request) -> web.Response:
        body, content_type = await endpoint.render()
        return web.Response(body=body, headers={"Content-Type": content_type, "Cache-Control": "no-store"})

    app.router.add_get("/metrics", metrics, name="metrics", allow_head=False)
