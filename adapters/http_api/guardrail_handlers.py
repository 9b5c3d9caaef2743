"""Handlers of the numbers' guardrails: sessions and their settings, opt-outs, previews."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Final

from aiohttp import web
from pydantic import ValidationError

from adapters.http_api.errors import invalid_input, not_found, validation_problem
from adapters.http_api.guardrail_schemas import (
    OptOutsIn,
    OptOutsQuery,
    PreviewQuery,
    SettingsIn,
)
from adapters.http_api.intake import campaign_request
from adapters.http_api.keys import CONTEXT, RUNTIME
from adapters.http_api.uploads import read_json
from app.blocking import off_loop
from app.opt_outs import InvalidOptOutError
from app.ports import GatewayError, SessionStatusFact
from app.session_settings import SESSION_NAME
from app.sessions import SessionView, WahaSaid
from domain.opt_out import OptOutEntry
from domain.session import SessionName
from domain.window import InvalidSettingError

# Who changed a setting, as the caller says (X-Operator); "api" when it says nothing.
OPERATOR_HEADER: Final = "X-Operator"
_OPERATOR: Final = re.compile(r"^[\x20-\x7e]{1,64}$")
_MAX_ECHO: Final = 64


def _json(document: object, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(document).encode(), status=status, content_type="application/json"
    )


def _session(request: web.Request) -> SessionName:
    name = request.match_info["session"]
    if not SESSION_NAME.match(name):
        raise not_found(f"no session named {name[:_MAX_ECHO]!r}: letters, digits, - and _ only")
    return SessionName(name)


def _setting_problem(error: InvalidSettingError) -> web.HTTPException | Exception:
    return invalid_input(
        "the settings are not valid", [{"field": error.field, "reason": error.reason}]
    )


# -- sessions -------------------------------------------------------------------------------------


async def _waha(request: web.Request, session: SessionName) -> WahaSaid:
    gateway = request.app[RUNTIME].gateway
    answer: SessionStatusFact | GatewayError
    try:
        answer = await gateway.session_status(session)
    except GatewayError as error:
        answer = error
    return WahaSaid.of(answer)


async def _views(request: web.Request, sessions: list[SessionName]) -> list[SessionView]:
    context = request.app[CONTEXT]
    supervisor = request.app[RUNTIME].supervisor
    await supervisor.refresh_facts()  # also catches the read model up: sent today is current
    facts = supervisor.facts()
    said = await asyncio.gather(*(_waha(request, s) for s in sessions))
    return await off_loop(context.sessions.views, list(zip(sessions, said, strict=True)), facts)


async def list_sessions(request: web.Request) -> web.Response:
    """GET /sessions: every session with campaigns, settings or a lane, with WAHA's status."""
    context = request.app[CONTEXT]
    supervisor = request.app[RUNTIME].supervisor
    await supervisor.refresh_facts()
    sessions = await off_loop(context.sessions.known, supervisor.facts())
    views = await _views(request, sessions)
    return _json({"items": [v.as_dict() for v in views], "next_cursor": None})


async def show_session(request: web.Request) -> web.Response:
    """GET /sessions/{session}: the number's status, lane, guardrails today and campaigns."""
    (view,) = await _views(request, [_session(request)])
    return _json(view.as_dict())


def _operator(request: web.Request) -> str:
    said = request.headers.get(OPERATOR_HEADER, "").strip()
    return f"api:{said}" if _OPERATOR.match(said) else "api"


async def change_settings(request: web.Request) -> web.Response:
    """PUT /sessions/{session}/settings: change any of the number's settings; null clears one."""
    session = _session(request)
    body = await read_json(request, SettingsIn)
    changes = body.model_dump(mode="json", include=body.model_fields_set)
    context = request.app[CONTEXT]
    try:
        await off_loop(context.session_settings.change, session, changes, by=_operator(request))
    except InvalidSettingError as error:
        raise _setting_problem(error) from None
    (view,) = await _views(request, [session])
    return _json(view.as_dict())


# -- opt-outs -------------------------------------------------------------------------------------


def _entry_json(entry: OptOutEntry) -> dict[str, object]:
    return {
        "phone": entry.phone,
        "source": entry.source,
        "at": entry.at.isoformat(),
        "note": entry.note,
    }


async def add_opt_outs(request: web.Request) -> web.Response:
    """POST /opt-outs: put phones on the list (all or none); 422 names every bad phone."""
    body = await read_json(request, OptOutsIn)
    book = request.app[CONTEXT].opt_outs
    added = await off_loop(book.add, body.phones, source=body.source, note=body.note)
    return _json({"added": added.added, "already": added.already, "phones": added.phones})


async def list_opt_outs(request: web.Request) -> web.Response:
    """GET /opt-outs: the list, in the order phones got on it, a page at a time."""
    try:
        query = OptOutsQuery.model_validate(dict(request.query))
    except ValidationError as error:
        raise validation_problem(error) from None
    book = request.app[CONTEXT].opt_outs
    page = await off_loop(book.page, limit=query.limit, cursor=query.cursor)
    return _json({"items": [_entry_json(e) for e in page.items], "next_cursor": page.next_cursor})


async def remove_opt_out(request: web.Request) -> web.Response:
    """DELETE /opt-outs/{phone}: take a phone off the list; 404 if it is not on it."""
    phone = request.match_info["phone"]
    book = request.app[CONTEXT].opt_outs
    try:
        removed = await off_loop(book.remove, phone, note="removed through the API")
    except InvalidOptOutError:
        raise not_found(f"{phone[:_MAX_ECHO]!r} is not a phone number on the list") from None
    if not removed:
        raise not_found(f"{phone[:_MAX_ECHO]!r} is not on the opt-out list")
    (normalised,) = await off_loop(book.normalised, [phone])
    return _json({"phone": normalised, "removed": True})


# -- previews -------------------------------------------------------------------------------------


async def preview_campaign(request: web.Request) -> web.Response:
    """POST /campaigns/preview: what POST /campaigns would do with the body, recording nothing."""
    try:
        query = PreviewQuery.model_validate(dict(request.query))
    except ValidationError as error:
        raise validation_problem(error) from None
    async with campaign_request(request) as (command, warnings):
        preview = await off_loop(request.app[CONTEXT].preview.preview, command, query.limit)
    document = preview.as_dict()
    document["warnings"] = [*warnings, *document["warnings"]]
    return _json(document)
