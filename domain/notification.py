"""Notifications of what happened to a campaign, and every attempt to deliver each one.

One Notification per (campaign, event): its id is derived from both, so two processes that
notice one pause make one notification. Each delivery attempt is recorded before it is made
and its result after, so a restart sends again what was not delivered and never what was.
The Notifier is the log position up to which campaign events have been turned into them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import DomainError

NOTIFICATION_IDS: Final = UUID("c3e9a1d2-7b54-4f06-9d8e-2a61f0b4c7e5")
NOTIFIER_ID: Final = uuid5(NOTIFICATION_IDS, "notifier")
# What a stopped sender left unanswered is taken as failed after this long.
STALE_ATTEMPT: Final = timedelta(minutes=2)


def notification_id(campaign_id: UUID, version: int) -> UUID:
    """Return the id of the notification of the campaign's event `version`."""
    return uuid5(NOTIFICATION_IDS, f"{campaign_id}/{version}")


class NotificationClosedError(DomainError):
    """The notification was delivered, or given up on: nothing more is sent."""


class AttemptUnderWayError(DomainError):
    """An attempt to deliver it is under way (and not yet stale)."""


class Notification(Aggregate):
    """What to tell the notification URL about one campaign event, and how that went."""

    TOPIC = "waha_campaigns:Notification"
    class_version = 1

    class Event(Aggregate.Event):
        """Base of a notification's events."""

        TOPIC = "waha_campaigns:Notification.Event"

    class Created(Event, Aggregate.Created):
        """Base of a notification's creation event."""

        TOPIC = "waha_campaigns:Notification.Created"

    class NotificationDue(Created):
        """A campaign's event (a pause, completion or cancellation) is to be told.

        `version` is the event's in the campaign's log; `kind` is e.g. campaign.paused, and
        `payload` the JSON body, fixed now so that every attempt sends the same bytes.
        """

        TOPIC = "waha_campaigns:Notification.NotificationDue"
        class_version = 1
        campaign_id: UUID
        version: int
        kind: str
        payload: dict[str, Any]
        at: datetime

    class DeliveryStarted(Event):
        """Attempt `attempt` is about to be sent (recorded before the request)."""

        TOPIC = "waha_campaigns:Notification.DeliveryStarted"
        class_version = 1
        attempt: int
        at: datetime

    class DeliverySucceeded(Event):
        """The receiver took attempt `attempt` (HTTP `status`, a 2xx): nothing more is sent."""

        TOPIC = "waha_campaigns:Notification.DeliverySucceeded"
        class_version = 1
        attempt: int
        status: int
        at: datetime

    class DeliveryFailed(Event):
        """Attempt `attempt` failed: HTTP `status`, or none reached it (None), and why.

        `retry_at` is when the next attempt is due; None when no more are made.
        """

        TOPIC = "waha_campaigns:Notification.DeliveryFailed"
        class_version = 1
        attempt: int
        status: int | None
        error: str
        retry_at: datetime | None
        at: datetime

    @staticmethod
    def create_id(campaign_id: UUID, version: int) -> UUID:
        """Return the notification's id: one per campaign event."""
        return notification_id(campaign_id, version)

    @event(NotificationDue)
    def __init__(
        self, *, campaign_id: UUID, version: int, kind: str, payload: dict[str, Any], at: datetime
    ) -> None:
        self.campaign_id = campaign_id
        self.campaign_version = version
        self.kind = kind
        self.payload = payload
        self.attempts = 0
        self.under_way: dict[str, Any] | None = None  # {attempt, at}
        self.delivered_at: datetime | None = None
        self.gave_up = False
        self.next_attempt_at: datetime | None = at

    @property
    def closed(self) -> bool:
        """Whether nothing more is to be sent: delivered, or given up on."""
        return self.delivered_at is not None or self.gave_up

    def start_attempt(self, *, at: datetime) -> int:
        """Record the next attempt as under way; return its number.

        An attempt left under way past STALE_ATTEMPT (its sender stopped) is recorded as
        failed first: it may or may not have reached the receiver.
        """
        if self.closed:
            raise NotificationClosedError("the notification was delivered or given up on")
        if self.under_way is not None:
            if at - self.under_way["at"] < STALE_ATTEMPT:
                raise AttemptUnderWayError(f"attempt {self.under_way['attempt']} is under way")
            self._failed(
                attempt=int(self.under_way["attempt"]),
                status=None,
                error="no result was recorded: the sender stopped mid-delivery",
                retry_at=at,
                at=at,
            )
        self._started(attempt=self.attempts + 1, at=at)
        return self.attempts

    def succeed(self, *, attempt: int, status: int, at: datetime) -> None:
        """Record that the receiver took the attempt under way."""
        self._check_under_way(attempt)
        self._succeeded(attempt=attempt, status=status, at=at)

    def fail(
        self,
        *,
        attempt: int,
        status: int | None,
        error: str,
        retry_at: datetime | None,
        at: datetime,
    ) -> None:
        """Record that the attempt under way failed; none more when `retry_at` is None."""
        self._check_under_way(attempt)
        self._failed(attempt=attempt, status=status, error=error, retry_at=retry_at, at=at)

    def _check_under_way(self, attempt: int) -> None:
        if self.under_way is None or self.under_way["attempt"] != attempt:
            raise DomainError(f"attempt {attempt} is not the one under way")

    @event(DeliveryStarted)
    def _started(self, attempt: int, at: datetime) -> None:
        self.attempts = attempt
        self.under_way = {"attempt": attempt, "at": at}
        self.next_attempt_at = None

    @event(DeliverySucceeded)
    def _succeeded(self, attempt: int, status: int, at: datetime) -> None:
        self.under_way = None
        self.delivered_at = at

    @event(DeliveryFailed)
    def _failed(
        self, attempt: int, status: int | None, error: str, retry_at: datetime | None, at: datetime
    ) -> None:
        self.under_way = None
        self.next_attempt_at = retry_at
        self.gave_up = retry_at is None


class Notifier(Aggregate):
    """How far the store's log has been read for campaign events to notify (one, fixed id)."""

    TOPIC = "waha_campaigns:Notifier"
    class_version = 1

    class Event(Aggregate.Event):
        """Base of the notifier's events."""

        TOPIC = "waha_campaigns:Notifier.Event"

    class Created(Event, Aggregate.Created):
        """Base of the notifier's creation event."""

        TOPIC = "waha_campaigns:Notifier.Created"

    class NotifierStarted(Created):
        """Notifications were turned on: events up to `position` are never notified."""

        TOPIC = "waha_campaigns:Notifier.NotifierStarted"
        class_version = 1
        position: int
        at: datetime

    class NotificationsQueued(Event):
        """Campaign events up to log `position` are notifications now (`queued` new ones)."""

        TOPIC = "waha_campaigns:Notifier.NotificationsQueued"
        class_version = 1
        position: int
        queued: int
        at: datetime

    @staticmethod
    def create_id() -> UUID:
        """Return the notifier's one id."""
        return NOTIFIER_ID

    @event(NotifierStarted)
    def __init__(self, *, position: int, at: datetime) -> None:
        self.position = position

    def advance(self, *, position: int, queued: int, at: datetime) -> None:
        """Record that events up to `position` are queued as notifications."""
        if position <= self.position:
            raise DomainError(f"position {position} is not past {self.position}")
        self._queued(position=position, queued=queued, at=at)

    @event(NotificationsQueued)
    def _queued(self, position: int, queued: int, at: datetime) -> None:
        self.position = position
