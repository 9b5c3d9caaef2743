"""The operator's buttons: pause, resume, cancel (after a confirmation) and retry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

from aiohttp import web

from adapters.console import commands
from adapters.console.formatting import count
from adapters.console.pages.common import (
    MAX_REASON,
    campaign_id_of,
    context_of,
    form_of,
    runtime_of,
    session_of,
    state_of,
)
from adapters.console.rendering import page
from adapters.http_api.context import ApiRuntime
from app.blocking import off_loop
from app.errors import CampaignNotFoundError
from domain.lifecycle import allowed_commands

DEFAULT_REASON = "cancelled by operator"
Command = Callable[[ApiRuntime, UUID], Awaitable[commands.Outcome]]


def _said(command: str, outcome: commands.Outcome) -> str:
    view = outcome.view
    if command == "pause":
        if outcome.pending:
            return "Pause asked: it pauses once the send in flight is done."
        where = f" at contact {count(view.pause.index + 1)}" if view.pause is not None else ""
        return f"Paused{where}. It stays paused until you resume it."
    if command == "resume":
        return f"Resumed at contact {count(view.next_index + 1)} of {count(view.total)}."
    if command == "cancel":
        if outcome.pending:
            return "Cancel asked: it ends once the send in flight is done."
        return "Cancelled. The campaign will not send again."
    return "Done."


async def _give(request: web.Request, command: str, run: Command) -> web.StreamResponse:
    campaign_id = campaign_id_of(request)
    session = session_of(request)
    try:
        outcome = await run(runtime_of(request), campaign_id)
    except CampaignNotFoundError:
        raise web.HTTPNotFound from None
    except commands.CommandRefusedError as error:
        session.notify(f"Not done: {error}.", "error")
    else:
        session.notify(_said(command, outcome), "success")
    raise web.HTTPSeeOther(f"/ui/campaigns/{campaign_id}")


async def pause(request: web.Request) -> web.StreamResponse:
    """POST /ui/campaigns/{id}/pause."""
    return await _give(request, "pause", commands.pause)


async def resume(request: web.Request) -> web.StreamResponse:
    """POST /ui/campaigns/{id}/resume."""
    return await _give(request, "resume", commands.resume)


async def confirm_cancel(request: web.Request) -> web.StreamResponse:
    """GET /ui/campaigns/{id}/cancel: what cancelling means, and the button that does it."""
    campaign_id = campaign_id_of(request)
    try:
        view = await off_loop(context_of(request).campaigns.campaign, campaign_id)
    except CampaignNotFoundError:
        raise web.HTTPNotFound from None
    allowed = "cancel" in allowed_commands(view.status)
    values = {"view": view, "allowed": allowed, "default_reason": DEFAULT_REASON}
    return page(request, "cancel.html", values)


async def cancel(request: web.Request) -> web.StreamResponse:
    """POST /ui/campaigns/{id}/cancel with the reason (the confirmation page's form)."""
    form = await form_of(request)
    reason = " ".join(form.get("reason", "").split())[:MAX_REASON] or DEFAULT_REASON

    async def run(runtime: ApiRuntime, campaign_id: UUID) -> commands.Outcome:
        return await commands.cancel(runtime, campaign_id, reason)

    return await _give(request, "cancel", run)


async def retry(request: web.Request) -> web.StreamResponse:
    """POST /ui/campaigns/{id}/retry: the failed contacts (and in-doubt ones, if ticked) anew."""
    if not state_of(request).features.retry:
        raise web.HTTPNotFound
    form = await form_of(request)
    include_in_doubt = form.get("include_in_doubt") == "1"
    context = context_of(request)
    campaign_id = campaign_id_of(request)
    session = session_of(request)
    try:
        outcome = await commands.retry(
            context, runtime_of(request), campaign_id, include_in_doubt=include_in_doubt
        )
    except CampaignNotFoundError:
        raise web.HTTPNotFound from None
    except commands.CommandRefusedError as error:
        session.notify(f"Not done: {error}.", "error")
        raise web.HTTPSeeOther(f"/ui/campaigns/{campaign_id}") from None
    view = outcome.view
    session.notify(
        f"Retrying {count(view.total)} contact(s) as a new campaign, {view.name!r}.", "success"
    )
    raise web.HTTPSeeOther(f"/ui/campaigns/{view.id}")
