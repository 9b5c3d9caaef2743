"""Request handlers: parse the request, call the application (off the loop), answer JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TypeVar
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, ValidationError

from adapters.contact_csv import contact_report_csv
from adapters.http_api.context import ApiContext
from adapters.http_api.errors import not_found, validation_problem
from adapters.http_api.keys import CONTEXT, OPENAPI, RUNTIME
from adapters.http_api.schemas import (
    CampaignsQuery,
    CancelIn,
    ContactsQuery,
    HistoryQuery,
    StoredEventsQuery,
)
from adapters.http_api.uploads import read_json
from adapters.logging_setup import campaign_context
from app.blocking import off_loop
from app.campaigns import CampaignsApp
from app.read_models import CampaignContacts
from app.views import ContactReport

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
        if facts.status is query.status and facts.position > query.cursor
    ]
    page = matching[: query.limit]
    return _json(await off_loop(_views_page, campaigns, page, len(matching) > query.limit))


async def show_campaign(request: web.Request) -> web.Response:
    """GET /campaigns/{id}: the campaign's view (cached until the campaign changes)."""
    body = await request.app[CONTEXT].view_cache.view(_campaign_id(request))
    return web.Response(body=body, content_type="application/json")


async def pause_campaign(request: web.Request) -> web.Response:
    """POST /campaigns/{id}/pause: 200 paused; 202 if the run has not reached a boundary yet."""
    campaign_id = _campaign_id(request)
    with campaign_context(campaign_id):
        result = await request.app[RUNTIME].supervisor.pause(campaign_id)
    # 202: the lane is mid-send past the command's wait; it pauses at its next boundary.
    return web.json_response(result.view.as_dict(), status=202 if result.pending else 200)


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
        result = await request.app[RUNTIME].supervisor.cancel(campaign_id, body.reason)
    return web.json_response(result.view.as_dict(), status=202 if result.pending else 200)


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


CSV_PAGE = 1000


def _contacts_query(request: web.Request) -> ContactsQuery:
    values: dict[str, object] = dict(request.query)
    for name in ("outcome", "delivery"):
        if name in request.query:
            given = request.query.getall(name)
            values[name] = [v.strip() for text in given for v in text.split(",") if v.strip()]
    try:
        return ContactsQuery.model_validate(values)
    except ValidationError as error:
        raise validation_problem(error) from None


def _page(
    contacts: CampaignContacts, campaign_id: UUID, query: ContactsQuery, after: int, limit: int
) -> list[ContactReport]:
    outcomes = frozenset(query.outcome) if query.outcome is not None else None
    delivery = frozenset(query.delivery) if query.delivery is not None else None
    return contacts.page(
        campaign_id, after_index=after, limit=limit, outcomes=outcomes, delivery=delivery
    )


def _known_campaign(context: ApiContext, campaign_id: UUID) -> None:
    # Caught up first, so that a client reads its own writes.
    context.follower.catch_up()
    if context.contacts.campaign_size(campaign_id) is None:
        raise not_found(f"no campaign with id {str(campaign_id)!r}")


def _contacts_json(context: ApiContext, campaign_id: UUID, query: ContactsQuery) -> bytes:
    _known_campaign(context, campaign_id)
    after = -1 if query.cursor is None else query.cursor
    rows = _page(context.contacts, campaign_id, query, after, query.limit + 1)
    page = rows[: query.limit]
    more = len(rows) > query.limit
    return _encoded(
        {
            "items": [report.as_dict() for report in page],
            "next_cursor": page[-1].index if more and page else None,
        }
    )


def _csv_part(
    contacts: CampaignContacts, campaign_id: UUID, query: ContactsQuery, after: int
) -> tuple[bytes, int | None]:
    rows = _page(contacts, campaign_id, query, after, CSV_PAGE)
    text = contact_report_csv(rows, header=after == _start(query))
    return text.encode(), rows[-1].index if len(rows) == CSV_PAGE else None


def _start(query: ContactsQuery) -> int:
    return -1 if query.cursor is None else query.cursor


async def campaign_contacts(request: web.Request) -> web.StreamResponse:
    """GET /campaigns/{id}/contacts: a page of contacts; the whole report as CSV if asked.

    Read from the per-contact read model, caught up with the store first. The CSV is
    streamed a thousand rows at a time, so a large campaign is never held whole.
    """
    campaign_id = _campaign_id(request)
    query = _contacts_query(request)
    context = request.app[CONTEXT]
    if "text/csv" not in request.headers.get("Accept", ""):
        return _json(await off_loop(_contacts_json, context, campaign_id, query))
    await off_loop(_known_campaign, context, campaign_id)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="campaign-{campaign_id}-contacts.csv"',
        }
    )
    await response.prepare(request)
    after: int | None = _start(query)
    while after is not None:
        part, after = await off_loop(_csv_part, context.contacts, campaign_id, query, after)
        await response.write(part)
    await response.write_eof()
    return response


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
