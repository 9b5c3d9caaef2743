"""The audit page: the store's event feed (live), and verification on demand."""

from __future__ import annotations

from dataclasses import replace
from typing import Final
from uuid import UUID

from aiohttp import web

from adapters.console.audit_feed import PER_PAGE, CampaignName, EventFeed, event_feed, findings
from adapters.console.keys import ConsoleState
from adapters.console.pages.common import context_of, state_of, whole
from adapters.console.rendering import fragment, live_answer, live_region, page
from adapters.http_api.context import ApiContext
from app.audit.read_model_check import read_model_position, read_model_violations
from app.audit.verify import CampaignAudit, audit_campaign, campaign_ids_in_log
from app.blocking import off_loop
from app.errors import CampaignNotFoundError
from domain.delivery import deliveries_id

REGION: Final = "audit-live"
URL: Final = "/ui/audit/live"


def _names(state: ConsoleState) -> dict[UUID, CampaignName]:
    names: dict[UUID, CampaignName] = {}
    for record in state.records.scheduled():
        named = CampaignName(record.id, record.name)
        names[record.id] = named
        names[deliveries_id(record.id)] = named
    return names


def _feed(context: ApiContext, state: ConsoleState, before: int | None) -> EventFeed:
    context.follower.catch_up()
    head = context.campaigns.recorder.max_notification_id() or 0
    upper = head if before is None else min(before - 1, head)
    after = max(0, upper - PER_PAGE)
    events = [
        e
        for e in context.campaigns.stored_events(after=after, limit=PER_PAGE)
        if e.position <= upper
    ]
    return event_feed(events, _names(state), head=head, before=before)


async def audit_page(request: web.Request) -> web.StreamResponse:
    """GET /ui/audit: the newest events (live), or older ones with ?before=POSITION."""
    before = request.query.get("before")
    feed = await off_loop(
        _feed, context_of(request), state_of(request), whole(before, 0) if before else None
    )
    inner = fragment(request, "parts/event_rows.html", {"feed": feed})
    events = live_region(REGION, URL, inner) if feed.latest else inner
    return page(request, "audit.html", {"feed": feed, "events": events, "verified": None})


async def audit_live(request: web.Request) -> web.StreamResponse:
    """GET /ui/audit/live: the newest events, when there are new ones."""
    feed = await off_loop(_feed, context_of(request), state_of(request), None)
    inner = fragment(request, "parts/event_rows.html", {"feed": feed})
    return live_answer(request, REGION, URL, inner)


def _verify(context: ApiContext, campaign_id: UUID | None) -> tuple[list[CampaignAudit], str]:
    """Check each campaign's log, and the read model's rows when it is current (as `verify`)."""
    campaigns = context.campaigns
    context.follower.catch_up()
    ids = [campaign_id] if campaign_id is not None else campaign_ids_in_log(campaigns)
    audits = [audit_campaign(campaigns, found) for found in ids]
    where = read_model_position(campaigns, context.contacts)
    if where.behind:
        note = (
            f"The per-contact read model is {where.behind:,} events behind the log: its rows "
            "were not compared this time."
        )
        return audits, note
    checked = [
        replace(
            a,
            violations=[
                *a.violations,
                *read_model_violations(campaigns, context.contacts, a.campaign_id),
            ],
        )
        for a in audits
    ]
    return checked, "The per-contact read model was compared with the log, row by row."


async def verify_page(request: web.Request) -> web.StreamResponse:
    """GET /ui/audit/verify[?campaign=ID]: check one campaign's log, or every campaign's."""
    given = request.query.get("campaign", "").strip()
    campaign_id = None
    if given:
        try:
            campaign_id = UUID(given)
        except ValueError:
            raise web.HTTPNotFound from None
    context = context_of(request)
    state = state_of(request)
    try:
        audits, note = await off_loop(_verify, context, campaign_id)
    except CampaignNotFoundError:
        raise web.HTTPNotFound from None
    feed = await off_loop(_feed, context, state, None)
    inner = fragment(request, "parts/event_rows.html", {"feed": feed})
    values = {
        "feed": feed,
        "events": live_region(REGION, URL, inner),
        "verified": findings(audits, _names(state)),
        "verify_note": note,
        "verify_target": campaign_id,
    }
    return page(request, "audit.html", values)
