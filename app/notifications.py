"""Notifications: a campaign that pauses, completes or is cancelled is told to a URL.

A subscriber of the log follower collects those campaign events (never writing, never
blocking a catch-up); the sender, a task of its own, turns them into Notification records
(one per campaign event, with the Notifier's log position in the same transaction) and
delivers each: every attempt is recorded before it is made and its result after, with
retries and back-off. A restart sends again what was not delivered, never what was; a
receiver that got an attempt whose result was lost gets it again, under the same id.
Automatic resumes are not told: the pause before them was.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from app.blocking import off_loop
from app.campaigns import CampaignsApp
from app.log_follower import Followed, LogFollower
from app.notification_log import KINDS, CampaignEventsToNotify, PendingNotifications
from app.ports import Clock, NotificationDeliveryError, NotificationTransport, Sleeper
from app.views import jsonable
from domain.errors import DomainError
from domain.notification import (
    NOTIFIER_ID,
    Notification,
    Notifier,
    notification_id,
)
from domain.numbering import contact_words, next_contact_words

log = logging.getLogger("waha_campaigns.notifications")

_SAVE_TRIES: Final = 3
_CAMPAIGN_FIELDS: Final = (
    "id",
    "name",
    "session",
    "status",
    "total",
    "sent",
    "failed",
    "skipped",
    "in_doubt",
    "delivered",
    "read",
    "next_index",
)


@dataclass(frozen=True)
class NotificationSettings:
    """When to try again, how often to look, and how old an event may be to be told."""

    # The waits before attempts 2, 3, ...; after the last, the notification is given up on.
    retry_seconds: tuple[float, ...] = (10, 30, 60, 300, 900, 1800, 3600, 3600, 3600)
    tick_seconds: float = 1.0
    # Events older than this when first seen (notifications turned on late, or a long stop)
    # are not told: news of last month's pauses is noise.
    max_age: timedelta = timedelta(hours=24)


class NotificationSender:
    """Records and delivers notifications, on its own task: a slow receiver holds no lane."""

    def __init__(
        self,
        campaigns: CampaignsApp,
        follower: LogFollower,
        transport: NotificationTransport,
        *,
        clock: Clock,
        sleeper: Sleeper,
        settings: NotificationSettings | None = None,
    ) -> None:
        self._campaigns = campaigns
        self._follower = follower
        self._transport = transport
        self._clock = clock
        self._sleeper = sleeper
        self.settings = settings or NotificationSettings()
        self.collected = CampaignEventsToNotify(campaigns)
        self.pending = PendingNotifications(campaigns)

    def prepare(self) -> None:
        """Record where notifying starts (the first time only) and follow the log. Blocking."""
        if not self._campaigns.recorder.select_events(NOTIFIER_ID, limit=1):
            head = self._campaigns.recorder.max_notification_id() or 0
            # Another process may start notifying at the same moment: one record stands.
            with contextlib.suppress(IntegrityError):
                self._campaigns.save(Notifier(position=head, at=self._clock.now()))
        self._follower.subscribe(self.collected)
        self._follower.subscribe(self.pending)

    async def run(self) -> None:
        """Record and deliver what is due, every tick, until cancelled."""
        while True:
            try:
                await self.deliver_due()
            except Exception:  # the loop must outlive one bad pass
                log.exception("delivering notifications failed; trying again")
            await self._sleeper.sleep(self.settings.tick_seconds)

    async def deliver_due(self) -> int:
        """Record new notifications, then make every attempt due now; return how many."""
        await off_loop(self._follower.catch_up)
        await off_loop(self.record_new)
        await off_loop(self._follower.catch_up)
        attempted = 0
        for found in self.pending.due(self._clock.now()):
            attempted += await self._attempt(found)
        return attempted

    # -- recording ---------------------------------------------------------------------------

    def record_new(self) -> int:
        """Turn the collected campaign events into notifications; return how many. Blocking."""
        found, reached = self.collected.take()
        if not found:
            return 0
        for _ in range(_SAVE_TRIES):
            notifier: Notifier = self._campaigns.repository.get(NOTIFIER_ID)
            fresh = [f for f in found if f.position > notifier.position]
            made = [n for f in fresh if (n := self._notification(f)) is not None]
            if not made:
                return 0
            notifier.advance(
                position=max(reached, fresh[-1].position), queued=len(made), at=self._now()
            )
            try:
                self._campaigns.save(*made, notifier)  # one transaction: made, and noted
            except IntegrityError:
                continue  # another process recorded some meanwhile: look again
            return len(made)
        self.collected.put_back(found)
        return 0

    def _notification(self, followed: Followed) -> Notification | None:
        domain_event = followed.event
        kind = KINDS.get(type(domain_event))  # type: ignore[arg-type]
        at: datetime | None = getattr(domain_event, "at", None)
        if kind is None or at is None or at < self._now() - self.settings.max_age:
            return None
        campaign_id, version = domain_event.originator_id, domain_event.originator_version
        if self._campaigns.recorder.select_events(notification_id(campaign_id, version), limit=1):
            return None
        return Notification(
            campaign_id=campaign_id,
            version=version,
            kind=kind,
            payload=self._payload(campaign_id, version, kind, at),
            at=self._now(),
        )

    def _payload(self, campaign_id: UUID, version: int, kind: str, at: datetime) -> dict[str, Any]:
        view = self._campaigns.campaign_at(campaign_id, version)
        deliveries = self._campaigns.deliveries_of(campaign_id)
        counts = deliveries.counts() if deliveries is not None else {}
        state = jsonable(view.as_dict())
        campaign = {name: state[name] for name in _CAMPAIGN_FIELDS if name in state}
        campaign["delivered"] = counts.get("delivered", 0)
        campaign["read"] = counts.get("read", 0)
        campaign["next_contact"] = next_contact_words(view.next_index, view.total)
        payload: dict[str, Any] = {
            "id": str(notification_id(campaign_id, version)),
            "event": kind,
            "occurred_at": at.isoformat(),
            "campaign": campaign,
        }
        if view.pause is not None:
            payload["pause"] = {
                **jsonable(state["pause"]),
                "contact": contact_words(view.pause.index, view.total),
            }
        if view.cancelled is not None:
            payload["cancelled"] = jsonable(state["cancelled"])
        return payload

    # -- delivering ---------------------------------------------------------------------------

    async def _attempt(self, found: UUID) -> int:
        started = await off_loop(self._start, found)
        if started is None:
            return 0
        attempt, kind, payload = started
        try:
            status = await self._transport.deliver(str(found), kind, attempt, payload)
        except NotificationDeliveryError as error:
            await off_loop(self._finish, found, attempt, error, None)
        else:
            await off_loop(self._finish, found, attempt, None, status)
        return 1

    def _start(self, found: UUID) -> tuple[int, str, dict[str, Any]] | None:
        notification: Notification = self._campaigns.repository.get(found)
        try:
            attempt = notification.start_attempt(at=self._now())
            self._campaigns.save(notification)
        except (DomainError, IntegrityError):
            return None  # delivered, under way here or elsewhere: not ours to send now
        return attempt, notification.kind, notification.payload

    def _finish(
        self, found: UUID, attempt: int, error: NotificationDeliveryError | None, status: int | None
    ) -> None:
        for _ in range(_SAVE_TRIES):
            notification: Notification = self._campaigns.repository.get(found)
            now = self._now()
            try:
                if error is None:
                    notification.succeed(attempt=attempt, status=status or 200, at=now)
                else:
                    retry_at = self._retry_at(attempt, now)
                    notification.fail(
                        attempt=attempt,
                        status=error.status,
                        error=str(error)[:300],
                        retry_at=retry_at,
                        at=now,
                    )
                    self._log_failure(notification, attempt, error, retry_at)
                self._campaigns.save(notification)
            except IntegrityError:
                continue
            except DomainError:
                return  # taken as stale and tried again meanwhile: that attempt decides
            return

    def _retry_at(self, attempt: int, now: datetime) -> datetime | None:
        waits = self.settings.retry_seconds
        return now + timedelta(seconds=waits[attempt - 1]) if attempt <= len(waits) else None

    def _now(self) -> datetime:
        return self._clock.now()

    @staticmethod
    def _log_failure(
        notification: Notification,
        attempt: int,
        error: NotificationDeliveryError,
        retry_at: datetime | None,
    ) -> None:
        then = f"next attempt at {retry_at.isoformat()}" if retry_at else "given up"
        log.warning(
            "notification %s (%s of campaign %s): attempt %d failed (%s); %s",
            notification.id,
            notification.kind,
            notification.campaign_id,
            attempt,
            error,
            then,
        )
