"""Handlers that change campaigns after scheduling: edit one not yet started, retry contacts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from aiohttp import web

from adapters.http_api.context import ApiContext
from adapters.http_api.errors import invalid_input, not_found
from adapters.http_api.intake import VOICE_WARNING, media_reference
from adapters.http_api.keys import CONTEXT, RUNTIME
from adapters.http_api.schemas import MAX_SCHEDULE_AHEAD, CampaignPatch, OptionsPatch, RetryIn
from adapters.http_api.uploads import read_json
from adapters.logging_setup import campaign_context
from app.blocking import off_loop
from app.editing import KEEP, EditCampaign, EditedCampaign, edit_campaign
from app.ports import MediaKind
from app.retries import RetryRequest, retry_campaign
from domain.lifecycle import next_status

_MAX_ID_ECHO = 64


def _campaign_id(request: web.Request) -> UUID:
    text = request.match_info["campaign_id"]
    try:
        return UUID(text)
    except ValueError:
        raise not_found(f"no campaign with id {text[:_MAX_ID_ECHO]!r}") from None


@dataclass(frozen=True)
class _Edit:
    edit: EditCampaign
    warnings: list[str]


def _edit_of(services: ApiContext, patch: CampaignPatch) -> _Edit:
    """Return the application's edit for the patch; reads the media folder (off the loop)."""
    problems: list[dict[str, object]] = []
    warnings: list[str] = []
    scheduled_for: Any = KEEP
    if "scheduled_for" in patch.model_fields_set:
        scheduled_for = patch.scheduled_for
        if (
            scheduled_for is not None
            and scheduled_for.utcoffset() is not None
            and scheduled_for - services.clock.now() > MAX_SCHEDULE_AHEAD
        ):
            problems.append(
                {
                    "field": "scheduled_for",
                    "value": scheduled_for.isoformat(),
                    "reason": f"must be at most {MAX_SCHEDULE_AHEAD.days} days ahead",
                }
            )
    text: Any = KEEP
    defaults: Any = KEEP
    image: Any = KEEP
    message = patch.message
    if message is not None:
        text = message.text if message.text is not None else KEEP
        defaults = message.defaults if message.defaults is not None else KEEP
        if "media_id" in message.model_fields_set:
            image = None
            if message.media_id is not None:
                image, media_problems, warnings = media_reference(services, message.media_id)
                problems += media_problems
    if problems:
        raise invalid_input("the edit is not valid; nothing was changed", problems)
    edit = EditCampaign(
        name=patch.name if patch.name is not None else KEEP,
        text=text,
        defaults=defaults,
        image=image,
        scheduled_for=scheduled_for,
        pacing=patch.pacing.model_dump(exclude_none=True) if patch.pacing else {},
        options=_options(patch.options),
    )
    return _Edit(edit, warnings)


def _options(given: OptionsPatch | None) -> dict[str, Any]:
    # Absent options stay; a null window is given: it removes the campaign's own window.
    if given is None:
        return {}
    options = given.model_dump(exclude_none=True)
    if "window" in given.model_fields_set:
        options["window"] = given.window
    return options


def _edited_json(edited: EditedCampaign, warnings: list[str]) -> bytes:
    image = edited.view.message.get("image")
    if (
        "message" in edited.changed
        and isinstance(image, dict)
        and image.get("kind") == MediaKind.VOICE.value
        and VOICE_WARNING not in warnings
    ):
        warnings = [*warnings, VOICE_WARNING]
    body = edited.view.as_dict() | {"changed": edited.changed, "warnings": warnings}
    return json.dumps(body).encode()


async def edit_campaign_handler(request: web.Request) -> web.Response:
    """PATCH /campaigns/{id}: change a Scheduled campaign (one CampaignEdited event).

    409 naming the state when it is no longer Scheduled; 422 naming every bad field, with
    nothing recorded. A schedule moved to now starts the campaign at once.
    """
    campaign_id = _campaign_id(request)
    services = request.app[CONTEXT]
    patch = await read_json(request, CampaignPatch) if request.body_exists else CampaignPatch()
    # The campaign and its state before the fields: 404 or 409 say more than a field's 422.
    current = await off_loop(services.campaigns.campaign, campaign_id)
    next_status(current.status, "edit")
    prepared = await off_loop(_edit_of, services, patch)
    with campaign_context(campaign_id):
        edited = await off_loop(edit_campaign, services.campaigns, campaign_id, prepared.edit)
        if edited.changed:
            view = await request.app[RUNTIME].supervisor.run_now(campaign_id)
            edited = EditedCampaign(view, edited.changed)
    body = await off_loop(_edited_json, edited, prepared.warnings)
    return web.Response(body=body, content_type="application/json")


async def retry_campaign_handler(request: web.Request) -> web.Response:
    """POST /campaigns/{id}/retry: a new campaign, starting now, of the chosen contacts.

    201 with the new campaign (Location names it); 200 when this retry was made already.
    """
    campaign_id = _campaign_id(request)
    services = request.app[CONTEXT]
    body = await read_json(request, RetryIn) if request.body_exists else RetryIn()
    retry = RetryRequest(outcomes=tuple(body.outcomes), include_in_doubt=body.include_in_doubt)
    with campaign_context(campaign_id):
        retried = await off_loop(
            retry_campaign,
            services.campaigns,
            services.contacts,
            services.follower,
            campaign_id,
            retry,
        )
    view = retried.view
    if not retried.replayed:
        with campaign_context(view.id):
            view = await request.app[RUNTIME].supervisor.run_now(view.id)
    return web.json_response(
        view.as_dict(),
        status=200 if retried.replayed else 201,
        headers={"Location": f"/campaigns/{view.id}"},
    )
