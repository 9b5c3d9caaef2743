"""Typed keys of what make_app keeps on the application, shared by its handlers."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from adapters.http_api.context import ApiContext, ApiRuntime

CONTEXT = web.AppKey("context", ApiContext)
# Set while the app runs: the runtime exists only inside make_app's cleanup_ctx.
RUNTIME = web.AppKey("runtime", ApiRuntime)
OPENAPI = web.AppKey("openapi", dict[str, Any])
