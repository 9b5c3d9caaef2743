"""Request handlers: parse the request, call the application (off the loop), answer JSON."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, ValidationError

from adapters.http_api.contacts_csv import contact_report_csv
from adapters.http_api.errors import not_found, validation_problem
from adapters.http_api.keys import METRICS, OPENAPI, RUNTIME, VIEW_CACHE
from adapters.http_api.schemas import (
    CampaignsQuery,
    CancelIn,
    HistoryQuery,
    StoredEventsQuery,
)
from adapters.http_api.uploads import read_json
from adapters.logging_setup import campaign_context
from app.campaigns import CampaignsApp
from domain.errors import IllegalTransitionError
from domain.lifecycle import CampaignStatus

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
    cache = request.app[VIEW_CACHE]
    body = cache.cached(campaign_id) or await asyncio.to_thread(cache.view_json, campaign_id)
    return web.Response(body=body, content_type="application/json")


async def pause_campaign(request: web.Request) -> web.Response:
    """POST /campaigns/{id}/pause: 200 paused; 202 if the run has not reached a boundary yet."""
    campaign_id = _campaign_id(request)
    with campaign_context(campaign_id):
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
    with campaign_context(campaign_id):
        view = await request.app[RUNTIME].supervisor.resume(campaign_id)
    return web.json_response(view.as_dict())


async def cancel_campaign(request: web.Request) -> web.Response:
    """POST /campaigns/{id}/cancel: end the campaign for good; body {reason} optional."""
    campaign_id = _campaign_id(request)
    body = await read_json(request, CancelIn) if request.body_exists else CancelIn()
    with campaign_context(campaign_id):
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


# -- the store and the service --------------------------------------------------------------------


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
