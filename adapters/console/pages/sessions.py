"""The sessions pages: every WhatsApp number (live), and one number's page with its settings."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Final

from aiohttp import web

from adapters.console import commands
from adapters.console.pages.common import context_of, runtime_of, session_of, state_of
from adapters.console.rendering import fragment, live_answer, live_region, page
from adapters.console.sessions_page import (
    SETTING_TITLES,
    SessionCard,
    StatusAnswer,
    change_words,
    session_card,
    setting_words,
)
from adapters.console.settings_form import DAY_LABELS, SettingsForm, form_field, time_zones
from app.blocking import off_loop
from app.campaign_facts import CampaignFacts
from app.errors import ConcurrentUpdateError
from app.ports import GatewayError, WahaGateway
from app.session_settings import SESSION_NAME
from domain.session import SessionName
from domain.window import InvalidSettingError

REGION: Final = "sessions-live"
URL: Final = "/ui/sessions/live"
ONE_REGION: Final = "session-live"
# Each look asks WAHA once per session: less often than the campaigns' parts.
EVERY: Final = "5s"
# A page must not wait for WAHA's own (long) timeout: past this, the row says so.
STATUS_WAIT_SECONDS: Final = 3.0
# Who changed a setting, on the record: the API records "api[:who]", the CLI "cli:<user>".
OPERATOR: Final = "console"
_MAX_PROBLEM: Final = 200
_CHANGES_SHOWN: Final = 5


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


async def _cards(request: web.Request, names: Sequence[SessionName] | None) -> list[SessionCard]:
    """Return the cards of `names` (None: every known number), as the API's views say."""
    runtime = runtime_of(request)
    context = context_of(request)
    facts: list[CampaignFacts] = list((await commands.campaign_facts(runtime)).values())
    if names is None:
        names = await off_loop(context.sessions.known, facts)
    answers = await asyncio.gather(*(_ask(runtime.gateway, name) for name in names))
    views = await off_loop(
        context.sessions.views,
        [(name, answer.said) for name, answer in zip(names, answers, strict=True)],
        facts,
    )
    records = {r.id: r for r in state_of(request).records.scheduled()}
    now = context.clock.now()
    return [
        session_card(view, answer, facts, records, now)
        for view, answer in zip(views, answers, strict=True)
    ]


async def sessions_page(request: web.Request) -> web.StreamResponse:
    """GET /ui/sessions: each number, its status (live), guardrails today and campaigns."""
    rows = await _cards(request, None)
    inner = fragment(request, "parts/session_rows.html", {"rows": rows})
    results = live_region(REGION, URL, inner, EVERY)
    return page(request, "sessions.html", {"rows": rows, "results": results})


async def sessions_live(request: web.Request) -> web.StreamResponse:
    """GET /ui/sessions/live: the sessions part, when it changed."""
    inner = fragment(request, "parts/session_rows.html", {"rows": await _cards(request, None)})
    return live_answer(request, REGION, URL, inner, EVERY)


# -- one number -----------------------------------------------------------------------------------


def _name_of(request: web.Request) -> SessionName:
    name = request.match_info["session"]
    if not SESSION_NAME.match(name):  # pragma: no cover - the route's pattern is the same
        raise web.HTTPNotFound
    return SessionName(name)


async def _session_page(
    request: web.Request,
    *,
    form: SettingsForm | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    name = _name_of(request)
    (card,) = await _cards(request, [name])
    context = context_of(request)
    stored, changes = await off_loop(
        lambda: (context.session_settings.view(name), context.session_settings.changes(name))
    )
    inner = fragment(request, "parts/session_card.html", {"row": card, "single": True})
    values: dict[str, Any] = {
        "row": card,
        "summary": live_region(ONE_REGION, card.live_href, inner, EVERY),
        "form": form or SettingsForm.of(stored.settings.to_record()),
        # The settings as recorded now: what a save compares the form with.
        "shown": SettingsForm.of(stored.settings.to_record()).hidden_fields(),
        "errors": errors or {},
        "days": DAY_LABELS,
        "zones": time_zones(),
        "changes": [
            {"by": c["by"], "at": c["at"], "lines": change_words(c)}
            for c in reversed(changes[-_CHANGES_SHOWN:])
        ],
        "more_changes": max(0, len(changes) - _CHANGES_SHOWN),
    }
    return page(request, "session.html", values, status=status)


async def session_page(request: web.Request) -> web.StreamResponse:
    """GET /ui/sessions/{session}/settings: the number (live) and its settings form."""
    return await _session_page(request)


async def session_live(request: web.Request) -> web.StreamResponse:
    """GET /ui/sessions/{session}/live: the number's live part, when it changed."""
    (card,) = await _cards(request, [_name_of(request)])
    inner = fragment(request, "parts/session_card.html", {"row": card, "single": True})
    return live_answer(request, ONE_REGION, card.live_href, inner, EVERY)


async def change_settings(request: web.Request) -> web.StreamResponse:
    """POST /ui/sessions/{session}/settings: the settings as the form has them, on the record.

    The same application path as PUT /sessions/{session}/settings: a bad field is named next
    to itself, with everything typed kept, and nothing is recorded.
    """
    name = _name_of(request)
    posted = await request.post()
    ticked = tuple(v for v in posted.getall("days", []) if isinstance(v, str))
    form = SettingsForm.from_post(posted, ticked)
    changes, errors = form.changes()
    if errors:
        return await _session_page(request, form=form, errors=errors, status=422)
    shown = SettingsForm.shown_in(posted)
    if shown is not None:  # only what the operator edited: the rest stays as recorded now
        edited = form.edited_since(shown)
        changes = {k: v for k, v in changes.items() if k in edited}
    book = context_of(request).session_settings

    def change() -> list[str]:
        before = book.view(name).settings.to_record()
        after = book.change(name, changes, by=OPERATOR).settings.to_record()
        return [
            f"{SETTING_TITLES.get(key, key)}: {setting_words(key, after[key])}"
            for key in after
            if after[key] != before.get(key)
        ]

    try:
        changed = await off_loop(change)
    except InvalidSettingError as error:
        errors = {form_field(error.field): error.reason}
        return await _session_page(request, form=form, errors=errors, status=422)
    except ConcurrentUpdateError as error:
        return await _session_page(request, form=form, errors={"form": str(error)}, status=409)
    session = session_of(request)
    if changed:
        session.notify(
            f"Settings of {name} saved ({'; '.join(changed)}). They apply from the next contact.",
            "success",
        )
    else:
        session.notify(f"Nothing changed: the settings of {name} were already so.", "info")
    raise web.HTTPSeeOther(f"/ui/sessions/{name}/settings")
