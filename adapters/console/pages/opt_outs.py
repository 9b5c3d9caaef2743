"""The opt-outs page: a skeleton, shown only once the service keeps an opt-out list.

HOOK(opt-outs): another engineer adds the opt-out list (storage and API under /opt-outs).
Until the app has routes there, the navigation entry is hidden and this page is a 404. When
it lands, read the list through the application path its API uses and fill `entries`.
"""

from __future__ import annotations

from aiohttp import web

from adapters.console.pages.common import state_of
from adapters.console.rendering import page


async def opt_outs_page(request: web.Request) -> web.StreamResponse:
    """GET /ui/opt-outs: list, search, add, remove and import (once the list exists)."""
    if not state_of(request).features.opt_outs:
        raise web.HTTPNotFound
    query = request.query.get("q", "").strip()[:100]
    return page(request, "opt_outs.html", {"entries": [], "query": query})
