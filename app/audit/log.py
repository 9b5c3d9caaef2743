"""The stored log as the audit reads it: event times and data, campaign topics, log pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any, Final
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import ApplicationRecorder, Notification

from app.campaigns import CampaignsApp
from app.views import jsonable
from domain.campaign import Campaign

Event = DomainEventProtocol[UUID]
CAMPAIGN_TOPICS: Final = "waha_campaigns:Campaign."
# The names `events --type` accepts: every concrete event a campaign records.
CAMPAIGN_EVENT_TYPES: Final = tuple(
    name
    for name, value in vars(Campaign).items()
    if isinstance(value, type)
    and issubclass(value, Campaign.Event)
    and value not in {Campaign.Event, Campaign.Created}
)
PAGE_SIZE: Final = 5000


def event_time(domain_event: Event) -> datetime:
    """Return when the event happened: its business time (the Clock's) or else its record time."""
    at = getattr(domain_event, "at", None)
    if isinstance(at, datetime):
        return at
    recorded: datetime = getattr(domain_event, "timestamp")  # noqa: B009 - not on the Protocol
    return recorded


def exported(value: Any) -> Any:
    """Return `value` as JSON-native data, decimals as their text (as the store keeps them)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): exported(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [exported(v) for v in value]
    return jsonable(value)


def is_campaign(app: CampaignsApp, campaign_id: UUID) -> bool:
    """Return whether `campaign_id` has a campaign's events (read, never rebuilt)."""
    first = app.recorder.select_events(campaign_id, limit=1)
    return bool(first) and first[0].topic.startswith(CAMPAIGN_TOPICS)


def notifications(
    recorder: ApplicationRecorder, page_size: int = PAGE_SIZE
) -> Iterator[Notification]:
    """Yield the whole notification log in order, a page at a time."""
    after = 0
    while page := recorder.select_notifications(
        start=after, limit=page_size, inclusive_of_start=False
    ):
        yield from page
        after = page[-1].id
