"""What the tests of the group commit's writers on the event loop share (PostgreSQL's, SQLite's)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent

from adapters.bootstrap import Services
from app.campaigns import CampaignsApp
from tests.builders import scheduled


def started(services: Services, n: int = 2) -> Any:
    """Return a scheduled campaign of `n` contacts, started and not yet saved (version 2)."""
    campaign = services.campaigns.load(scheduled(services.campaigns, n))
    campaign.start(at=services.clock.now())
    return campaign


def a_snapshot_due(services: Services) -> tuple[Any, list[StoredEvent], list[StoredEvent]]:
    """Return a started campaign one attempt on (version 3: a snapshot is due), unsaved, and
    its events and snapshots as the store takes them."""
    campaign = started(services)
    campaign.begin_attempt(
        index=0, attempt_id="a0", chat_id="4915100000000@c.us", at=services.clock.now()
    )
    stored, snapshots = services.campaigns.to_store(campaign.collect_events(), [campaign])
    return campaign, list(stored), list(snapshots)


def assert_recorded_with_its_snapshot(
    campaigns: CampaignsApp, campaign: Any, stored: Sequence[StoredEvent], positions: Sequence[int]
) -> None:
    """Assert the store logs `stored` at `positions`, as the library would, with one snapshot."""
    logged = campaigns.recorder.select_notifications(start=positions[0], limit=10)
    assert [(n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in logged] == [
        (p, s.originator_id, s.originator_version, s.topic, s.state)
        for p, s in zip(positions, stored, strict=True)
    ]
    assert campaigns.snapshots is not None
    assert [
        s.originator_version for s in campaigns.snapshots.recorder.select_events(campaign.id)
    ] == [3]
    assert campaigns.load(campaign.id).status == "Running"
