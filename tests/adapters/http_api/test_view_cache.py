"""The view cache never serves a view older than what the store says."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from adapters.http_api.view_cache import ViewCache
from adapters.persistence import persistence_environment
from app.campaigns import CampaignsApp
from tests.builders import scheduled
from tests.fakes.system import InstantSleeper, ManualClock


def status_in(body: bytes) -> str:
    return str(json.loads(body)["status"])


def test_without_a_watcher_every_read_sees_the_latest_event(campaigns: CampaignsApp) -> None:
    cache = ViewCache(campaigns)
    campaign_id = scheduled(campaigns)
    assert status_in(cache.view_json(campaign_id)) == "Scheduled"

    campaigns.start_campaign(campaign_id)

    assert cache.cached(campaign_id) is None
    assert status_in(cache.view_json(campaign_id)) == "Running"


def test_a_save_in_this_process_invalidates_a_cached_view_at_once(
    campaigns: CampaignsApp,
) -> None:
    cache = ViewCache(campaigns)
    campaign_id = scheduled(campaigns)
    cache._store_position = campaigns.recorder.max_notification_id()  # as the watcher sets it
    first = cache.view_json(campaign_id)
    assert cache.cached(campaign_id) == first

    campaigns.start_campaign(campaign_id)

    assert cache.cached(campaign_id) is None
    assert status_in(cache.view_json(campaign_id)) == "Running"


async def test_the_watcher_tracks_the_store_position_while_it_runs(
    campaigns: CampaignsApp,
) -> None:
    cache = ViewCache(campaigns)
    scheduled(campaigns)
    seen: list[int | None] = []
    sleeper = InstantSleeper()

    def look_once(_: int) -> None:
        seen.append(cache._store_position)
        raise _StopWatchingError

    sleeper.on_sleep = look_once
    with contextlib.suppress(_StopWatchingError):
        await cache.watch_store(sleeper)

    assert seen == [campaigns.recorder.max_notification_id()]
    assert cache._store_position is None  # a stopped watcher vouches for nothing


def test_another_process_event_is_seen_once_the_store_position_moves(
    tmp_path: Path, clock: ManualClock
) -> None:
    env = persistence_environment(f"sqlite:///{tmp_path / 'campaigns.sqlite3'}")
    here, elsewhere = CampaignsApp(clock=clock, env=env), CampaignsApp(clock=clock, env=env)
    try:
        cache = ViewCache(here)
        campaign_id = scheduled(here)
        cache._store_position = here.recorder.max_notification_id()
        cache.view_json(campaign_id)

        elsewhere.start_campaign(campaign_id)
        cache._store_position = here.recorder.max_notification_id()  # the watcher's next look

        assert cache.cached(campaign_id) is None
        assert status_in(cache.view_json(campaign_id)) == "Running"
    finally:
        here.close()
        elsewhere.close()


class _StopWatchingError(Exception):
    pass
