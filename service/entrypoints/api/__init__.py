"""The appeal work-queue HTTP API (aiohttp): `mount_api` for the worker's server, `create_api_app` standalone."""

from service.entrypoints.api.app import create_api_app, mount_api

__all__ = ["create_api_app", "mount_api"]
