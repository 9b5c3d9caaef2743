"""A `LoopWriter` over the in-memory store: the path async drivers take, unit-tested."""

from __future__ import annotations

from collections.abc import Sequence

from eventsourcing.persistence import StoredEvent

from app.campaigns import CampaignsApp


class StoreLoopWriter:
    """Writes through the store's own recorders, awaited as a driver on the loop would be."""

    def __init__(self, campaigns: CampaignsApp) -> None:
        self._campaigns = campaigns
        self.here = True  # whether it says it can write on the running loop
        self.batches = 0
        self.snapshots = 0

    def on_this_loop(self) -> bool:
        return self.here

    async def insert(
        self, events: Sequence[StoredEvent], snapshots: Sequence[StoredEvent]
    ) -> Sequence[int]:
        self.batches += 1
        positions = self._campaigns.recorder.insert_events(list(events))
        assert positions is not None
        if snapshots:
            assert self._campaigns.snapshots is not None
            self._campaigns.snapshots.recorder.insert_events(list(snapshots))
            self.snapshots += len(snapshots)
        return positions
