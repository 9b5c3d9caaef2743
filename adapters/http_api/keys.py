"""Typed keys of what make_app keeps on the application, shared by its handlers."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from adapters.http_api.metrics import ApiMetrics
from adapters.http_api.view_cache import ViewCache
from app.bootstrap import Runtime, Services

SERVICES = web.AppKey("services", Services)
# Set while the app runs: the runtime exists only inside make_app's cleanup_ctx.
RUNTIME = web.AppKey("runtime", Runtime)
METRICS = web.AppKey("metrics", ApiMetrics)
OPENAPI = web.AppKey("openapi", dict[str, Any])
VIEW_CACHE = web.AppKey("view_cache", ViewCache)
