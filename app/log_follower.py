"""One reader of the store's notification log that hands each new event to every read model.

Read models used to tail the log each on its own, decoding the same events again and
reloading whole aggregates; here the log is read once, in pages, each event decoded once,
and every subscriber gets the events it asked for in commit order.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import IntegrityError, Notification

from app.blocking import off_loop
from app.campaigns import CampaignsApp
from app.ports import Sleeper

log = logging.getLogger("waha_campaigns.log_follower")

PAGE_SIZE = 1000
# How often `follow` looks for events other processes recorded (this process's readers
# catch up on demand, so they always read their own writes).
FOLLOW_INTERVAL_SECONDS = 0.1


@dataclass(frozen=True)
class Followed:
    """One recorded event and its place in the store's log (its notification id)."""

    position: int
    event: DomainEventProtocol[UUID]


class Subscriber(Protocol):
    """A read model kept current by the follower."""

    @property
    def topics(self) -> Collection[str]:
        """The topics of the events it needs; others are never read for it."""
        ...

    def start(self) -> int:
        """Get ready and return the log position it has applied so far (0: nothing yet).

        Called when it joins, and again after its `apply` raised.
        """
        ...

    def apply(self, batch: Sequence[Followed], reached: int) -> None:
        """Apply `batch` (its topics only, in commit order); it is now current up to `reached`.

        `reached` may lie past the batch's last event: the events between were of other
        topics. Raising leaves it where it was; it is started again on the next catch-up.
        """
        ...


@dataclass
class _Member:
    subscriber: Subscriber
    position: int | None = None  # None: to be (re)started


Progress = Callable[[int, int], None]


class LogFollower:
    """Reads what is new in the log after its subscribers' positions and hands it to them.

    Blocking (it reads the store): call `catch_up` off the event loop, or run `follow`.
    """

    def __init__(self, campaigns: CampaignsApp, *, page_size: int = PAGE_SIZE) -> None:
        self._campaigns = campaigns
        self._page_size = page_size
        self._members: list[_Member] = []
        self._lock = threading.Lock()
        self._head = 0

    @property
    def position(self) -> int:
        """The log position the last catch-up reached."""
        return self._head

    def subscribe(self, subscriber: Subscriber) -> None:
        """Add a subscriber; it gets what it has not applied yet from the next catch-up on."""
        with self._lock:
            self._members.append(_Member(subscriber))

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stop handing events to `subscriber`."""
        with self._lock:
            self._members = [m for m in self._members if m.subscriber is not subscriber]

    def catch_up(self, progress: Progress | None = None) -> int:
        """Hand every subscriber what is new; return the log position reached.

        Cheap when nothing is new: one query for the log's last position. `progress` is told
        (position reached, log's last position) after each page, for long rebuilds.
        """
        with self._lock:
            head = self._campaigns.recorder.max_notification_id() or 0
            for member in self._members:
                if member.position is None:
                    member.position = member.subscriber.start()
            while (start := min((m.position or 0 for m in self._members), default=head)) < head:
                reached = self._page(start, head)
                if progress is not None:
                    progress(reached, head)
            self._head = head
            return head

    def _page(self, start: int, head: int) -> int:
        topics = sorted(set().union(*(m.subscriber.topics for m in self._members)))
        page = self._campaigns.recorder.select_notifications(
            start=start, limit=self._page_size, stop=head, topics=topics, inclusive_of_start=False
        )
        reached = page[-1].id if len(page) == self._page_size else head
        decoded: dict[int, Followed] = {}
        for member in self._members:
            applied = member.position or 0
            if applied >= reached:
                continue
            batch = [
                self._decoded(n, decoded)
                for n in page
                if n.id > applied and n.topic in member.subscriber.topics
            ]
            try:
                member.subscriber.apply(batch, reached)
            except IntegrityError:
                # A read model shared with other processes moved on without us (PostgreSQL):
                # nothing of this batch was applied; go on from where it says it is now.
                member.position = member.subscriber.start()
                continue
            except BaseException:
                member.position = None  # it says where it is when started again
                raise
            member.position = reached
        return reached

    def _decoded(self, notification: Notification, decoded: dict[int, Followed]) -> Followed:
        # Decoded once however many subscribers want it: decoding is most of a replay's cost.
        found = decoded.get(notification.id)
        if found is None:
            event = self._campaigns.mapper.to_domain_event(notification)
            found = decoded[notification.id] = Followed(notification.id, event)
        return found

    async def follow(self, sleeper: Sleeper, interval: float = FOLLOW_INTERVAL_SECONDS) -> None:
        """Catch up every `interval` seconds, off the loop, until cancelled.

        A failed catch-up is logged and tried again: a read model must not stop following
        because the store was briefly unreachable.
        """
        while True:
            try:
                await off_loop(self.catch_up)
            except Exception:
                log.exception("catching up with the store's log failed; trying again")
            await sleeper.sleep(interval)


# One follower per application: the supervisor builds its campaign facts itself, and they
# must follow the same log reader as the read models the composition root wires in.
_FOLLOWERS: weakref.WeakKeyDictionary[CampaignsApp, LogFollower] = weakref.WeakKeyDictionary()
_FOLLOWERS_LOCK = threading.Lock()


def follower_of(campaigns: CampaignsApp) -> LogFollower:
    """Return the one follower of `campaigns`' log in this process, made on first use."""
    with _FOLLOWERS_LOCK:
        found = _FOLLOWERS.get(campaigns)
        if found is None:
            found = _FOLLOWERS[campaigns] = LogFollower(campaigns)
        return found
