"""Pages and live fragments: the Jinja environment, what every page is given, and its headers."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any, Final

import aiohttp_jinja2
import jinja2
from aiohttp import web
from markupsafe import Markup, escape

from adapters.console import formatting
from adapters.console.auth import ConsoleSession
from adapters.console.keys import SESSION, STATE
from adapters.http_api.keys import CONTEXT

# Everything from this service: no CDN, no font host, no inline script or style.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
# Pages hold campaign data: never kept by a browser's or a proxy's cache.
NO_STORE: Final = {"Cache-Control": "no-store"}
LIVE_EVERY: Final = "2s"
_FILTERS: Final[dict[str, Callable[..., str]]] = {
    "count": formatting.count,
    "duration": formatting.duration,
    "moment": formatting.moment,
    "iso": formatting.iso,
    "seconds": formatting.seconds,
}


def install(app: web.Application) -> jinja2.Environment:
    """Set the console's templates up on `app` and return their environment.

    Autoescaping is on for every template, and an undefined name is an error, not a blank.
    """
    return aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("adapters.console", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        filters=_FILTERS,
        default_helpers=False,
    )


def current_session(request: web.Request) -> ConsoleSession | None:
    """Return the request's console session, as the guard found it (None: not signed in)."""
    return request.get(SESSION)


def _common(
    request: web.Request, session: ConsoleSession | None, *, with_notices: bool
) -> dict[str, Any]:
    state = request.config_dict[STATE]
    context = request.config_dict[CONTEXT]
    signed_in = session is not None and session.signed_in
    return {
        "csrf": session.csrf if session is not None else "",
        "signed_in": signed_in,
        # Only a whole page shows (and so spends) the one-time notices; a part never does.
        "notices": session.take_notices() if with_notices and session is not None else [],
        "features": state.features,
        "now": context.clock.now(),
        "relative": formatting.relative,
        "path": request.path,
    }


def page(
    request: web.Request, template: str, values: Mapping[str, Any], *, status: int = 200
) -> web.Response:
    """Return a whole page, with the session's CSRF token, its notices and the navigation."""
    context = _common(request, current_session(request), with_notices=True) | dict(values)
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    response.headers.update(NO_STORE)
    return response


def fragment(request: web.Request, template: str, values: Mapping[str, Any]) -> Markup:
    """Return a template's HTML with the common values, for a live region's inside."""
    context = _common(request, current_session(request), with_notices=False) | dict(values)
    return Markup(aiohttp_jinja2.render_string(template, request, context))  # noqa: S704 - autoescaped


def version_of(inner: str) -> str:
    """Return a short digest of a region's content: the same content, the same version."""
    return hashlib.sha256(inner.encode()).hexdigest()[:16]


def live_region(region_id: str, url: str, inner: Markup, every: str = LIVE_EVERY) -> Markup:
    """Return `inner` wrapped in a region that polls `url` and is replaced when it changed.

    The URL carries the content's version; the server answers 204 (htmx swaps nothing) while
    the content is the same, so a polled page neither flickers nor loses its focus.
    """
    joiner = "&" if "?" in url else "?"
    source = f"{url}{joiner}v={version_of(inner)}"
    return Markup(  # noqa: S704 - every value is escaped
        f'<div id="{escape(region_id)}" class="live" hx-get="{escape(source)}" '
        f'hx-trigger="every {escape(every)}" hx-swap="outerHTML">{inner}</div>'
    )


def live_answer(
    request: web.Request, region_id: str, url: str, inner: Markup, every: str = LIVE_EVERY
) -> web.Response:
    """Answer a region's poll: 204 when its content is what the client has, else the region."""
    if request.query.get("v") == version_of(inner):
        return web.Response(status=204, headers=NO_STORE)
    body = live_region(region_id, url, inner, every)
    return web.Response(text=str(body), content_type="text/html", headers=NO_STORE)
