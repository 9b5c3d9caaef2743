"""Campaign views as JSON, rebuilt only when their campaign changes, once however many ask.

A campaign's progress (its lane's attempts, WhatsApp's acks) may reach its view late: by about
`progress_lag` (a second), and its turn to be rebuilt. Readers get the view as it was
meanwhile, instead of each waiting for a rebuild that is outdated again a moment later (a
running campaign changes several times a second, and every rebuild takes the loop's thread
its share of the interpreter). Anything else that changes a view (a command, a pause, a
completion, an edit) is never read late by this process. What changes which view, and how
freshness is told, is view_freshness.py's.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID

from adapters.http_api.view_freshness import Found, Freshness
from app.blocking import off_loop
from app.campaigns import CampaignsApp
from app.log_follower import FOLLOW_INTERVAL_SECONDS, LogFollower, follower_of
from app.ports import Clock, Sleeper

log = logging.getLogger("waha_campaigns.http")
# How late a running campaign's progress may reach its view (see the module's docstring).
PROGRESS_LAG_SECONDS: Final = 1.0


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

    Freshness: this process's saves change their campaign's view at once (a client reads
    its own writes); other processes' events, and what one campaign's lifecycle does to its
    session's ETAs, are noticed from the store's log, which `watch_store` follows. Without
    the watcher every read reads what is new in the log first (one cheap query when nothing
    is). Concurrent misses of one campaign share one build.
    """

    def __init__(
        self,
        campaigns: CampaignsApp,
        follower: LogFollower | None = None,
        *,
        clock: Clock | None = None,
        session_of: Callable[[UUID], str | None] | None = None,
        progress_lag: float = PROGRESS_LAG_SECONDS,
        size: int = 1024,
    ) -> None:
        self._campaigns = campaigns
        # Without a clock, progress is rebuilt at the first read after it (one rebuild late).
        self._clock = clock
        self._progress_lag = timedelta(seconds=progress_lag)
        self._follower = follower or follower_of(campaigns)
        self._freshness = Freshness(campaigns, session_of=session_of, size=size)
        self._watched = False
        # On the event loop only: the build each campaign's readers would join, all builds,
        # and the turn of background builds.
        self._flights: dict[UUID, _Flight] = {}
        self._tasks: set[asyncio.Future[bytes]] = set()
        self._background = asyncio.Semaphore(1)
        campaigns.on_recorded(self._freshness.recorded)
        # Subscribed after the campaign facts (the composition root builds them first): the
        # follower hands them each page before us, so an ETA rebuilt after a change is
        # estimated from facts that already hold that change.
        self._follower.subscribe(self._freshness)

    # -- reads --------------------------------------------------------------------------------

    def cached(self, campaign_id: UUID) -> bytes | None:
        """Return the view's JSON if it is known to be fresh, without any I/O."""
        found = self._freshness.found(campaign_id) if self._watched else None
        return found.body if found is not None and found.fresh else None

    async def view(self, campaign_id: UUID) -> bytes:
        """Return the view's JSON; concurrent misses of one campaign wait for one build.

        A reader's cancellation never cancels a build others wait for. A reader that comes
        after a change never joins a build begun before it. After progress only, the reader
        gets the view as it was while it is rebuilt.
        """
        if not self._watched:
            # Nothing vouches for other processes' events: each read looks for itself.
            return await off_loop(self.view_json, campaign_id)
        found = self._freshness.found(campaign_id)
        if found is not None and (found.fresh or self._recent(found)):
            return found.body  # fresh, or progress only and younger than the lag allows
        flight = self._flights.get(campaign_id)
        current = flight is not None and self._current(campaign_id, flight)
        if found is not None:  # progress only: the view as it was, while it is rebuilt
            if not current:
                self._take_off(campaign_id, background=True)
            return found.body
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
            self._freshness.read_log()
        found = self._freshness.found(campaign_id)
        if found is not None and found.fresh:
            return found.body
        return self._build(campaign_id, self._begin(campaign_id))

    def _take_off(self, campaign_id: UUID, *, background: bool) -> _Flight:
        """Start a build of the view; a background one waits for the one before it to end.

        One background build at a time: several at once compete for the interpreter with
        the loop's thread, which then answers every request late.
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
                self._freshness.failed(campaign_id)

        task.add_done_callback(landed)
        return flight

    def _begin(self, campaign_id: UUID) -> tuple[int, datetime | None]:
        began_at = None if self._clock is None else self._clock.now()
        return self._freshness.begin(campaign_id), began_at

    def _build(self, campaign_id: UUID, began: tuple[int, datetime | None]) -> bytes:
        started, began_at = began
        view = self._campaigns.campaign(campaign_id)
        body = json.dumps(view.as_dict()).encode()
        self._freshness.built(campaign_id, started, body, str(view.session), began_at)
        return body

    def _current(self, campaign_id: UUID, flight: _Flight) -> bool:
        """Whether the flight's build will hold every change made so far."""
        if flight.started is None:
            return True
        return self._freshness.unchanged_since(campaign_id, flight.started)

    def _recent(self, found: Found) -> bool:
        if self._clock is None or found.built_at is None:
            return False
        return self._clock.now() - found.built_at < self._progress_lag

    # -- watching the store ---------------------------------------------------------------------

    async def watch_store(
        self, sleeper: Sleeper, interval: float = FOLLOW_INTERVAL_SECONDS
    ) -> None:
        """Follow the store's log (it drives the process's log follower) until cancelled.

        While it follows, cached views are answered without any I/O: other processes'
        events reach them within `interval`. A failed catch-up (a read model that could not
        write) is logged and tried again; meanwhile the views read the log for themselves.
        If even that fails, each read looks for itself.
        """
        try:
            while True:
                try:
                    await off_loop(self._follower.catch_up)
                except Exception:
                    log.exception("catching up with the store's log failed; trying again")
                    try:
                        await off_loop(self._freshness.read_log)
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
