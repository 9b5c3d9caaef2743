"""Campaign views as JSON, rebuilt only when their campaign changes, once however many ask.

A campaign's progress (its lane's attempts, WhatsApp's acks) may reach its view late, by
`progress_lag` (a second) and one rebuild at most: readers get the view as it was meanwhile,
instead of each waiting for a rebuild that is outdated again a moment later (a running
campaign changes several times a second, and each rebuild costs the loop's thread its share of
the interpreter). Anything else that changes a view (a command, a pause, a completion, an edit)
is never read late by this process.

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
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Recording

from app.blocking import off_loop
from app.campaigns import CampaignsApp
from app.log_follower import FOLLOW_INTERVAL_SECONDS, Followed, LogFollower, follower_of
from app.ports import Clock, Sleeper
from domain.campaign import Campaign
from domain.delivery import Deliveries, deliveries_id
from domain.number_settings import SessionSettings

log = logging.getLogger("waha_campaigns.http")
# How late a running campaign's progress may reach its view (see the module's docstring).
PROGRESS_LAG_SECONDS: Final = 1.0
_PAGE_SIZE: Final = 1000
_READ_ALONE_AT_MOST: Final = 20 * _PAGE_SIZE


def _event_topics(aggregate: type[Campaign | Deliveries | SessionSettings]) -> frozenset[str]:
    return frozenset(
        str(value.TOPIC)
        for value in vars(aggregate).values()
        if isinstance(value, type) and issubclass(value, aggregate.Event)
    )


# Events that change only their own campaign's view (see the module's docstring); any other
# campaign event, a new kind included, may change the lane's share and so the session's ETAs.
_PROGRESS: Final = (
    Campaign.AttemptStarted,
    Campaign.ContactAttempted,
    Campaign.AttemptAbandoned,
    Campaign.PacingDelayChosen,
    Deliveries.Event,
)
_OWN_ONLY: Final = (
    *_PROGRESS[:-1],
    Campaign.PauseRequested,
    Campaign.CancelRequested,
    Campaign.AutoResumeWithheld,
    Campaign.RetryScheduled,
)
VIEW_TOPICS: Final = (
    _event_topics(Campaign) | _event_topics(Deliveries) | _event_topics(SessionSettings)
)


@dataclass
class _Slot:
    """One campaign's cached view, and the stamp of its last change."""

    changed: int  # the stamp of the last invalidation (or of the slot's making)
    progressed: int = 0  # the stamp of the last progress (see the module's docstring)
    body: bytes | None = None
    built: int = 0  # the stamp its build began at: fresh while no change came after
    built_at: datetime | None = None  # when that build began
    session: str | None = None
    # Per aggregate (the campaign, its delivery record), the highest version that invalidated
    # it: the log brings this process's own events again, and they need no second rebuild.
    seen: dict[UUID, int] = field(default_factory=dict)


@dataclass
class _Flight:
    """A build on its way: every reader that must wait meanwhile awaits the same one.

    A background build (progress, nobody waits) queues for its turn and takes its stamp when
    it begins: until then it is as current as can be.
    """

    task: asyncio.Future[bytes]
    background: bool
    started: int | None = None  # the stamp it began at (None: queued)


class ViewCache:
    """Answers reads of a campaign without replaying it or encoding it again.

    Freshness: this process's saves invalidate their campaign's view at once (a client reads
    its own writes); other processes' events, and what one campaign's lifecycle does to its
    session's ETAs, are noticed from the store's log, which `watch_store` follows. Without
    the watcher every read reads what is new in the log first (one cheap query when nothing
    is).

    Each invalidation takes a new stamp from one counter; a build remembers the stamp it
    began at and is cached only if its campaign had no change since, so a save racing a
    rebuild is never hidden behind it. Concurrent misses of one campaign share one build.
    Progress only (see the module's docstring) leaves the view servable while it is rebuilt.
    """

    topics = VIEW_TOPICS  # what the log follower hands it

    def __init__(
        self,
        campaigns: CampaignsApp,
        follower: LogFollower | None = None,
        *,
        clock: Clock | None = None,
        progress_lag: float = PROGRESS_LAG_SECONDS,
        size: int = 1024,
    ) -> None:
        self._campaigns = campaigns
        # Without a clock, progress is rebuilt at the first read after it (one rebuild late).
        self._clock = clock
        self._progress_lag = timedelta(seconds=progress_lag)
        self._follower = follower or follower_of(campaigns)
        self._size = size
        self._lock = threading.Lock()
        self._slots: OrderedDict[UUID, _Slot] = OrderedDict()
        self._owners: dict[UUID, UUID] = {}  # aggregate id (campaign, deliveries) -> campaign
        self._stamp = 0
        self._all_changed = 0
        self._applied = 0  # the log position up to which every event has been accounted for
        self._watched = False
        # On the event loop only: the build each campaign's readers would join, all builds,
        # and the turn of background builds.
        self._flights: dict[UUID, _Flight] = {}
        self._tasks: set[asyncio.Future[bytes]] = set()
        self._background = asyncio.Semaphore(1)
        campaigns.on_recorded(self._recorded)
        # Subscribed after the campaign facts (the composition root builds them first): the
        # follower hands them each page before us, so an ETA rebuilt after we invalidate it
        # is estimated from facts that already hold what invalidated it.
        self._follower.subscribe(self)

    # -- reads --------------------------------------------------------------------------------

    def cached(self, campaign_id: UUID) -> bytes | None:
        """Return the view's JSON if it is known to be fresh, without any I/O."""
        if not self._watched:
            return None
        with self._lock:
            slot = self._slots.get(campaign_id)
            if slot is None or slot.body is None or not self._fresh(slot, slot.built):
                return None
            self._slots.move_to_end(campaign_id)
            return slot.body

    async def view(self, campaign_id: UUID) -> bytes:
        """Return the view's JSON; concurrent misses of one campaign wait for one build.

        A reader's cancellation never cancels a build others wait for. A reader that comes
        after a change never joins a build begun before it. After progress only, the reader
        gets the view as it was while the rebuild runs.
        """
        if not self._watched:
            # Nothing vouches for other processes' events: each read looks for itself.
            return await off_loop(self.view_json, campaign_id)
        with self._lock:
            slot = self._slots.get(campaign_id)
            body = None if slot is None else self._servable(slot)
            if slot is not None and body is not None:
                self._slots.move_to_end(campaign_id)
                if self._fresh(slot, slot.built) or self._recent(slot):
                    return body  # fresh, or progress only and younger than the lag allows
        flight = self._flights.get(campaign_id)
        current = flight is not None and self._current(campaign_id, flight)
        if body is not None:  # progress only: the view as it was, while it is rebuilt
            if not current:
                self._take_off(campaign_id, background=True)
            return body
        if flight is None or not current or flight.background:
            flight = self._take_off(campaign_id, background=False)
        return await asyncio.shield(flight.task)

    async def wait_for_builds(self) -> None:
        """Return once every build under way has ended (some readers may not wait for theirs)."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    def view_json(self, campaign_id: UUID) -> bytes:
        """Return the view's JSON, building it if needed; blocking, so call it off the loop."""
        if not self._watched:
            self._read_log()
        with self._lock:
            slot = self._slots.get(campaign_id)
            if slot is not None and slot.body is not None and self._fresh(slot, slot.built):
                return slot.body
        return self._build(campaign_id, self._begin(campaign_id))

    def _take_off(self, campaign_id: UUID, *, background: bool) -> _Flight:
        """Start a build of the view; a background one waits for the one before it to end.

        One background build at a time: they compete for the interpreter with the loop's
        thread, which then answers every request late (a few milliseconds per rebuild).
        """
        flight: _Flight
        # Taken now, before the reader's wait: a change after it is never hidden by the build.
        began = None if background else self._begin(campaign_id)

        async def build() -> bytes:
            if began is not None:
                return await off_loop(self._build, campaign_id, began)
            async with self._background:
                flight.started, began_at = self._begin(campaign_id)
                return await off_loop(self._build, campaign_id, (flight.started, began_at))

        task = asyncio.create_task(build())
        flight = _Flight(task, background, None if began is None else began[0])
        self._flights[campaign_id] = flight
        self._tasks.add(task)

        def landed(done: asyncio.Future[bytes]) -> None:
            self._tasks.discard(task)
            if self._flights.get(campaign_id) is flight:
                del self._flights[campaign_id]
            # Retrieved: an unknown campaign is its readers' error. A failed rebuild is not
            # left behind the view as it was: the next reader waits for one, and sees why.
            if not done.cancelled() and done.exception() is not None:
                with self._lock:
                    slot = self._slots.get(campaign_id)
                    if slot is not None:
                        slot.changed = self._next_stamp()

        task.add_done_callback(landed)
        return flight

    def _begin(self, campaign_id: UUID) -> tuple[int, datetime | None]:
        """Make sure changes to the campaign are tracked from now on; return the stamp now."""
        began_at = None if self._clock is None else self._clock.now()
        with self._lock:
            self._slot(campaign_id)
            return self._stamp, began_at

    def _build(self, campaign_id: UUID, began: tuple[int, datetime | None]) -> bytes:
        started, began_at = began
        view = self._campaigns.campaign(campaign_id)
        body = json.dumps(view.as_dict()).encode()
        with self._lock:
            slot = self._slots.get(campaign_id)
            if slot is not None:  # else evicted meanwhile: nothing says whether it is fresh
                slot.session = str(view.session)
                if self._fresh(slot, started) and started >= slot.built:
                    slot.body, slot.built, slot.built_at = body, started, began_at
        return body

    # -- invalidation -------------------------------------------------------------------------

    def _recorded(self, recordings: Sequence[Recording[UUID]]) -> None:
        # This process's saves, in the saving thread, before the command returns.
        with self._lock:
            for recording in recordings:
                self._changed(recording.domain_event)

    # -- the log follower's subscriber: other processes' events, and the sessions' ETAs ------

    def start(self) -> int:
        """Forget every view (what came before is unknown); return the log's head."""
        return self._skip_to_head(self._campaigns.recorder.max_notification_id() or 0)

    def apply(self, batch: Sequence[Followed], reached: int) -> None:
        """Invalidate what each event changes; never raises."""
        with self._lock:
            self._applied = max(self._applied, reached)
            for followed in batch:
                event = followed.event
                self._changed(event)
                if isinstance(event, SessionSettings.Event):
                    self._change_all()  # rare: an operator changed a number's settings
                elif isinstance(event, Campaign.Event) and not isinstance(event, _OWN_ONLY):
                    self._change_session_of(event)

    def _changed(self, event: DomainEventProtocol[UUID]) -> None:
        aggregate_id, version = event.originator_id, event.originator_version
        campaign_id = self._owners.get(aggregate_id)
        if campaign_id is None:
            return  # neither cached nor being built: nothing to invalidate
        slot = self._slots[campaign_id]
        if version <= slot.seen.get(aggregate_id, 0):
            return  # invalidated already, after this version was committed
        slot.seen[aggregate_id] = version
        if isinstance(event, _PROGRESS):
            slot.progressed = self._next_stamp()
        else:
            slot.changed = self._next_stamp()

    def _change_session_of(self, event: Campaign.Event) -> None:
        campaign_id = event.originator_id
        slot = self._slots.get(campaign_id)
        # Only its scheduling names the session; after that, the view built says it.
        session = getattr(event, "session", None) or (slot.session if slot else None)
        if session is None or isinstance(event, Campaign.CampaignEdited):
            self._change_all()  # an edit may move it to another session
            return
        stamp = self._next_stamp()
        for other_id, other in self._slots.items():
            # Unbuilt slots may be of any session; the campaign's own view is the version's.
            if other_id != campaign_id and other.session in (session, None):
                other.changed = stamp

    def _read_log(self) -> None:
        """Read what is new in the log for the views alone (no read model is run with them).

        So a read never fails because a read model cannot write (SQLite busy, say), and the
        watcher keeps the views right while the follower cannot follow. The follower hands
        the same events again later: views it invalidated then are not rebuilt twice, bar
        the ETAs of their sessions (the facts they are estimated from were behind meanwhile).
        Far behind (a read after a long quiet), it forgets every view instead.
        """
        head = self._campaigns.recorder.max_notification_id() or 0
        if head - self._applied > _READ_ALONE_AT_MOST:
            self._skip_to_head(head)
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

    def _skip_to_head(self, head: int) -> int:
        """Forget every view, and with it what the log holds up to `head`."""
        with self._lock:
            self._change_all()
            self._applied = max(self._applied, head)
        return head

    def _change_all(self) -> None:
        self._all_changed = self._next_stamp()

    def _next_stamp(self) -> int:
        self._stamp += 1
        return self._stamp

    # -- slots (callers hold the lock) ----------------------------------------------------------

    def _fresh(self, slot: _Slot, started: int) -> bool:
        return max(slot.changed, slot.progressed, self._all_changed) <= started

    def _recent(self, slot: _Slot) -> bool:
        if self._clock is None or slot.built_at is None:
            return False
        return self._clock.now() - slot.built_at < self._progress_lag

    def _servable(self, slot: _Slot) -> bytes | None:
        """Return the slot's view if nothing but progress came after its build."""
        if slot.body is None or max(slot.changed, self._all_changed) > slot.built:
            return None
        return slot.body

    def _current(self, campaign_id: UUID, flight: _Flight) -> bool:
        """Whether the flight's build will hold every change made so far."""
        return flight.started is None or self._unchanged_since(campaign_id, flight.started)

    def _unchanged_since(self, campaign_id: UUID, started: int) -> bool:
        with self._lock:
            slot = self._slots.get(campaign_id)
            return slot is not None and self._fresh(slot, started)

    def _slot(self, campaign_id: UUID) -> _Slot:
        slot = self._slots.get(campaign_id)
        if slot is None:
            # Made now: it vouches only for builds that begin from here on.
            slot = self._slots[campaign_id] = _Slot(changed=self._stamp)
            self._owners[campaign_id] = campaign_id
            self._owners[deliveries_id(campaign_id)] = campaign_id
            while len(self._slots) > self._size:
                evicted, _ = self._slots.popitem(last=False)
                self._owners.pop(evicted, None)
                self._owners.pop(deliveries_id(evicted), None)
        self._slots.move_to_end(campaign_id)
        return slot

    # -- watching the store ---------------------------------------------------------------------

    async def watch_store(
        self, sleeper: Sleeper, interval: float = FOLLOW_INTERVAL_SECONDS
    ) -> None:
        """Follow the store's log (it drives the process's log follower) until cancelled.

        While it follows, cached views are answered without any I/O: other processes'
        events reach them within `interval`. A failed catch-up (a read model that could not
        write) is logged and tried again; meanwhile any new event in the log makes every view
        stale. If even the log's head cannot be read, each read looks for itself.
        """
        try:
            while True:
                try:
                    await off_loop(self._follower.catch_up)
                except Exception:
                    log.exception("catching up with the store's log failed; trying again")
                    try:
                        await off_loop(self._read_log)
                    except Exception:
                        self._watched = False
                        log.exception("the store's log cannot be read; views are not cached")
                    else:
                        self._watched = True
                else:
                    self._watched = True
                await sleeper.sleep(interval)
        finally:
            self._watched = False
            for task in self._tasks:
                task.cancel()  # their readers, if any, are being cancelled too
