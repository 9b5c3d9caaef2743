"""Lanes on the in-memory store with the fake WAHA, a manual clock and instant sleeps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from adapters.leases import InProcessLaneLeases
from app.campaign_facts import CampaignFactsTracker
from app.campaigns import CampaignsApp
from app.committer import GroupCommitter
from app.lane_parts import LanePorts, LaneSettings, OpenGates, SendGates
from app.lanes import Lanes
from app.supervisor import Supervisor, SupervisorSettings
from domain.lane import Lane, lane_id
from domain.session import SessionName
from tests.fakes.gateway import FakeMediaStore, FakeWahaGateway
from tests.fakes.system import ManualClock, SeededRandom


@dataclass
class Harness:
    """One process's lanes and supervisor over a store, with everything faked but the store."""

    campaigns: CampaignsApp
    gateway: FakeWahaGateway
    clock: ManualClock
    sleeper: Any
    rng: SeededRandom = field(default_factory=lambda: SeededRandom(0.5))
    leases: InProcessLaneLeases = field(default_factory=InProcessLaneLeases)
    media: FakeMediaStore = field(default_factory=FakeMediaStore)
    settings: LaneSettings = field(default_factory=lambda: LaneSettings(settle_delay_seconds=0))
    owner: str = "here"
    gates: SendGates = field(default_factory=OpenGates)

    def __post_init__(self) -> None:
        self.tracker = CampaignFactsTracker(self.campaigns)
        self.committer = GroupCommitter(self.campaigns)
        self.lanes = Lanes(
            LanePorts(
                campaigns=self.campaigns,
                committer=self.committer,
                gateway=self.gateway,
                media=self.media,
                clock=self.clock,
                sleeper=self.sleeper,
                rng=self.rng,
                facts=self.tracker.facts,
                gates=self.gates,
            ),
            self.leases,
            owner=self.owner,
            settings=self.settings,
        )
        self.supervisor = Supervisor(
            self.campaigns,
            self.lanes,
            self.tracker,
            clock=self.clock,
            sleeper=self.sleeper,
            settings=SupervisorSettings(command_poll_seconds=0.05),
        )

    async def run_until_quiet(self) -> None:
        """Start due campaigns, give their sessions lanes, and wait until none runs."""
        await self.supervisor.tick()
        await self.supervisor.wait_for_runs()

    async def stop(self) -> None:
        await self.supervisor.shutdown()
        await self.committer.close()

    def lane(self, session: str = "default") -> Lane:
        found = self.campaigns.lane(SessionName(session))
        assert found is not None
        return found

    def lane_events(self, session: str = "default") -> list[Any]:
        return list(self.campaigns.events.get(lane_id(session)))

    def events_of(self, campaign_id: UUID) -> list[Any]:
        return list(self.campaigns.events.get(campaign_id))

    def types_of(self, campaign_id: UUID) -> list[str]:
        return [type(e).__name__ for e in self.events_of(campaign_id)]


def sent_chats(gateway: FakeWahaGateway) -> Sequence[str]:
    return [s.chat_id for s in gateway.sent]
