"""Any other /ui/ address: the console's own "no such page"."""

from __future__ import annotations

from aiohttp import web


async def not_found(_request: web.Request) -> web.StreamResponse:
    """Every /ui/ path no page answers."""
    raise web.HTTPNotFound
