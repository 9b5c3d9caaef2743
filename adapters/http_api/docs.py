"""GET /docs: the API reference, rendered by a vendored Swagger UI served from this package."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from aiohttp import web

STATIC_DIR: Final = Path(__file__).parent / "static"
ASSETS_PREFIX: Final = "/docs/assets"
ASSETS_ROUTE: Final = "docs_assets"
# Everything from this service: no CDN, no font host, no validator badge.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'"
)
# Relative links, resolved against /docs: they hold behind a reverse proxy's path prefix too.
PAGE: Final = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>waha-campaigns API</title>
  <link rel="stylesheet" href="docs/assets/swagger-ui/swagger-ui.css">
  <link rel="icon" type="image/png" href="docs/assets/swagger-ui/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/assets/swagger-ui/swagger-ui-bundle.js"></script>
  <script src="docs/assets/docs.js"></script>
</body>
</html>
"""


async def docs_page(_request: web.Request) -> web.Response:
    """GET /docs: the reference page; /openapi.json and these assets need no token."""
    return web.Response(
        text=PAGE,
        content_type="text/html",
        charset="utf-8",
        headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY},
    )


def add_assets(app: web.Application) -> None:
    """Serve the page's files (Swagger UI, its licence, the initializer) under /docs/assets."""
    app.router.add_static(ASSETS_PREFIX, STATIC_DIR, name=ASSETS_ROUTE)
