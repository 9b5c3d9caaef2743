"""The campaigns page and its live results."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from adapters.console import commands
from adapters.console.campaign_list import CampaignList, campaign_list, status_of
from adapters.console.pages.common import context_of, runtime_of, state_of, whole
from adapters.console.rendering import fragment, live_answer, live_region, page
from app.blocking import off_loop
from app.views import CampaignView

REGION = "campaigns-live"


async def _listing(request: web.Request) -> CampaignList:
    facts = await commands.campaign_facts(runtime_of(request))
    context = context_of(request)
    state = state_of(request)

    def load(campaign_id: UUID) -> CampaignView:
        known = facts.get(campaign_id)
        return state.views.view(campaign_id, known.version if known is not None else None)

    return await off_loop(
        campaign_list,
        state.records.scheduled(),
        facts,
        load,
        status=status_of(request.query.get("status", "")),
        query=request.query.get("q", ""),
        page=whole(request.query.get("page"), 1),
        now=context.clock.now(),
    )


def _url(listing: CampaignList) -> str:
    query = listing.query_string
    return "/ui/campaigns/live" + (f"?{query}" if query else "")


async def campaigns_page(request: web.Request) -> web.StreamResponse:
    """GET /ui/ and /ui/campaigns: every campaign, filtered, a page at a time, live."""
    listing = await _listing(request)
    inner = fragment(request, "parts/campaign_results.html", {"listing": listing})
    results = live_region(REGION, _url(listing), inner)
    return page(request, "campaigns.html", {"listing": listing, "results": results})


async def campaigns_live(request: web.Request) -> web.StreamResponse:
    """GET /ui/campaigns/live: the results part, when it changed."""
    listing = await _listing(request)
    inner = fragment(request, "parts/campaign_results.html", {"listing": listing})
    return live_answer(request, REGION, _url(listing), inner)
