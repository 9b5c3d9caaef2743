"""A campaign snapshot stored before the state's version 2 still loads, upcast."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from uuid import UUID

from adapters.persistence import persistence_environment
from app.campaigns import CampaignsApp
from domain.campaign import Campaign
from tests.builders import scheduled
from tests.fakes.system import ManualClock


def test_a_version_1_snapshot_loads_with_the_times_it_did_not_have(
    tmp_path: Path, clock: ManualClock
) -> None:
    env = persistence_environment(f"sqlite:///{tmp_path / 'campaigns.sqlite3'}")
    env.pop("AGGREGATE_CACHE_MAXSIZE")  # every load reads the store
    app = CampaignsApp(clock=clock, env=env)
    campaign_id: UUID = scheduled(app)
    app.start_campaign(campaign_id)
    live = app.load(campaign_id)
    assert app.snapshots is not None

    # Store a snapshot as version 1 of the state wrote it: no class_version, no new times.
    stored = app.mapper.to_stored_event(Campaign.Snapshot.take(live))
    state = app.mapper.transcoder.decode(stored.state)
    state["state"].pop("last_event_at")
    state["state"].pop("next_contact_at")
    state["state"].pop("class_version")
    app.snapshots.recorder.insert_events(
        [replace(stored, state=app.mapper.transcoder.encode(state))]
    )

    loaded = app.load(campaign_id)
    app.close()

    assert (loaded.status, loaded.version, loaded.next_index) == ("Running", live.version, 0)
    assert (loaded.last_event_at, loaded.next_contact_at) == (None, None)
