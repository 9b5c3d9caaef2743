"""Signing in with the API token once, and signing out."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from adapters.console.auth import COOKIE, COOKIE_PATH, ConsoleSession
from adapters.console.pages.common import form_of, session_of, state_of
from adapters.console.rendering import current_session, page

DEFAULT_NEXT: Final = "/ui/"
_CONTROL: Final = 0x20  # characters below this are control characters
REFUSED: Final = (
    "That is not this service's API token. Check CAMPAIGNS_API_TOKEN, or the token file "
    "`serve` printed the path of, and try again."
)


def safe_next(target: str | None) -> str:
    """Return where to go after signing in: a console page of this service, never elsewhere."""
    if (
        not target
        or not target.startswith("/ui/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < _CONTROL for c in target)
    ):
        return DEFAULT_NEXT
    return target


def _with_cookie(
    response: web.StreamResponse, request: web.Request, session: ConsoleSession
) -> None:
    response.set_cookie(
        COOKIE,
        session.id,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )


def _form(
    request: web.Request,
    session: ConsoleSession,
    *,
    next_page: str,
    error: str = "",
    status: int = 200,
) -> web.Response:
    values = {
        "sign_in_csrf": session.csrf,
        "next": next_page,
        "error": error,
        "signed_out": request.query.get("signed_out") == "1",
    }
    response = page(request, "sign_in.html", values, status=status)
    _with_cookie(response, request, session)
    return response


async def sign_in_page(request: web.Request) -> web.StreamResponse:
    """GET /ui/sign-in: the token form (or straight on, when already signed in)."""
    next_page = safe_next(request.query.get("next"))
    session = current_session(request)
    if session is not None and session.signed_in:
        raise web.HTTPSeeOther(next_page)
    if session is None:
        session = state_of(request).sessions.open()
    return _form(request, session, next_page=next_page)


async def sign_in(request: web.Request) -> web.StreamResponse:
    """POST /ui/sign-in: a new signed-in session if the token is right; a plain message if not."""
    form = await form_of(request)
    next_page = safe_next(form.get("next"))
    current = current_session(request)
    session = state_of(request).sessions.sign_in(current, form.get("token", ""))
    if session is None:
        anonymous = current or state_of(request).sessions.open()
        return _form(request, anonymous, next_page=next_page, error=REFUSED, status=401)
    response = web.HTTPSeeOther(next_page)
    _with_cookie(response, request, session)
    raise response


async def sign_out(request: web.Request) -> web.StreamResponse:
    """POST /ui/sign-out: forget the session; its cookie opens nothing any more."""
    state_of(request).sessions.sign_out(session_of(request))
    response = web.HTTPSeeOther("/ui/sign-in?signed_out=1")
    response.del_cookie(COOKIE, path=COOKIE_PATH)
    raise response
