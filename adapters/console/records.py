"""What the console reads of every campaign without loading it: its schedule and milestones.

The campaigns list searches names and the campaign page tells the timeline; loading each
campaign (or replaying a 100,000-contact log) for that would be slow. This read model follows
the store's log for the few events that matter (scheduled, started, paused, resumed,
withheld, completed, cancelled), which stay few however many contacts a campaign has.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Final
from uuid import UUID

from app.audit.log import Event
from app.audit.timeline import Milestone, timeline
from app.campaigns import CampaignsApp
from app.log_follower import Followed
from domain.audience import Audience
from domain.campaign import Campaign
from domain.contacts import Contact

MILESTONE_EVENTS: Final = (
    Campaign.CampaignScheduled,
    Campaign.CampaignStarted,
    Campaign.CampaignPaused,
    Campaign.CampaignResumed,
    Campaign.AutoResumeWithheld,
    Campaign.CampaignCompleted,
    Campaign.CampaignCancelled,
)
MILESTONE_TOPICS: Final = frozenset(e.TOPIC for e in MILESTONE_EVENTS)
_PAGE: Final = 1000


@dataclass(frozen=True)
class ScheduledRecord:
    """A campaign as scheduled: what never changes, and where it sits in the log."""

    id: UUID
    position: int
    name: str
    session: str

    @property
    def folded_name(self) -> str:
        """The name as a search compares it."""
        return self.name.casefold()


def fold_recorded(
    campaigns: CampaignsApp, topics: Collection[str], fold: Callable[[Followed], None]
) -> int:
    """Fold every recorded event of `topics` up to the store's head; return that position."""
    recorder = campaigns.recorder
    head = recorder.max_notification_id() or 0
    after = 0
    while after < head:
        page = recorder.select_notifications(
            start=after, limit=_PAGE, stop=head, topics=sorted(topics), inclusive_of_start=False
        )
        if not page:
            break
        for notification in page:
            fold(Followed(notification.id, campaigns.mapper.to_domain_event(notification)))
        after = page[-1].id
    return head


class CampaignRecords:
    """Every campaign's schedule and milestone events, kept current by the log follower.

    Blocking (it reads the store when it starts): the follower calls it off the event loop.
    """

    topics = MILESTONE_TOPICS

    def __init__(self, campaigns: CampaignsApp) -> None:
        self._campaigns = campaigns
        self._scheduled: dict[UUID, ScheduledRecord] = {}
        self._events: dict[UUID, list[Event]] = {}
        self._position: int | None = None
        self._lock = threading.Lock()

    # -- the follower's subscriber ------------------------------------------------------------

    def start(self) -> int:
        """Read the milestones recorded so far (first time only); return the position reached."""
        if self._position is None:
            self._position = fold_recorded(self._campaigns, MILESTONE_TOPICS, self._fold)
        return self._position

    def apply(self, batch: Sequence[Followed], reached: int) -> None:
        """Fold the new milestones in."""
        for followed in batch:
            self._fold(followed)
        self._position = reached

    def _fold(self, followed: Followed) -> None:
        event = followed.event
        campaign_id = event.originator_id
        with self._lock:
            known = self._events.get(campaign_id)
            if isinstance(event, Campaign.CampaignScheduled):
                if known is None:
                    self._scheduled[campaign_id] = ScheduledRecord(
                        campaign_id, followed.position, event.name, event.session
                    )
                    self._events[campaign_id] = [event]
            elif known is not None and event.originator_version > known[-1].originator_version:
                known.append(event)

    # -- what the pages ask -------------------------------------------------------------------

    def scheduled(self) -> list[ScheduledRecord]:
        """Return every campaign as scheduled, newest first."""
        with self._lock:
            found = list(self._scheduled.values())
        return sorted(found, key=lambda r: r.position, reverse=True)

    def get(self, campaign_id: UUID) -> ScheduledRecord | None:
        """Return one campaign as scheduled, if known."""
        return self._scheduled.get(campaign_id)

    def milestones(self, campaign_id: UUID) -> list[Milestone]:
        """Return the campaign's milestones in order (empty if it is not known yet)."""
        with self._lock:
            events = list(self._events.get(campaign_id, ()))
        if not events:
            return []
        return timeline(events).milestones


class SampleContacts:
    """The first contact of each campaign's frozen audience, to render a sample message with.

    Audiences never change, so each is read once: one chunk of the audience's log, not the
    whole audience. Blocking: call it off the event loop.
    """

    def __init__(self, campaigns: CampaignsApp, size: int = 1024) -> None:
        self._campaigns = campaigns
        self._size = size
        self._found: dict[UUID, Contact | None] = {}
        self._lock = threading.Lock()

    def first(self, audience_id: UUID) -> Contact | None:
        """Return the audience's first contact, or None if it has none (or is not there)."""
        with self._lock:
            if audience_id in self._found:
                return self._found[audience_id]
        found = self._read(audience_id)
        with self._lock:
            if len(self._found) >= self._size:
                self._found.pop(next(iter(self._found)))
            self._found[audience_id] = found
        return found

    def _read(self, audience_id: UUID) -> Contact | None:
        # Version 1 froze the audience; version 2 holds its first chunk of contacts.
        stored = self._campaigns.recorder.select_events(audience_id, gt=1, limit=1)
        if not stored:
            return None
        event = self._campaigns.mapper.to_domain_event(stored[0])
        if not isinstance(event, Audience.ContactsAdded) or not event.contacts:
            return None
        return Contact.from_record(event.contacts[0])
