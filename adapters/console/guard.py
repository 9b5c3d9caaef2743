"""The console's middlewares: HTML errors and security headers, then the session and CSRF check."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Final
from urllib.parse import quote

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.multipart import BadContentDispositionHeader
from aiohttp.typedefs import Handler

from adapters.console.auth import COOKIE
from adapters.console.keys import SESSION, STATE
from adapters.console.rendering import HEADERS, NO_STORE, page
from adapters.http_api.errors import store_busy

log = logging.getLogger("waha_campaigns.console")

# Routes anyone may reach: the sign-in page, the stylesheet and scripts, and "no such page".
OPEN_ROUTES: Final = frozenset({"console_sign_in", "console_sign_in_post", "console_static"})
SIGN_IN: Final = "/ui/sign-in"
_TITLES: Final = {
    400: "That request cannot be read",
    403: "Not allowed",
    404: "No such page",
    405: "Not allowed here",
    413: "The upload is too large",
    503: "The store is busy",
}


def _wanted_page(request: web.Request) -> str:
    """Return where to go after signing in: this page if it is a console page, else the list."""
    target = request.path_qs
    return target if target.startswith("/ui/") and not target.startswith("//") else "/ui/"


def _to_sign_in(request: web.Request) -> web.StreamResponse:
    if request.headers.get("HX-Request") == "true":
        # A live region polling after the session ended: htmx follows this to the sign-in page.
        return web.Response(status=401, headers={"HX-Redirect": SIGN_IN, **NO_STORE})
    if request.method == "GET":
        raise web.HTTPSeeOther(f"{SIGN_IN}?next={quote(_wanted_page(request), safe='/')}")
    raise web.HTTPSeeOther(SIGN_IN)


@web.middleware
async def errors_and_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render every failure as a page (never a trace) and give every answer the security headers.

    Each answer says how long the service took to make it (Server-Timing: page;dur=MS), for
    browsers' developer tools and the benchmark.
    """
    started = time.perf_counter()
    try:
        response = await handler(request)
    except web.HTTPException as error:
        if error.status < web.HTTPBadRequest.status_code:
            error.headers.update(HEADERS)
            raise
        response = error_page(request, error.status, error.reason)
    except Exception as error:  # the edge: the operator sees a page, the log gets the trace
        # The path, never the query or the form: they may hold what the operator typed.
        if store_busy(error):  # busy, not broken: say so, and when to try again
            log.warning("store busy answering %s %s: 503", request.method, request.path)
            response = error_page(request, 503, "busy")
            response.headers["Retry-After"] = "1"
        else:
            log.exception("the console failed answering %s %s", request.method, request.path)
            response = error_page(request, 500, "Something went wrong; it is logged")
    if not response.prepared:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        took = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = f"page;dur={took:.1f}"
    return response


def error_page(request: web.Request, status: int, reason: str) -> web.Response:
    """Return the console's page for an error status."""
    title = _TITLES.get(status, reason)
    detail = {
        404: "The page, or the campaign it names, does not exist.",
        413: "The files are over the service's upload limit (CAMPAIGNS_MAX_UPLOAD_BYTES).",
        503: "Other writes kept the store busy past its timeout; try again in a moment.",
    }.get(status, reason)
    return page(request, "error.html", {"title": title, "detail": detail}, status=status)


async def _form_of(request: web.Request) -> Mapping[str, object] | None:
    """Return the posted form (aiohttp keeps it for the handler), or None if it is unreadable."""
    try:
        return await request.post()
    except (ValueError, HttpProcessingError, BadContentDispositionHeader):
        return None  # no boundary, a part or a header cut short, ...


@web.middleware
async def session_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Let signed-in sessions through; check the CSRF token of every form sent.

    Pages other than sign-in need a signed-in session (else: to the sign-in page). Every POST
    must carry the session's CSRF token, the sign-in form's included.
    """
    sessions = request.config_dict[STATE].sessions
    session = sessions.find(request.cookies.get(COOKIE))
    if session is not None:
        request[SESSION] = session
    route = request.match_info.route.name
    if route not in OPEN_ROUTES and (session is None or not session.signed_in):
        return _to_sign_in(request)
    if request.method == "POST":
        form = await _form_of(request)
        if form is None:
            detail = (
                "The form's body could not be read. Load the page again and send it from there."
            )
            return page(
                request, "error.html", {"title": _TITLES[400], "detail": detail}, status=400
            )
        presented = form.get("csrf")
        if session is None or not session.csrf_matches(
            presented if isinstance(presented, str) else None
        ):
            detail = (
                "The form had expired (or came from another site). Load the page again and "
                "send it from there."
            )
            return page(
                request,
                "error.html",
                {"title": "The form has expired", "detail": detail},
                status=403,
            )
    return await handler(request)
