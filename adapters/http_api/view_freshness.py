"""Which cached campaign views are still fresh: what each recorded event changes, and when.

What a view holds, and so what makes it stale:
- its campaign's events (status, counts, pause, in flight): that campaign's view;
- its campaign's delivery record (`Deliveries`, delivered and read): that campaign's view;
- its `eta`, which shares the lane with the session's other campaigns: a campaign of the same
  session that is scheduled, starts, pauses, resumes, ends or is edited changes it, as do the
  session's settings (windows, caps). Another campaign's progress does not: each send is what
  the estimate already counted on.
Lane records (turns, lease take-ups) change no view: what a lane decides for a campaign it also
records in that campaign (its attempts, pauses, completion) in the same commit. Audiences are
written whole before their campaign; notifications and opt-outs are not in the view.

Each change takes a new stamp from one counter. A build remembers the stamp it began at, and
its view is fresh while no change of its campaign (or of every view) came after: a save racing
a rebuild is never hidden behind it. Progress (attempts, acks) is stamped apart, so that the
view as it was may still be served while it is rebuilt.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Recording

from app.campaigns import CampaignsApp
from app.log_follower import Followed
from domain.campaign import Campaign
from domain.delivery import Deliveries, deliveries_id
from domain.number_settings import SessionSettings

_PAGE_SIZE: Final = 1000
_READ_ALONE_AT_MOST: Final = 20 * _PAGE_SIZE

# A running campaign's progress: its view may be served as it was while it is rebuilt.
PROGRESS: Final = (
    Campaign.AttemptStarted,
    Campaign.ContactAttempted,
    Campaign.AttemptAbandoned,
    Campaign.PacingDelayChosen,
    Deliveries.Event,
)
# Campaign events that change only their own campaign's view; any other campaign event, a new
# kind included, may change the lane's share and so the session's ETAs.
_OWN_ONLY: Final = (
    Campaign.AttemptStarted,
    Campaign.ContactAttempted,
    Campaign.AttemptAbandoned,
    Campaign.PacingDelayChosen,
    Campaign.PauseRequested,
    Campaign.CancelRequested,
    Campaign.AutoResumeWithheld,
    Campaign.RetryScheduled,
)


def _event_topics(aggregate: type[Campaign | Deliveries | SessionSettings]) -> frozenset[str]:
    return frozenset(
        str(value.TOPIC)
        for value in vars(aggregate).values()
        if isinstance(value, type) and issubclass(value, aggregate.Event)
    )


VIEW_TOPICS: Final = (
    _event_topics(Campaign) | _event_topics(Deliveries) | _event_topics(SessionSettings)
)


@dataclass
class Slot:
    """One campaign's cached view, and the stamps of its last changes."""

    changed: int  # the stamp of the last change but progress (or of the slot's making)
    progressed: int = 0  # the stamp of the last progress
    body: bytes | None = None
    built: int = 0  # the stamp its build began at
    built_at: datetime | None = None  # when that build began (with a clock)
    session: str | None = None
    # Per aggregate (the campaign, its delivery record), the highest version that changed it:
    # the log brings this process's own events again, and they need no second rebuild.
    seen: dict[UUID, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Found:
    """What is cached for a campaign: a view servable now, and whether it is fresh."""

    body: bytes
    fresh: bool  # else only progress came after its build
    built_at: datetime | None


class Freshness:
    """The views' stamps, kept by this process's saves and by the store's log; thread-safe.

    It is the log follower's subscriber for the views. `session_of` names a campaign's
    session (the campaign facts know every one); without it, or when it does not know, a
    campaign's lifecycle makes every view stale.
    """

    topics = VIEW_TOPICS  # what the log follower hands it

    def __init__(
        self,
        campaigns: CampaignsApp,
        *,
        session_of: Callable[[UUID], str | None] | None = None,
        size: int = 1024,
    ) -> None:
        self._campaigns = campaigns
        self._session_of = session_of
        self._size = size
        self._lock = threading.Lock()
        self._slots: OrderedDict[UUID, Slot] = OrderedDict()
        self._owners: dict[UUID, UUID] = {}  # aggregate id (campaign, deliveries) -> campaign
        self._stamp = 0
        self._all_changed = 0
        self._applied = 0  # the log position up to which every event has been accounted for

    # -- the cache's questions ----------------------------------------------------------------

    def found(self, campaign_id: UUID) -> Found | None:
        """Return the campaign's view if it is fresh, or stale by progress only."""
        with self._lock:
            slot = self._slots.get(campaign_id)
            if slot is None or slot.body is None:
                return None
            if max(slot.changed, self._all_changed) > slot.built:
                return None
            self._slots.move_to_end(campaign_id)
            return Found(slot.body, self._fresh(slot, slot.built), slot.built_at)

    def begin(self, campaign_id: UUID) -> int:
        """Track the campaign's changes from now on; return the stamp a build begins at."""
        with self._lock:
            self._slot(campaign_id)
            return self._stamp

    def unchanged_since(self, campaign_id: UUID, started: int) -> bool:
        """Whether a build begun at `started` holds every change of the campaign so far."""
        with self._lock:
            slot = self._slots.get(campaign_id)
            return slot is not None and self._fresh(slot, started)

    def built(
        self, campaign_id: UUID, started: int, body: bytes, session: str, at: datetime | None
    ) -> None:
        """Keep a view built from `started` on, unless its campaign changed meanwhile."""
        with self._lock:
            slot = self._slots.get(campaign_id)
            if slot is None:
                return  # evicted meanwhile: nothing says whether it is fresh
            slot.session = session
            if self._fresh(slot, started) and started >= slot.built:
                slot.body, slot.built, slot.built_at = body, started, at

    def failed(self, campaign_id: UUID) -> None:
        """Stop serving the view as it was for progress: its rebuild failed."""
        with self._lock:
            slot = self._slots.get(campaign_id)
            if slot is not None:
                slot.changed = self._next_stamp()

    # -- what changes them --------------------------------------------------------------------

    def recorded(self, recordings: Sequence[Recording[UUID]]) -> None:
        """Change what this process saved (in the saving thread, or on the loop, before it returns).

        Its lock is only ever held for in-memory changes, so the event loop waits for it no
        longer than for them.
        """
        with self._lock:
            for recording in recordings:
                self._changed(recording.domain_event)

    def start(self) -> int:
        """Forget every view (what came before is unknown); return the log's head."""
        return self.skip_to_head(self._campaigns.recorder.max_notification_id() or 0)

    def apply(self, batch: Sequence[Followed], reached: int) -> None:
        """Change what each event changes; never raises."""
        with self._lock:
            self._applied = max(self._applied, reached)
            for followed in batch:
                event = followed.event
                self._changed(event)
                if isinstance(event, SessionSettings.Event):
                    self._change_all()  # rare: an operator changed a number's settings
                elif isinstance(event, Campaign.Event) and not isinstance(event, _OWN_ONLY):
                    self._change_session_of(event)

    def read_log(self) -> None:
        """Read what is new in the log for the views alone (no read model is run with them).

        So a read never fails because a read model cannot write (SQLite busy, say), and the
        watcher keeps the views right while the follower cannot follow. The follower hands
        the same events again later: views changed then are not rebuilt twice, bar the ETAs
        of their sessions (the facts they are estimated from were behind meanwhile). Far
        behind (a read after a long quiet), it forgets every view instead.
        """
        head = self._campaigns.recorder.max_notification_id() or 0
        if head - self._applied > _READ_ALONE_AT_MOST:
            self.skip_to_head(head)
        while self._applied < head:
            page = self._campaigns.recorder.select_notifications(
                start=self._applied,
                limit=_PAGE_SIZE,
                stop=head,
                topics=sorted(VIEW_TOPICS),
                inclusive_of_start=False,
            )
            decode = self._campaigns.mapper.to_domain_event
            self.apply(
                [Followed(n.id, decode(n)) for n in page],
                page[-1].id if len(page) == _PAGE_SIZE else head,
            )

    def skip_to_head(self, head: int) -> int:
        """Forget every view, and with it what the log holds up to `head`."""
        with self._lock:
            self._change_all()
            self._applied = max(self._applied, head)
        return head

    # -- stamps (callers hold the lock) ---------------------------------------------------------

    def _changed(self, event: DomainEventProtocol[UUID]) -> None:
        aggregate_id, version = event.originator_id, event.originator_version
        campaign_id = self._owners.get(aggregate_id)
        if campaign_id is None:
            return  # neither cached nor being built: nothing to change
        slot = self._slots[campaign_id]
        if version <= slot.seen.get(aggregate_id, 0):
            return  # changed already, after this version was committed
        slot.seen[aggregate_id] = version
        if isinstance(event, PROGRESS):
            slot.progressed = self._next_stamp()
        else:
            slot.changed = self._next_stamp()

    def _change_session_of(self, event: Campaign.Event) -> None:
        campaign_id = event.originator_id
        slot = self._slots.get(campaign_id)
        # Its scheduling names the session; after that the facts, or the view built, say it.
        session = getattr(event, "session", None) or (slot.session if slot else None)
        if session is None and self._session_of is not None:
            session = self._session_of(campaign_id)
        if session is None or isinstance(event, Campaign.CampaignEdited):
            self._change_all()  # an edit may move it to another session
            return
        stamp = self._next_stamp()
        for other_id, other in self._slots.items():
            # Unbuilt slots may be of any session; the campaign's own view is the version's.
            if other_id != campaign_id and other.session in (session, None):
                other.changed = stamp

    def _change_all(self) -> None:
        self._all_changed = self._next_stamp()

    def _next_stamp(self) -> int:
        self._stamp += 1
        return self._stamp

    def _fresh(self, slot: Slot, started: int) -> bool:
        return max(slot.changed, slot.progressed, self._all_changed) <= started

    def _slot(self, campaign_id: UUID) -> Slot:
        slot = self._slots.get(campaign_id)
        if slot is None:
            # Made now: it vouches only for builds that begin from here on.
            slot = self._slots[campaign_id] = Slot(changed=self._stamp)
            self._owners[campaign_id] = campaign_id
            self._owners[deliveries_id(campaign_id)] = campaign_id
            while len(self._slots) > self._size:
                evicted, _ = self._slots.popitem(last=False)
                self._owners.pop(evicted, None)
                self._owners.pop(deliveries_id(evicted), None)
        self._slots.move_to_end(campaign_id)
        return slot
