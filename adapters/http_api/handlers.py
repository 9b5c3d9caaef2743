"""Request handlers: parse the request, call the application (off the loop), answer JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TypeVar
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, ValidationError

from adapters.contact_csv import contact_report_csv
from adapters.http_api.errors import not_found, validation_problem
from adapters.http_api.keys import CONTEXT, OPENAPI, RUNTIME
from adapters.http_api.schemas import (
    CampaignsQuery,
    CancelIn,
    HistoryQuery,
    StoredEventsQuery,
)
from adapters.http_api.uploads import read_json
from adapters.logging_setup import campaign_context
from app.blocking import off_loop
from app.campaigns import CampaignsApp
from domain.errors import IllegalTransitionError
from domain.lifecycle import CampaignStatus

M = TypeVar("M", bound=BaseModel)
_MAX_ID_ECHO = 64


def _encoded(document: object) -> bytes:
    return json.dumps(document).encode()


def _json(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="application/json")


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


def _views_page(campaigns: CampaignsApp, page: Sequence[tuple[int, UUID]], more: bool) -> bytes:
    items = [campaigns.campaign(campaign_id).as_dict() for _, campaign_id in page]
    return _encoded({"items": items, "next_cursor": page[-1][0] if more and page else None})


def _campaigns_page(campaigns: CampaignsApp, query: CampaignsQuery) -> bytes:
    ids = campaigns.campaign_ids(after=query.cursor, limit=query.limit + 1)
    return _views_page(campaigns, ids[: query.limit], len(ids) > query.limit)


async def list_campaigns(request: web.Request) -> web.Response:
    """GET /campaigns: campaigns oldest first, optionally by status, a page at a time.

    The cursor is the position of the page's last campaign in the store. Filtering by status
    reads the supervisor's facts (caught up with the store first), so only the page's
    campaigns are loaded, however many campaigns there are.
    """
    query = _query(request, CampaignsQuery)
    runtime = request.app[RUNTIME]
    campaigns = request.app[CONTEXT].campaigns
    if query.status is None:
        return _json(await off_loop(_campaigns_page, campaigns, query))
    await runtime.supervisor.refresh_facts()
    matching = [
        (facts.position, facts.id)
        for facts in runtime.supervisor.facts()
        if facts.status == query.status and facts.position > query.cursor
    ]
    page = matching[: query.limit]
    return _json(await off_loop(_views_page, campaigns, page, len(matching) > query.limit))


async def show_campaign(request: web.Request) -> web.Response:
    """GET /campaigns/{id}: the campaign's view."""
    campaign_id = _campaign_id(request)
    cache = request.app[CONTEXT].view_cache
    body = cache.cached(campaign_id) or await off_loop(cache.view_json, campaign_id)
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


def _history_page(campaigns: CampaignsApp, campaign_id: UUID, query: HistoryQuery) -> bytes:
    entries = campaigns.history(campaign_id, after_version=query.after, limit=query.limit + 1)
    page = entries[: query.limit]
    cursor = page[-1].version if len(entries) > query.limit else None
    items = [entry.as_dict() for entry in page]
    # next_after_version: the older name, kept for existing clients.
    return _encoded({"items": items, "next_cursor": cursor, "next_after_version": cursor})


async def campaign_events(request: web.Request) -> web.Response:
    """GET /campaigns/{id}/events: the campaign's events in version order, a page at a time."""
    campaign_id = _campaign_id(request)
    query = _query(request, HistoryQuery)
    campaigns = request.app[CONTEXT].campaigns
    return _json(await off_loop(_history_page, campaigns, campaign_id, query))


def _contacts_json(campaigns: CampaignsApp, campaign_id: UUID) -> bytes:
    reports = campaigns.contact_reports(campaign_id)
    return _encoded({"items": [report.as_dict() for report in reports]})


def _contacts_csv(campaigns: CampaignsApp, campaign_id: UUID) -> bytes:
    return contact_report_csv(campaigns.contact_reports(campaign_id)).encode()


async def campaign_contacts(request: web.Request) -> web.Response:
    """GET /campaigns/{id}/contacts: each contact's outcome; CSV with Accept: text/csv."""
    campaign_id = _campaign_id(request)
    campaigns = request.app[CONTEXT].campaigns
    # 100,000 contacts make megabytes: read, built and encoded in a thread, never on the loop.
    if "text/csv" in request.headers.get("Accept", ""):
        return web.Response(
            body=await off_loop(_contacts_csv, campaigns, campaign_id),
            content_type="text/csv",
            charset="utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="campaign-{campaign_id}-contacts.csv"'
            },
        )
    return _json(await off_loop(_contacts_json, campaigns, campaign_id))


# -- the store and the service --------------------------------------------------------------------


def _stored_events_page(campaigns: CampaignsApp, query: StoredEventsQuery) -> bytes:
    events = campaigns.stored_events(after=query.position, limit=query.limit + 1)
    page = events[: query.limit]
    cursor = page[-1].position if len(events) > query.limit else None
    items = [event.as_dict() for event in page]
    # next_after: the older name, kept for existing clients.
    return _encoded({"items": items, "next_cursor": cursor, "next_after": cursor})


async def stored_events(request: web.Request) -> web.Response:
    """GET /events: every event of the store in commit order, for auditors and read models."""
    query = _query(request, StoredEventsQuery)
    campaigns = request.app[CONTEXT].campaigns
    return _json(await off_loop(_stored_events_page, campaigns, query))


async def healthz(_request: web.Request) -> web.Response:
    """GET /healthz: the service answers."""
    return web.json_response({"status": "ok"})


async def metrics(request: web.Request) -> web.Response:
    """GET /metrics: Prometheus text; campaign figures from the supervisor's facts, caught up."""
    supervisor = request.app[RUNTIME].supervisor
    await supervisor.refresh_facts()
    exposition = await off_loop(request.app[CONTEXT].metrics.exposition, supervisor.facts())
    return web.Response(
        body=exposition, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}
    )


async def openapi(request: web.Request) -> web.Response:
    """GET /openapi.json: this API, described from its pydantic models."""
    return web.json_response(request.app[OPENAPI])
