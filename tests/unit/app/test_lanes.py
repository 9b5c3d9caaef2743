"""A session's lane: one sender for every running campaign on one WhatsApp number."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.campaigns import CampaignsApp
from domain.pacing import Pacing
from tests.builders import contacts, scheduled
from tests.fakes.gateway import FakeWahaGateway
from tests.fakes.system import InstantSleeper, ManualClock
from tests.unit.app.lane_harness import Harness


@pytest.fixture
async def harness(
    campaigns: CampaignsApp, clock: ManualClock, sleeper: InstantSleeper
) -> AsyncIterator[Harness]:
    built = Harness(campaigns, FakeWahaGateway(clock), clock, sleeper)
    yield built
    await built.stop()


async def test_a_working_session_reaches_every_contact_and_completes(harness: Harness) -> None:
    campaign_id = scheduled(harness.campaigns, 3)

    await harness.run_until_quiet()

    view = harness.campaigns.campaign(campaign_id)
    assert (view.status, view.sent, view.next_index) == ("Completed", 3, 3)
    assert len(harness.gateway.sent) == 3
    assert harness.gateway.status_checks == 3


async def test_two_campaigns_on_one_session_take_turns_contact_by_contact(harness: Harness) -> None:
    first = scheduled(harness.campaigns, 3, pacing=Pacing(1, 2))
    second = scheduled(harness.campaigns, 3, pacing=Pacing(1, 2), contacts=contacts(3, start=100))

    await harness.run_until_quiet()

    order = [e.campaign_id for e in harness.lane_events() if type(e).__name__ == "TurnTaken"]
    assert order == [str(first), str(second)] * 3
