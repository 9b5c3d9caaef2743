"""The log follower's subscribers for notifications: campaign events to tell, and what is open.

Both only read: they never write to the store and never raise, so a catch-up made for a
page of contacts is never slowed or broken by notifications.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from uuid import UUID

from app.campaigns import CampaignsApp
from app.log_follower import Followed
from domain.campaign import Campaign
from domain.notification import NOTIFIER_ID, STALE_ATTEMPT, Notification, Notifier

KINDS: Final[dict[type[Campaign.Event], str]] = {
    Campaign.CampaignPaused: "campaign.paused",
    Campaign.CampaignCompleted: "campaign.completed",
    Campaign.CampaignCancelled: "campaign.cancelled",
}
NOTIFIED_TOPICS: Final = frozenset(kind.TOPIC for kind in KINDS)
NOTIFICATION_TOPICS: Final = frozenset(
    kind.TOPIC
    for kind in (
        Notification.NotificationDue,
        Notification.DeliveryStarted,
        Notification.DeliverySucceeded,
        Notification.DeliveryFailed,
    )
)
_PAGE: Final = 1000


class CampaignEventsToNotify:
    """The log follower's subscriber: collects pauses, completions and cancellations."""

    topics = NOTIFIED_TOPICS

    def __init__(self, campaigns: CampaignsApp) -> None:
        self._campaigns = campaigns
        self._lock = threading.Lock()
        self._found: list[Followed] = []
        self._reached = 0

    def start(self) -> int:
        """Collect what was recorded since the Notifier's position; return the log's head.

        Read here with this subscriber's own topics, so that the shared follower never
        reads the whole log again for it.
        """
        notifier: Notifier = self._campaigns.repository.get(NOTIFIER_ID)
        head = self._campaigns.recorder.max_notification_id() or 0
        found = _followed(self._campaigns, self.topics, after=notifier.position, head=head)
        self.apply(found, head)
        return head

    def apply(self, batch: Sequence[Followed], reached: int) -> None:
        """Keep the events for the sender; never raises, never writes."""
        with self._lock:
            self._found.extend(batch)
            self._reached = max(self._reached, reached)

    def take(self) -> tuple[list[Followed], int]:
        """Return (and forget) what was collected, and the log position it covers."""
        with self._lock:
            found, self._found = self._found, []
            return found, self._reached

    def put_back(self, found: Sequence[Followed]) -> None:
        """Keep events that could not be recorded, for the next try."""
        with self._lock:
            self._found[:0] = found


@dataclass
class _Open:
    next_at: datetime | None  # None: an attempt is under way since `started_at`
    started_at: datetime | None = None


class PendingNotifications:
    """The log follower's subscriber: which notifications are still to deliver, and when."""

    topics = NOTIFICATION_TOPICS

    def __init__(self, campaigns: CampaignsApp) -> None:
        self._campaigns = campaigns
        self._lock = threading.Lock()
        self._open: dict[UUID, _Open] = {}

    def start(self) -> int:
        """Fold every notification event there is (this subscriber's topics only)."""
        head = self._campaigns.recorder.max_notification_id() or 0
        with self._lock:
            self._open.clear()
        self.apply(_followed(self._campaigns, self.topics, after=0, head=head), head)
        return head

    def apply(self, batch: Sequence[Followed], reached: int) -> None:  # noqa: ARG002 - protocol
        """Fold the notifications' events; never raises."""
        with self._lock:
            for followed in batch:
                self._fold(followed.event)

    def _fold(self, domain_event: object) -> None:
        match domain_event:
            case Notification.NotificationDue(originator_id=found, at=at):
                self._open[found] = _Open(at)
            case Notification.DeliveryStarted(originator_id=found, at=at):
                self._open[found] = _Open(None, at)
            case Notification.DeliverySucceeded(originator_id=found):
                self._open.pop(found, None)
            case Notification.DeliveryFailed(originator_id=found, retry_at=None):
                self._open.pop(found, None)
            case Notification.DeliveryFailed(originator_id=found, retry_at=retry_at):
                self._open[found] = _Open(retry_at)

    def due(self, now: datetime) -> list[UUID]:
        """Return the notifications to attempt now: due, or left under way too long."""
        with self._lock:
            return [
                found
                for found, state in self._open.items()
                if (state.next_at is not None and state.next_at <= now)
                or (state.started_at is not None and now - state.started_at >= STALE_ATTEMPT)
            ]

    def open_count(self) -> int:
        """Return how many notifications are not yet delivered or given up on."""
        with self._lock:
            return len(self._open)


def _followed(
    campaigns: CampaignsApp, topics: frozenset[str], *, after: int, head: int
) -> list[Followed]:
    found: list[Followed] = []
    while after < head:
        page = campaigns.recorder.select_notifications(
            start=after, limit=_PAGE, stop=head, topics=sorted(topics), inclusive_of_start=False
        )
        found.extend(Followed(n.id, campaigns.mapper.to_domain_event(n)) for n in page)
        if len(page) < _PAGE:
            break
        after = page[-1].id
    return found
