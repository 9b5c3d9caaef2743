"""Two senders on one store (two processes) make one notification and deliver it once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.campaigns import CampaignsApp
from app.log_follower import LogFollower
from app.notifications import NotificationSender
from tests import histories
from tests.builders import scheduled
from tests.fakes.system import InstantSleeper, ManualClock


class RecordingTransport:
    """A receiver that takes everything and remembers it."""

    def __init__(self) -> None:
        self.delivered: list[tuple[str, str, int]] = []

    async def deliver(
        self, notification_id: str, kind: str, attempt: int, payload: Mapping[str, Any]
    ) -> int:
        self.delivered.append((notification_id, kind, attempt))
        return 204


def a_sender(campaigns: CampaignsApp, clock: ManualClock, transport: RecordingTransport) -> Any:
    sender = NotificationSender(
        campaigns,
        LogFollower(campaigns),  # a follower of its own, as another process has
        transport,
        clock=clock,
        sleeper=InstantSleeper(clock),
    )
    sender.prepare()
    return sender


async def test_two_senders_make_one_notification_and_deliver_it_once(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    transport = RecordingTransport()
    senders = [a_sender(campaigns, clock, transport) for _ in range(2)]
    campaign_id = scheduled(campaigns, 1)
    campaigns.start_campaign(campaign_id)
    histories.pause_campaign(campaigns, campaign_id)

    for sender in senders:
        sender._follower.catch_up()
    made = [sender.record_new() for sender in senders]
    attempted = [await sender.deliver_due() for sender in senders]

    assert sorted(made) == [0, 1]
    assert sum(attempted) == 1
    assert [(kind, attempt) for _, kind, attempt in transport.delivered] == [("campaign.paused", 1)]
