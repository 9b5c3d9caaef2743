"""A campaign's page: its live summary, its contacts table, and the contacts as CSV."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from aiohttp import web

from adapters.console import commands
from adapters.console.campaign_detail import CampaignDetail, campaign_detail
from adapters.console.contacts_table import (
    ContactsQuery,
    ContactsTable,
    contacts_query,
    contacts_table,
    page_filters,
)
from adapters.console.pages.common import campaign_id_of, context_of, runtime_of, state_of
from adapters.console.rendering import HEADERS, NO_STORE, fragment, live_answer, live_region, page
from adapters.contact_csv import contact_report_csv
from adapters.http_api.context import ApiContext
from app.audit.timeline import Milestone
from app.blocking import off_loop
from app.errors import CampaignNotFoundError
from app.read_models import CampaignContacts
from app.views import CampaignView
from domain.contacts import Contact

REGION = "campaign-live"
CSV_PAGE = 1000


@dataclass(frozen=True)
class _Read:
    view: CampaignView
    milestones: list[Milestone]
    first: Contact | None


async def _detail(request: web.Request, campaign_id: UUID) -> CampaignDetail:
    # Caught up with the log: the facts, the milestones and the contacts' rows.
    facts = await commands.campaign_facts(runtime_of(request))
    state = state_of(request)
    context = context_of(request)

    def read() -> _Read:
        view = context.campaigns.campaign(campaign_id)
        first = state.samples.first(UUID(str(view.audience["id"])))
        return _Read(view, state.records.milestones(campaign_id), first)

    try:
        found = await off_loop(read)
    except CampaignNotFoundError:
        raise web.HTTPNotFound from None
    return campaign_detail(
        found.view,
        facts.get(campaign_id),
        found.milestones,
        found.first,
        now=context.clock.now(),
        retry_offered=state.features.retry,
    )


def _table(context: ApiContext, campaign_id: UUID, query: ContactsQuery) -> ContactsTable | None:
    context.follower.catch_up()  # a client reads its own writes, as the API's contacts do
    total = context.contacts.campaign_size(campaign_id)
    if total is None:
        return None  # the read model has not listed the campaign's contacts yet
    outcomes, delivery = page_filters(query)
    rows = context.contacts.page(
        campaign_id,
        after_index=query.start - 2,
        limit=query.limit + 1,
        outcomes=outcomes,
        delivery=delivery,
    )
    return contacts_table(campaign_id, query, rows, total)


def _live_url(detail: CampaignDetail) -> str:
    return f"{detail.href}/live"


async def campaign_page(request: web.Request) -> web.StreamResponse:
    """GET /ui/campaigns/{id}: the campaign, live above, its contacts a page at a time below."""
    campaign_id = campaign_id_of(request)
    detail = await _detail(request, campaign_id)
    query = contacts_query(request.query, list(request.query.items()))
    table = await off_loop(_table, context_of(request), campaign_id, query)
    inner = fragment(request, "parts/campaign_summary.html", {"detail": detail})
    summary = live_region(REGION, _live_url(detail), inner)
    values = {"detail": detail, "summary": summary, "table": table, "query": query}
    return page(request, "campaign.html", values)


async def campaign_live(request: web.Request) -> web.StreamResponse:
    """GET /ui/campaigns/{id}/live: the summary part, when it changed."""
    detail = await _detail(request, campaign_id_of(request))
    inner = fragment(request, "parts/campaign_summary.html", {"detail": detail})
    return live_answer(request, REGION, _live_url(detail), inner)


def _csv_part(
    contacts: CampaignContacts, campaign_id: UUID, query: ContactsQuery, after: int
) -> tuple[bytes, int | None]:
    outcomes, delivery = page_filters(query)
    rows = contacts.page(
        campaign_id, after_index=after, limit=CSV_PAGE, outcomes=outcomes, delivery=delivery
    )
    text = contact_report_csv(rows, header=after == -1)
    return text.encode(), rows[-1].index if len(rows) == CSV_PAGE else None


def _size(context: ApiContext, campaign_id: UUID) -> int | None:
    context.follower.catch_up()
    return context.contacts.campaign_size(campaign_id)


async def campaign_csv(request: web.Request) -> web.StreamResponse:
    """GET /ui/campaigns/{id}/contacts.csv: every contact (filtered as shown), streamed."""
    campaign_id = campaign_id_of(request)
    context = context_of(request)
    if await off_loop(_size, context, campaign_id) is None:
        raise web.HTTPNotFound
    query = contacts_query(request.query, list(request.query.items()))
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="campaign-{campaign_id}-contacts.csv"',
            **NO_STORE,
            **HEADERS,
        }
    )
    await response.prepare(request)
    after: int | None = -1
    while after is not None:
        part, after = await off_loop(_csv_part, context.contacts, campaign_id, query, after)
        await response.write(part)
    await response.write_eof()
    return response
