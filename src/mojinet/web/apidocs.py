"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) served from this machine, so they work offline.

FastAPI's own pages load both from a CDN. Here the pages are ours, with no inline script (their
start-up code is ``static/swagger-init.js``; ReDoc starts itself from its ``<redoc>`` element),
and the assets come from the ``fastapi-offline`` package, which ships the minified builds of
Swagger UI (Apache-2.0, SmartBear Software) and ReDoc (MIT, Redocly): see docs/web.md.
"""

from __future__ import annotations

from importlib import resources

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
ASSET_FILES = ("swagger-ui.css", "swagger-ui-bundle.js", "redoc.standalone.js")

_SWAGGER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — API (Swagger UI)</title>
<link rel="icon" href="/favicon.ico">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head><body>
<div id="swagger-ui" data-openapi="{openapi}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body></html>
"""

_REDOC = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — API (ReDoc)</title>
<link rel="icon" href="/favicon.ico">
</head><body>
<redoc spec-url="{openapi}"></redoc>
<script src="{assets}/redoc.standalone.js"></script>
</body></html>
"""


def asset_folder():
    """The folder of fastapi-offline's Swagger UI and ReDoc files."""
    return resources.files(fastapi_offline) / "static"


def add_docs(app: FastAPI, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Serve Swagger UI at ``docs_url`` and ReDoc at ``redoc_url`` from local files.

    ``app`` must be made with ``docs_url=None, redoc_url=None`` (no CDN pages)."""
    folder = asset_folder()
    missing = [name for name in ASSET_FILES if not (folder / name).is_file()]
    if missing:
        raise RuntimeError(f"fastapi-offline has no {', '.join(missing)} in {folder}; reinstall "
                           f"it (pip install --force-reinstall fastapi-offline)")
    fill = {"title": app.title, "openapi": app.openapi_url, "assets": ASSETS}
    swagger, redoc = _SWAGGER.format(**fill), _REDOC.format(**fill)
    app.mount(ASSETS, StaticFiles(directory=str(folder)), name="docs-assets")

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui():
        return HTMLResponse(swagger)

    @app.get(redoc_url, include_in_schema=False)
    async def redoc_page():
        return HTMLResponse(redoc)
