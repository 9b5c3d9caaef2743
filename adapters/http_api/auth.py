"""Bearer-token authentication for every route but the public ones (health, WAHA's webhook)."""

from __future__ import annotations

import hmac
from collections.abc import Collection

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from pydantic import SecretStr

from adapters.http_api.errors import ProblemError

_SCHEME = "bearer "


def _presented(request: web.Request) -> bytes | None:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith(_SCHEME):
        return None
    return header[len(_SCHEME) :].strip().encode("utf-8")


def bearer_auth(token: SecretStr, public_routes: Collection[str]) -> Middleware:
    """Return a middleware that answers 401 unless `Authorization: Bearer <token>` matches.

    Routes are public by their name, not their path, so a path spelt differently
    ("/healthz/", "//healthz") cannot slip past the check.
    """
    expected = token.get_secret_value().encode("utf-8")
    if not expected:
        raise ValueError("an empty API token would let anyone in")

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.match_info.route.name in public_routes:
            return await handler(request)
        presented = _presented(request)
        # compare_digest: the time taken says nothing about how much of the token matched.
        if presented is None or not hmac.compare_digest(presented, expected):
            raise ProblemError(
                401,
                "Unauthorized",
                "send Authorization: Bearer <CAMPAIGNS_API_TOKEN>",
                kind="unauthorized",
                headers={"WWW-Authenticate": 'Bearer realm="waha-campaigns"'},
            )
        return await handler(request)

    return authenticate
