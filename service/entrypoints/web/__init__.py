"""The appeal team's web page: `/` (index.html) and its assets under `/web/`, plain HTML, CSS and ES modules that
call the /api routes with the signed-in bearer token. No build step, nothing fetched from another origin.

`mount_web(app)` adds the routes to the worker's web server (service/entrypoints/server.py) and to `denials api`
(`create_api_app`). The files are listed once at mount time and served by name from that list: no path from a
request ever reaches the file system. Vendored libraries (static/vendor/, e.g. Chart.js for the dashboard) are
served the same way under `/web/vendor/<name>`.

`/api/docs` is the API page: api-docs.html renders the public `/api/openapi.json` with the vendored Swagger UI. It
holds no data, so it needs no token (requests sent from it do); its policy lets Swagger UI set its own styles."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).with_name("static")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*\.(html|css|js|svg|txt)$")
_TYPES = {"html": "text/html", "css": "text/css", "js": "text/javascript", "svg": "image/svg+xml",
          "txt": "text/plain", "md": "text/markdown"}
_VENDOR_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*\.(js|css|txt|md)$")
# The page runs only its own scripts and styles and talks only to its own origin; PDFs open as blob: URLs.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "connect-src 'self'; frame-src blob:; base-uri 'none'; form-action 'self'; "
                                "frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}
# The API page: Swagger UI's own scripts and styles, requests to this origin only.
DOCS_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
}


def _assets() -> dict[str, tuple[bytes, str]]:
    out = {}
    for folder, prefix, pattern in ((STATIC, "", _NAME), (STATIC / "vendor", "vendor/", _VENDOR_NAME)):
        for path in sorted(folder.iterdir()) if folder.is_dir() else ():
            if path.is_file() and pattern.match(path.name):
                out[prefix + path.name] = (path.read_bytes(), _TYPES[path.suffix[1:]])
    if "index.html" not in out:
        raise FileNotFoundError(f"{STATIC / 'index.html'} is missing: the web page cannot be served")
    return out


def mount_web(app: web.Application) -> None:
    """Serve the page at `/`, the API reference at `/api/docs` and their assets at `/web/<name>` (read into memory
    once)."""
    assets = _assets()

    def respond(name: str, headers: dict[str, str] = SECURITY_HEADERS) -> web.Response:
        body, content_type = assets[name]
        charset = "utf-8" if content_type.startswith("text/") or content_type.endswith("+xml") else None
        return web.Response(body=body, content_type=content_type, charset=charset, headers=headers)

    async def index(_: web.Request) -> web.Response:
        return respond("index.html")

    async def api_docs(_: web.Request) -> web.Response:
        return respond("api-docs.html", DOCS_HEADERS)

    async def asset(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in assets:
            raise web.HTTPNotFound(text="no such file", headers={"X-Content-Type-Options": "nosniff"})
        return respond(name)

    app.router.add_get("/", index, name="web_index", allow_head=False)
    app.router.add_get("/api/docs", api_docs, name="api_docs", allow_head=False)
    app.router.add_get("/web/{name:(?:vendor/)?[^{}/]+}", asset, name="web_asset", allow_head=False)
