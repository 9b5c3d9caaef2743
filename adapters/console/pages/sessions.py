"""The sessions page: WAHA's status of each session the campaigns use, live."""

from __future__ import annotations

import asyncio
from datetime import datetime, time
from typing import Final

from aiohttp import web

from adapters.console import commands
from adapters.console.pages.common import context_of, runtime_of, state_of
from adapters.console.rendering import fragment, live_answer, live_region, page
from adapters.console.sessions_page import SessionRow, StatusAnswer, session_names, session_rows
from app.blocking import off_loop
from app.ports import GatewayError, WahaGateway
from domain.session import SessionName

REGION: Final = "sessions-live"
URL: Final = "/ui/sessions/live"
# Each look asks WAHA once per session: less often than the campaigns' parts.
EVERY: Final = "5s"
# A page must not wait for WAHA's own (long) timeout: past this, the row says so.
STATUS_WAIT_SECONDS: Final = 3.0
_MAX_PROBLEM: Final = 200


async def _ask(gateway: WahaGateway, name: str) -> StatusAnswer:
    try:
        fact = await asyncio.wait_for(
            gateway.session_status(SessionName(name)), STATUS_WAIT_SECONDS
        )
    except TimeoutError:
        return StatusAnswer(None, f"no answer within {STATUS_WAIT_SECONDS:g} s")
    except GatewayError as error:
        return StatusAnswer(None, str(error)[:_MAX_PROBLEM])
    return StatusAnswer(fact)


async def _rows(request: web.Request) -> list[SessionRow]:
    runtime = runtime_of(request)
    context = context_of(request)
    facts = list((await commands.campaign_facts(runtime)).values())
    names = session_names(facts)
    answers = await asyncio.gather(*(_ask(runtime.gateway, name) for name in names))
    records = {r.id: r for r in state_of(request).records.scheduled()}
    midnight = datetime.combine(context.clock.now().date(), time(0), context.clock.now().tzinfo)

    def sent_today() -> dict[str, int]:
        return {name: context.contacts.sent_count(name, midnight) for name in names}

    sent = await off_loop(sent_today)
    return session_rows(names, facts, records, dict(zip(names, answers, strict=True)), sent)


async def sessions_page(request: web.Request) -> web.StreamResponse:
    """GET /ui/sessions: each session, its status (live), its campaigns."""
    rows = await _rows(request)
    inner = fragment(request, "parts/session_rows.html", {"rows": rows})
    results = live_region(REGION, URL, inner, EVERY)
    return page(request, "sessions.html", {"rows": rows, "results": results})


async def sessions_live(request: web.Request) -> web.StreamResponse:
    """GET /ui/sessions/live: the sessions part, when it changed."""
    inner = fragment(request, "parts/session_rows.html", {"rows": await _rows(request)})
    return live_answer(request, REGION, URL, inner, EVERY)
