"""Request handlers: parse the request, call the application (off the loop), answer JSON."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from typing import Any, TypeVar
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, ValidationError

from adapters.http_api.contacts_csv import contact_report_csv, parse_contacts_csv
from adapters.http_api.errors import invalid_input, not_found, validation_problem
from adapters.http_api.keys import METRICS, OPENAPI, RUNTIME
from adapters.http_api.schemas import (
    CampaignFields,
    CampaignIn,
    CampaignsQuery,
    CancelIn,
    HistoryQuery,
    StoredEventsQuery,
)
from adapters.http_api.uploads import read_form, read_json
from adapters.logging_setup import CAMPAIGN_ID
from app.audience import ContactInput
from app.bootstrap import Services
from app.campaigns import CampaignsApp, ScheduleCampaign
from domain.content import ImageReference
from domain.errors import DomainError, IllegalTransitionError
from domain.lifecycle import CampaignStatus
from domain.pacing import CampaignOptions, Pacing

M = TypeVar("M", bound=BaseModel)
_MAX_ID_ECHO = 64


def _query(request: web.Request, model: type[M]) -> M:
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as error:
        raise validation_problem(error) from None


def _campaign_id(request: web.Request) -> UUID:
    text = request.match_info["campaign_id"]
    try:
        return UUID(text)
    except ValueError:
        # Not a UUID cannot name a campaign: to a client that is the same as unknown.
        raise not_found(f"no campaign with id {text[:_MAX_ID_ECHO]!r}") from None


@contextlib.contextmanager
def _about(campaign_id: UUID) -> Iterator[None]:
    """Tag log records (and runs spawned meanwhile, which copy the context) with the campaign."""
    token = CAMPAIGN_ID.set(str(campaign_id))
    try:
        yield
    finally:
        CAMPAIGN_ID.reset(token)


# -- scheduling -----------------------------------------------------------------------------------


def _schedule_command(
    services: Services, fields: CampaignFields, contacts: Sequence[ContactInput]
) -> ScheduleCampaign:
    """Return the command for the request; reads the media store, so run it off the loop."""
    problems: list[dict[str, object]] = []
    pacing = Pacing()
    try:
        pacing = Pacing(fields.pacing.min_seconds, fields.pacing.max_seconds)
    except DomainError as error:
        problems.append({"field": "pacing", "reason": str(error)})
    options = CampaignOptions()
    try:
        options = CampaignOptions(**fields.options.model_dump())
    except DomainError as error:
        problems.append({"field": "options", "reason": str(error)})
    image = None
    media_id = fields.message.media_id
    if media_id is not None:
        try:
            stored = services.media.describe(media_id)
        except KeyError:
            problems.append(
                {
                    "field": "message.media_id",
                    "value": media_id[:_MAX_ID_ECHO],
                    "reason": "no such image; upload it with POST /media first",
                }
            )
        else:
            image = ImageReference(stored.id, stored.sha256, stored.mimetype, stored.size)
    if problems:
        raise invalid_input("the campaign is not valid", problems)
    return ScheduleCampaign(
        name=fields.name,
        text=fields.message.text,
        contacts=contacts,
        session=fields.session,
        defaults=fields.message.defaults,
        image=image,
        scheduled_for=fields.scheduled_for,
        pacing=pacing,
        options=options,
    )


async def _campaign_from_form(
    request: web.Request, limit: int
) -> tuple[CampaignFields, list[ContactInput]]:
    form = await read_form(request, {"campaign", "contacts"}, limit)
    missing = [
        {"field": f, "reason": "required"} for f in ("campaign", "contacts") if f not in form
    ]
    if missing:
        raise invalid_input("the form lacks a field", missing)
    try:
        fields = CampaignFields.model_validate_json(form["campaign"])
    except ValidationError as error:
        raise validation_problem(error) from None
    contacts = await asyncio.to_thread(parse_contacts_csv, form["contacts"])
    return fields, contacts


async def create_campaign(request: web.Request) -> web.Response:
    """POST /campaigns: schedule a campaign (JSON, or a form with a contacts CSV); start if due."""
    runtime = request.app[RUNTIME]
    services = runtime.services
    fields: CampaignFields
    if request.content_type == "multipart/form-data":
        limit = services.settings.campaigns_max_upload_bytes
        fields, contacts = await _campaign_from_form(request, limit)
    else:
        body = await read_json(request, CampaignIn)
        fields = body
        contacts = [ContactInput(c.phone, c.name, c.variables) for c in body.contacts]
    command = await asyncio.to_thread(_schedule_command, services, fields, contacts)
    scheduled = await asyncio.to_thread(services.campaigns.schedule_campaign, command)
    campaign_id = scheduled.view.id
    with _about(campaign_id):
        view = await runtime.supervisor.run_now(campaign_id)
    body_out = view.as_dict() | {"duplicates": [asdict(d) for d in scheduled.duplicates]}
    return web.json_response(body_out, status=201, headers={"Location": f"/campaigns/{view.id}"})


# -- campaigns ------------------------------------------------------------------------------------


def _campaigns_page(campaigns: CampaignsApp, query: CampaignsQuery) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    last = None
    after = query.cursor
    while page := campaigns.campaign_ids(after=after, limit=max(query.limit, 100)):
        for position, campaign_id in page:
            view = campaigns.campaign(campaign_id)
            if query.status is not None and view.status != query.status:
                continue
            if len(items) == query.limit:
                return {"items": items, "next_cursor": last}
            items.append(view.as_dict())
            last = position
        after = page[-1][0]
    return {"items": items, "next_cursor": None}


async def list_campaigns(request: web.Request) -> web.Response:
    """GET /campaigns: campaigns oldest first, optionally by status, a page at a time."""
    query = _query(request, CampaignsQuery)
    campaigns = request.app[RUNTIME].services.campaigns
    return web.json_response(await asyncio.to_thread(_campaigns_page, campaigns, query))


async def show_campaign(request: web.Request) -> web.Response:
    """GET /campaigns/{id}: the campaign's view."""
    campaign_id = _campaign_id(request)
    campaigns = request.app[RUNTIME].services.campaigns
    view = await asyncio.to_thread(campaigns.campaign, campaign_id)
    return web.json_response(view.as_dict())


async def pause_campaign(request: web.Request) -> web.Response:
    """POST /campaigns/{id}/pause: 200 paused; 202 if the run has not reached a boundary yet."""
    campaign_id = _campaign_id(request)
    with _about(campaign_id):
        view = await request.app[RUNTIME].supervisor.pause(campaign_id)
    if view.status == CampaignStatus.PAUSED:
        return web.json_response(view.as_dict())
    if view.status == CampaignStatus.RUNNING:
        # The run is mid-send past the supervisor's wait: it pauses at its next boundary.
        return web.json_response(view.as_dict(), status=202)
    # The run finished (or was cancelled) before it could pause.
    raise IllegalTransitionError("pause", view.status)


async def resume_campaign(request: web.Request) -> web.Response:
    """POST /campaigns/{id}/resume: run a paused campaign again from its paused contact."""
    campaign_id = _campaign_id(request)
    with _about(campaign_id):
        view = await request.app[RUNTIME].supervisor.resume(campaign_id)
    return web.json_response(view.as_dict())


async def cancel_campaign(request: web.Request) -> web.Response:
    """POST /campaigns/{id}/cancel: end the campaign for good; body {reason} optional."""
    campaign_id = _campaign_id(request)
    body = await read_json(request, CancelIn) if request.body_exists else CancelIn()
    with _about(campaign_id):
        view = await request.app[RUNTIME].supervisor.cancel(campaign_id, body.reason)
    return web.json_response(view.as_dict())


async def campaign_events(request: web.Request) -> web.Response:
    """GET /campaigns/{id}/events: the campaign's events in version order, a page at a time."""
    campaign_id = _campaign_id(request)
    query = _query(request, HistoryQuery)
    campaigns = request.app[RUNTIME].services.campaigns
    entries = await asyncio.to_thread(
        campaigns.history, campaign_id, after_version=query.after_version, limit=query.limit + 1
    )
    page = entries[: query.limit]
    more = len(entries) > query.limit
    return web.json_response(
        {
            "items": [entry.as_dict() for entry in page],
            "next_after_version": page[-1].version if more else None,
        }
    )


async def campaign_contacts(request: web.Request) -> web.Response:
    """GET /campaigns/{id}/contacts: each contact's outcome; CSV with Accept: text/csv."""
    campaign_id = _campaign_id(request)
    campaigns = request.app[RUNTIME].services.campaigns
    reports = await asyncio.to_thread(campaigns.contact_reports, campaign_id)
    if "text/csv" in request.headers.get("Accept", ""):
        return web.Response(
            text=contact_report_csv(reports),
            content_type="text/csv",
            charset="utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="campaign-{campaign_id}-contacts.csv"'
            },
        )
    return web.json_response({"items": [report.as_dict() for report in reports]})


# -- the store, media and the service -------------------------------------------------------------


async def stored_events(request: web.Request) -> web.Response:
    """GET /events: every event of the store in commit order, for auditors and read models."""
    query = _query(request, StoredEventsQuery)
    campaigns = request.app[RUNTIME].services.campaigns
    events = await asyncio.to_thread(
        campaigns.stored_events, after=query.after, limit=query.limit + 1
    )
    page = events[: query.limit]
    more = len(events) > query.limit
    return web.json_response(
        {
            "items": [event.as_dict() for event in page],
            "next_after": page[-1].position if more else None,
        }
    )


async def upload_media(request: web.Request) -> web.Response:
    """POST /media: store an image (checked by its bytes) under the id of its content."""
    services = request.app[RUNTIME].services
    limit = services.settings.campaigns_max_upload_bytes
    form = await read_form(request, {"file"}, limit)
    if "file" not in form:
        raise invalid_input("the form lacks a field", [{"field": "file", "reason": "required"}])
    stored = await asyncio.to_thread(services.media.save, form["file"])
    return web.json_response(asdict(stored), status=201)


async def healthz(_request: web.Request) -> web.Response:
    """GET /healthz: the service answers."""
    return web.json_response({"status": "ok"})


async def metrics(request: web.Request) -> web.Response:
    """GET /metrics: Prometheus text; the campaign figures are read from the store now."""
    exposition = await asyncio.to_thread(request.app[METRICS].exposition)
    return web.Response(
        body=exposition, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}
    )


async def openapi(request: web.Request) -> web.Response:
    """GET /openapi.json: this API, described from its pydantic models."""
    return web.json_response(request.app[OPENAPI])
