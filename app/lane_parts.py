"""What a session's lane works with: its ports, its timings, and the campaigns it holds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from app.campaign_facts import CampaignFacts
from app.campaigns import CampaignsApp
from app.committer import GroupCommitter
from app.ports import (
    Clock,
    MediaStore,
    RandomSource,
    SessionStatusFact,
    Sleeper,
    WahaGateway,
)
from domain.audience import CHUNK_SIZE
from domain.campaign import Campaign
from domain.contacts import Contact
from domain.content import MessageContent
from domain.gates import GateVerdict, Go
from domain.pacing import CampaignOptions, Pacing
from domain.rotation import Contender
from domain.session import SessionName


class LaneEnd(StrEnum):
    """Why a lane's run stopped."""

    IDLE = "idle"  # nothing to send or watch for a while: the lease is let go
    LOST = "lost"  # the lease was lost, or another holder recorded first: stop at once
    STOPPED = "stopped"  # the service stops: running campaigns paused with reason shutdown


@dataclass(frozen=True)
class LaneSettings:
    """A lane's timings; every wait goes through the injected sleeper."""

    # Status polls of a session that went down back off through these, then stay at the last.
    poll_backoff_seconds: tuple[float, ...] = (2.0, 5.0, 10.0, 30.0, 60.0)
    # With nothing to send or watch for this long, the lane lets its lease go.
    idle_seconds: float = 30.0
    # How long after a lost answer WAHA's message store is asked for the message.
    settle_delay_seconds: float = 2.0
    # The lease is renewed this often; without a renewal for `lease_seconds` nothing is sent.
    renew_every_seconds: float = 2.0
    lease_seconds: float | None = None  # None: an OS lock, held while the process lives


class SendGates(Protocol):
    """The number's guardrails, asked before every intent (after the status check)."""

    def observe_status(self, fact: SessionStatusFact) -> None:
        """Take note of the session's status as just checked (WhatsApp's limits ride on it)."""
        ...

    async def before_send(
        self, session: SessionName, campaign: Campaign, contact: Contact, now: datetime
    ) -> GateVerdict:
        """Return whether contact `campaign.next_index` may be messaged now."""
        ...


class OpenGates:
    """No guardrails: every contact may be messaged."""

    def observe_status(self, fact: SessionStatusFact) -> None:
        """Ignore it."""

    async def before_send(
        self,
        session: SessionName,  # noqa: ARG002 - the port's signature
        campaign: Campaign,  # noqa: ARG002
        contact: Contact,  # noqa: ARG002
        now: datetime,  # noqa: ARG002
    ) -> GateVerdict:
        """Return Go."""
        return Go()


@dataclass(frozen=True)
class LanePorts:
    """What a lane talks to: the store (directly and through the group committer) and WAHA."""

    campaigns: CampaignsApp
    committer: GroupCommitter
    gateway: WahaGateway
    media: MediaStore
    clock: Clock
    sleeper: Sleeper
    rng: RandomSource
    # Every campaign's facts as the log follower knows them (caught up by the caller).
    facts: Callable[[], list[CampaignFacts]]
    gates: SendGates = field(default_factory=OpenGates)


@dataclass
class Held:
    """A campaign a lane holds: the aggregate it appends to, and what it needs to send."""

    campaign: Campaign
    order: int
    content: MessageContent = field(init=False)
    pacing: Pacing = field(init=False)
    options: CampaignOptions = field(init=False)
    _chunk_number: int = -1
    _chunk: list[Contact] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.adopt(self.campaign)

    def adopt(self, campaign: Campaign) -> None:
        """Hold `campaign` (a fresher copy from the store) from now on."""
        self.campaign = campaign
        self.content = MessageContent.from_record(campaign.message)
        self.pacing = Pacing.from_record(campaign.pacing)
        self.options = CampaignOptions.from_record(campaign.options)

    @property
    def id(self) -> UUID:
        """The campaign's id."""
        return self.campaign.id

    def contender(self) -> Contender:
        """Return the campaign as the rotation sees it."""
        return Contender(self.id, self.options.priority, self.order)

    def contact(self, campaigns: CampaignsApp, index: int) -> Contact:
        """Return contact `index`, reading its chunk of the audience when needed (blocking)."""
        number = index // CHUNK_SIZE
        if number != self._chunk_number:
            self._chunk = campaigns.audience_chunk(self.campaign.audience_id, number)
            self._chunk_number = number
        return self._chunk[index - number * CHUNK_SIZE]

    def needs_chunk(self, index: int) -> bool:
        """Whether reading contact `index` reads the store."""
        return index // CHUNK_SIZE != self._chunk_number
