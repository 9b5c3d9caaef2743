"""What every page handler needs: the services, the session, the campaign its URL names."""

from __future__ import annotations

from typing import Final
from uuid import UUID

from aiohttp import web

from adapters.console.auth import ConsoleSession
from adapters.console.keys import STATE, ConsoleState
from adapters.console.rendering import current_session
from adapters.http_api.context import ApiContext, ApiRuntime
from adapters.http_api.keys import CONTEXT, RUNTIME

MAX_REASON: Final = 500


def context_of(request: web.Request) -> ApiContext:
    """Return the services the API was given."""
    return request.config_dict[CONTEXT]


def runtime_of(request: web.Request) -> ApiRuntime:
    """Return what runs while the service serves: WAHA's client and the supervisor."""
    return request.config_dict[RUNTIME]


def state_of(request: web.Request) -> ConsoleState:
    """Return the console's own state."""
    return request.config_dict[STATE]


def session_of(request: web.Request) -> ConsoleSession:
    """Return the request's signed-in session (the guard let only those through)."""
    session = current_session(request)
    if session is None:  # pragma: no cover - the guard answers before any such handler runs
        raise web.HTTPSeeOther("/ui/sign-in")
    return session


def campaign_id_of(request: web.Request) -> UUID:
    """Return the campaign id in the URL; 404 if it cannot name a campaign."""
    try:
        return UUID(request.match_info["campaign_id"])
    except ValueError:
        raise web.HTTPNotFound from None


def whole(text: str | None, default: int, low: int = 1) -> int:
    """Return a whole number from a query parameter, or `default` if it is not one."""
    try:
        return max(int((text or "").strip()), low)
    except ValueError:
        return default


async def form_of(request: web.Request) -> dict[str, str]:
    """Return the submitted form's text fields (the guard has read and checked it)."""
    posted = await request.post()
    return {k: v for k, v in posted.items() if isinstance(v, str)}
