"""The view cache never serves a view older than what the store says, and builds each once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from uuid import UUID

import pytest

from adapters.http_api import view_cache
from adapters.http_api.view_cache import ViewCache
from adapters.persistence import persistence_environment
from app.blocking import off_loop
from app.campaigns import CampaignsApp
from app.log_follower import Followed, follower_of
from app.views import CampaignView
from domain.campaign import Campaign
from domain.delivery import Deliveries
from domain.lane import Lane
from tests.builders import scheduled
from tests.fakes.system import InstantSleeper, ManualClock


def status_in(body: bytes) -> str:
    return str(json.loads(body)["status"])


class SteppedSleeper:
    """The watcher's sleeper: each wait lasts until the test asks for the watcher's next look."""

    def __init__(self) -> None:
        self._slept = asyncio.Event()
        self._wake = asyncio.Event()

    async def sleep(self, _seconds: float) -> None:
        self._slept.set()
        await self._wake.wait()
        self._wake.clear()

    async def looked(self) -> None:
        """Return once the watcher has caught up with the store and waits again."""
        await self._slept.wait()
        self._slept.clear()

    async def look_again(self) -> None:
        """Let the watcher catch up once more; return when it has."""
        self._wake.set()
        await self.looked()


@contextlib.asynccontextmanager
async def watching(cache: ViewCache) -> AsyncIterator[SteppedSleeper]:
    """Run the cache's watcher for the block; it has looked once when the block starts."""
    sleeper = SteppedSleeper()
    task = asyncio.create_task(cache.watch_store(sleeper))
    await sleeper.looked()
    try:
        yield sleeper
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class CountedViews:
    """Counts how often views are built; can hold the first build until released."""

    def __init__(self, campaigns: CampaignsApp, *, hold_first: bool = False) -> None:
        self.built: list[UUID] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self._view_of: Callable[[UUID], CampaignView] = campaigns.campaign
        self._hold = hold_first
        if not hold_first:
            self.release.set()

    def __call__(self, campaign_id: UUID) -> CampaignView:
        view = self._view_of(campaign_id)  # read first: a change while held comes after it
        self.built.append(campaign_id)
        if self._hold:
            self._hold = False
            self.entered.set()
            self.release.wait(10)
        return view


@pytest.fixture
def counted(campaigns: CampaignsApp, monkeypatch: pytest.MonkeyPatch) -> CountedViews:
    counter = CountedViews(campaigns)
    monkeypatch.setattr(campaigns, "campaign", counter)
    return counter


@pytest.fixture
def held(campaigns: CampaignsApp, monkeypatch: pytest.MonkeyPatch) -> Iterator[CountedViews]:
    counter = CountedViews(campaigns, hold_first=True)
    monkeypatch.setattr(campaigns, "campaign", counter)
    yield counter
    counter.release.set()  # never leave a worker thread waiting


# -- freshness ------------------------------------------------------------------------------------


def test_without_a_watcher_every_read_sees_the_latest_event(campaigns: CampaignsApp) -> None:
    cache = ViewCache(campaigns)
    campaign_id = scheduled(campaigns)
    assert status_in(cache.view_json(campaign_id)) == "Scheduled"

    campaigns.start_campaign(campaign_id)

    assert cache.cached(campaign_id) is None
    assert status_in(cache.view_json(campaign_id)) == "Running"


async def test_a_save_in_this_process_invalidates_its_campaign_at_once(
    campaigns: CampaignsApp,
) -> None:
    cache = ViewCache(campaigns)
    campaign_id = scheduled(campaigns)
    async with watching(cache):
        first = await cache.view(campaign_id)
        assert cache.cached(campaign_id) == first

        campaigns.start_campaign(campaign_id)

        assert cache.cached(campaign_id) is None
        assert status_in(await cache.view(campaign_id)) == "Running"


async def test_a_save_of_one_campaign_keeps_the_others_views(
    campaigns: CampaignsApp, counted: CountedViews
) -> None:
    cache = ViewCache(campaigns)
    # Other sessions: a start changes the ETAs of the campaigns sharing its lane.
    saved, other = scheduled(campaigns, session="sales"), scheduled(campaigns, session="support")
    async with watching(cache) as watcher:
        other_view = await cache.view(other)
        await cache.view(saved)

        campaigns.start_campaign(saved)
        await watcher.look_again()  # the log brings the save again: still no rebuild of `other`

        assert cache.cached(other) == other_view
        assert cache.cached(saved) is None
        assert counted.built == [other, saved]


async def test_a_saved_view_is_rebuilt_once_though_the_log_brings_the_save_again(
    campaigns: CampaignsApp, counted: CountedViews
) -> None:
    cache = ViewCache(campaigns)
    campaign_id = scheduled(campaigns)
    async with watching(cache) as watcher:
        await cache.view(campaign_id)
        campaigns.start_campaign(campaign_id)
        rebuilt = await cache.view(campaign_id)

        await watcher.look_again()

        assert cache.cached(campaign_id) == rebuilt
        assert counted.built == [campaign_id, campaign_id]


async def test_a_delivery_report_invalidates_its_campaign_only(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    cache = ViewCache(campaigns)
    acked, other = scheduled(campaigns), scheduled(campaigns)
    async with watching(cache):
        await cache.view(acked)
        other_view = await cache.view(other)

        campaigns.save(delivered(acked, clock))

        assert cache.cached(acked) is None
        assert cache.cached(other) == other_view


# -- progress: a second late at most, never a command ---------------------------------------------


async def test_progress_is_read_from_the_view_as_it_was_while_it_is_rebuilt(
    campaigns: CampaignsApp, clock: ManualClock, held: CountedViews
) -> None:
    cache = ViewCache(campaigns)  # no clock: progress is rebuilt at the first read after it
    campaign_id = scheduled(campaigns)
    async with watching(cache):
        reading = asyncio.create_task(cache.view(campaign_id))
        await off_loop(held.entered.wait, 10)
        held.release.set()
        before = await reading
        campaigns.save(delivered(campaign_id, clock))

        during = await cache.view(campaign_id)  # its rebuild began: the reader need not wait
        again = await cache.view(campaign_id)  # the same rebuild holds this progress too
        await cache.wait_for_builds()
        after = cache.cached(campaign_id)

    assert during == again == before
    assert after is not None
    assert json.loads(after)["delivered"] == 1
    assert held.built == [campaign_id, campaign_id]


async def test_progress_reaches_the_view_within_the_lag(
    campaigns: CampaignsApp, clock: ManualClock, counted: CountedViews
) -> None:
    cache = ViewCache(campaigns, clock=clock, progress_lag=1.0)
    campaign_id = scheduled(campaigns)
    async with watching(cache):
        before = await cache.view(campaign_id)
        campaigns.save(delivered(campaign_id, clock))
        clock.advance(0.9)

        within = await cache.view(campaign_id)
        await cache.wait_for_builds()
        rebuilt_within = len(counted.built)
        clock.advance(0.1)
        await cache.view(campaign_id)  # the lag is over: this read starts the rebuild
        await cache.wait_for_builds()
        after = await cache.view(campaign_id)

    assert within == before
    assert rebuilt_within == 1
    assert json.loads(after)["delivered"] == 1


async def test_a_command_is_never_read_late_though_progress_may_be(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    cache = ViewCache(campaigns, clock=clock, progress_lag=1.0)
    campaign_id = scheduled(campaigns)
    async with watching(cache):
        await cache.view(campaign_id)
        campaigns.save(delivered(campaign_id, clock))

        campaigns.start_campaign(campaign_id)
        view = json.loads(await cache.view(campaign_id))

    assert (view["status"], view["delivered"]) == ("Running", 1)


class SteppedOffLoop:
    """Runs what the cache sends off the loop only when told to; counts how many at once."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.started = asyncio.Event()
        self.go = asyncio.Event()

    async def __call__(self, func: Callable[..., bytes], /, *args: object) -> bytes:
        self.running += 1
        self.most = max(self.most, self.running)
        self.started.set()
        await self.go.wait()
        try:
            return func(*args)
        finally:
            self.running -= 1


async def test_progress_is_rebuilt_one_campaign_at_a_time(
    campaigns: CampaignsApp, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = ViewCache(campaigns)
    ids = [scheduled(campaigns) for _ in range(3)]
    async with watching(cache):
        for campaign_id in ids:
            await cache.view(campaign_id)
            campaigns.save(delivered(campaign_id, clock))
        stepped = SteppedOffLoop()
        monkeypatch.setattr(view_cache, "off_loop", stepped)

        for campaign_id in ids:
            await cache.view(campaign_id)  # the view as it was; a rebuild is queued
        # The first rebuild began; the others had their turn of the loop since, and wait.
        await stepped.started.wait()
        at_once = stepped.most
        stepped.go.set()
        await cache.wait_for_builds()

        rebuilt = [cache.cached(campaign_id) for campaign_id in ids]

    assert at_once == 1
    assert stepped.most == 1
    assert all(body is not None and json.loads(body)["delivered"] == 1 for body in rebuilt)


async def test_after_a_failed_rebuild_the_next_reader_waits_for_one(
    campaigns: CampaignsApp, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = ViewCache(campaigns)
    campaign_id = scheduled(campaigns)
    view_of = campaigns.campaign
    failures = [StoreBusyError("database is locked")]

    def failing_once(wanted: UUID) -> CampaignView:
        if failures:
            raise failures.pop()
        return view_of(wanted)

    async with watching(cache):
        await cache.view(campaign_id)
        campaigns.save(delivered(campaign_id, clock))
        monkeypatch.setattr(campaigns, "campaign", failing_once)
        await cache.view(campaign_id)  # the view as it was; its rebuild fails
        await cache.wait_for_builds()

        after = json.loads(await cache.view(campaign_id))

    assert failures == []
    assert after["delivered"] == 1


async def test_a_lane_record_invalidates_no_view(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    cache = ViewCache(campaigns)
    campaign_id = scheduled(campaigns)
    async with watching(cache) as watcher:
        view = await cache.view(campaign_id)

        campaigns.save(Lane(session="default", at=clock.now()))
        await watcher.look_again()

        assert cache.cached(campaign_id) == view


async def test_a_campaign_starting_invalidates_the_views_of_its_session_only(
    campaigns: CampaignsApp,
) -> None:
    # Their ETAs share the lane with it.
    cache = ViewCache(campaigns)
    started, same = scheduled(campaigns, session="sales"), scheduled(campaigns, session="sales")
    elsewhere = scheduled(campaigns, session="support")
    async with watching(cache) as watcher:
        for campaign_id in (started, same, elsewhere):
            await cache.view(campaign_id)
        elsewhere_view = cache.cached(elsewhere)

        campaigns.start_campaign(started)
        await watcher.look_again()

        assert cache.cached(same) is None
        assert cache.cached(elsewhere) == elsewhere_view


async def test_an_unread_campaign_starting_invalidates_the_views_of_its_session_only(
    campaigns: CampaignsApp,
) -> None:
    started = scheduled(campaigns, session="sales")  # never read: its session is not cached
    same, elsewhere = scheduled(campaigns, session="sales"), scheduled(campaigns, session="support")
    sessions = {started: "sales"}
    cache = ViewCache(campaigns, session_of=sessions.get)  # as the campaign facts tell it
    async with watching(cache) as watcher:
        await cache.view(same)
        elsewhere_view = await cache.view(elsewhere)

        campaigns.start_campaign(started)
        await watcher.look_again()

        assert cache.cached(same) is None
        assert cache.cached(elsewhere) == elsewhere_view


async def test_the_watcher_vouches_for_nothing_once_stopped(campaigns: CampaignsApp) -> None:
    cache = ViewCache(campaigns)
    campaign_id = scheduled(campaigns)
    sleeper = InstantSleeper()
    sleeper.on_sleep = _stop
    with contextlib.suppress(_StopWatchingError):
        await cache.watch_store(sleeper)

    await cache.view(campaign_id)

    assert sleeper.waits  # it did look before it stopped
    assert cache.cached(campaign_id) is None  # a stopped watcher vouches for nothing


async def test_another_process_event_is_seen_once_the_watcher_looks(
    tmp_path: Path, clock: ManualClock
) -> None:
    env = persistence_environment(f"sqlite:///{tmp_path / 'campaigns.sqlite3'}")
    here, elsewhere = CampaignsApp(clock=clock, env=env), CampaignsApp(clock=clock, env=env)
    try:
        cache = ViewCache(here)
        campaign_id = scheduled(here)
        async with watching(cache) as watcher:
            await cache.view(campaign_id)

            await off_loop(elsewhere.start_campaign, campaign_id)
            await watcher.look_again()

            assert cache.cached(campaign_id) is None
            assert status_in(await cache.view(campaign_id)) == "Running"
    finally:
        here.close()
        elsewhere.close()


class StoreBusyError(Exception):
    pass


def delivered(campaign_id: UUID, clock: ManualClock) -> Deliveries:
    """Return the campaign's delivery record with its first message delivered (progress)."""
    deliveries = Deliveries(campaign_id=campaign_id)
    deliveries.report(index=0, message_id="true_1@c.us_A", ack=2, at=clock.now())
    return deliveries


class FailingReadModel:
    """A read model that cannot write (SQLite busy, say): every catch-up of the follower fails."""

    topics = frozenset({Campaign.CampaignStarted.TOPIC})

    def start(self) -> int:
        return 0

    def apply(self, batch: Sequence[Followed], reached: int) -> None:
        raise RuntimeError("database is locked")


def test_a_read_model_that_cannot_write_fails_no_read(campaigns: CampaignsApp) -> None:
    follower_of(campaigns).subscribe(FailingReadModel())
    cache = ViewCache(campaigns)
    campaign_id = scheduled(campaigns)

    campaigns.start_campaign(campaign_id)

    assert status_in(cache.view_json(campaign_id)) == "Running"


async def test_while_the_follower_fails_another_process_event_still_invalidates(
    tmp_path: Path, clock: ManualClock
) -> None:
    env = persistence_environment(f"sqlite:///{tmp_path / 'campaigns.sqlite3'}")
    here, elsewhere = CampaignsApp(clock=clock, env=env), CampaignsApp(clock=clock, env=env)
    try:
        follower_of(here).subscribe(FailingReadModel())  # handed each page before the cache
        cache = ViewCache(here)
        campaign_id = scheduled(here)
        async with watching(cache) as watcher:
            await cache.view(campaign_id)

            await off_loop(elsewhere.start_campaign, campaign_id)
            await watcher.look_again()

            assert cache.cached(campaign_id) is None
            view = await cache.view(campaign_id)
            assert status_in(view) == "Running"
            assert cache.cached(campaign_id) == view  # still cached while nothing moves
    finally:
        here.close()
        elsewhere.close()


# -- concurrent misses ----------------------------------------------------------------------------


async def test_concurrent_misses_of_a_campaign_build_its_view_once(
    campaigns: CampaignsApp, held: CountedViews
) -> None:
    cache = ViewCache(campaigns)
    campaign_id = scheduled(campaigns)
    async with watching(cache):
        readers = [asyncio.create_task(cache.view(campaign_id)) for _ in range(20)]
        # The build began in a later turn of the loop than every reader's miss: all wait.
        await off_loop(held.entered.wait, 10)
        held.release.set()

        bodies = await asyncio.gather(*readers)

    assert held.built == [campaign_id]
    assert len(set(bodies)) == 1
    assert status_in(bodies[0]) == "Scheduled"


async def test_a_change_during_a_build_is_not_hidden_by_it(
    campaigns: CampaignsApp, held: CountedViews
) -> None:
    cache = ViewCache(campaigns)
    campaign_id = scheduled(campaigns)
    async with watching(cache):
        early = asyncio.create_task(cache.view(campaign_id))
        await off_loop(held.entered.wait, 10)

        await off_loop(campaigns.start_campaign, campaign_id)
        later = await cache.view(campaign_id)  # a new build: it does not wait for the old one
        held.release.set()
        stale = await early

        cached = cache.cached(campaign_id)
        assert (status_in(stale), status_in(later)) == ("Scheduled", "Running")
        assert cached is not None
        assert status_in(cached) == "Running"


async def test_a_reader_cancelled_while_waiting_leaves_the_build_to_the_others(
    campaigns: CampaignsApp, held: CountedViews
) -> None:
    cache = ViewCache(campaigns)
    campaign_id = scheduled(campaigns)
    async with watching(cache):
        leaving, staying = (asyncio.create_task(cache.view(campaign_id)) for _ in range(2))
        await off_loop(held.entered.wait, 10)

        leaving.cancel()
        held.release.set()
        body = await staying

        assert leaving.cancelled()
        assert status_in(body) == "Scheduled"
        assert cache.cached(campaign_id) == body
        assert held.built == [campaign_id]


class _StopWatchingError(Exception):
    pass


def _stop(_: int) -> None:
    raise _StopWatchingError
