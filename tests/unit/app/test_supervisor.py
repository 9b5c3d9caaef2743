"""The supervisor: recovery at start, the scheduler, auto-resume and operator commands."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from uuid import UUID

import pytest

from app.campaigns import CampaignsApp
from app.runner import CampaignRunner, RunnerPorts
from app.supervisor import Supervisor, SupervisorSettings
from domain.campaign import PauseReason
from domain.contacts import ChatId
from domain.pacing import CampaignOptions, Pacing
from domain.session import SessionName
from tests.builders import scheduled
from tests.fakes.gateway import FakeMediaStore, FakeWahaGateway
from tests.fakes.system import InstantSleeper, ManualClock, SeededRandom


class GatedSleeper:
    """Waits until the test opens the gate: a run that is provably between two contacts."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.waiting = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.waiting.set()
        await self.gate.wait()


@pytest.fixture
def gateway(clock: ManualClock) -> FakeWahaGateway:
    return FakeWahaGateway(clock)


def make_supervisor(
    campaigns: CampaignsApp,
    gateway: FakeWahaGateway,
    clock: ManualClock,
    sleeper: InstantSleeper | GatedSleeper,
) -> Supervisor:
    runner = CampaignRunner(
        RunnerPorts(campaigns, gateway, FakeMediaStore(), clock, sleeper, SeededRandom(0.5))
    )
    return Supervisor(campaigns, runner, gateway, clock=clock, sleeper=sleeper)


@pytest.fixture
def supervisor(
    campaigns: CampaignsApp, gateway: FakeWahaGateway, clock: ManualClock, sleeper: InstantSleeper
) -> Supervisor:
    return make_supervisor(campaigns, gateway, clock, sleeper)


def paused_for_session(campaigns: CampaignsApp, n: int = 3, **kwargs: object) -> UUID:
    campaign_id: UUID = scheduled(campaigns, n, **kwargs)
    campaigns.start_campaign(campaign_id)
    campaigns.pause_campaign(campaign_id, reason=PauseReason.SESSION_NOT_WORKING, detail="STARTING")
    return campaign_id


async def test_campaigns_left_running_are_picked_up_at_start(
    campaigns: CampaignsApp, supervisor: Supervisor, gateway: FakeWahaGateway, clock: ManualClock
) -> None:
    campaign_id = scheduled(campaigns)
    campaigns.start_campaign(campaign_id)
    campaigns.begin_attempt(campaign_id, index=0, attempt_id="a0", chat_id="4915110000000@c.us")
    clock.advance(91)  # past the longest silence a live runner keeps: 2 WAHA calls + 30 s

    await supervisor.tick()
    await supervisor.wait_for_runs()

    view = campaigns.campaign(campaign_id)
    assert (view.status, view.in_doubt, view.sent) == ("Completed", 1, 2)
    assert "4915110000000@c.us" not in gateway.chats_messaged()


async def test_a_due_scheduled_campaign_starts_on_its_own(
    campaigns: CampaignsApp, supervisor: Supervisor, clock: ManualClock
) -> None:
    campaign_id = scheduled(campaigns, scheduled_for=clock.now() + timedelta(hours=1))

    await supervisor.tick()
    assert campaigns.campaign(campaign_id).status == "Scheduled"

    clock.advance(3600)
    await supervisor.tick()
    await supervisor.wait_for_runs()
    assert campaigns.campaign(campaign_id).status == "Completed"


async def test_a_campaign_paused_for_its_session_resumes_when_it_works_again(
    campaigns: CampaignsApp, supervisor: Supervisor, gateway: FakeWahaGateway
) -> None:
    campaign_id = paused_for_session(campaigns)
    gateway.status = "STARTING"
    await supervisor.tick()
    assert campaigns.campaign(campaign_id).status == "Paused"

    gateway.status = "WORKING"
    await supervisor.on_session_status("default", "WORKING")
    await supervisor.wait_for_runs()

    assert campaigns.campaign(campaign_id).status == "Completed"
    resumed = [h for h in campaigns.history(campaign_id) if h.type == "CampaignResumed"]
    assert [(h.data["index"], h.data["automatic"]) for h in resumed] == [(0, True)]


async def test_session_polls_back_off_while_the_session_is_down(
    campaigns: CampaignsApp, supervisor: Supervisor, gateway: FakeWahaGateway, clock: ManualClock
) -> None:
    paused_for_session(campaigns)
    gateway.status = "STOPPED"

    await supervisor.tick()
    await supervisor.tick()
    assert gateway.status_checks == 1
    clock.advance(2)
    await supervisor.tick()
    assert gateway.status_checks == 2
    clock.advance(2)
    await supervisor.tick()
    assert gateway.status_checks == 2
    clock.advance(3)
    await supervisor.tick()
    assert gateway.status_checks == 3


async def test_a_manual_pause_is_never_resumed_automatically(
    campaigns: CampaignsApp, supervisor: Supervisor, gateway: FakeWahaGateway
) -> None:
    campaign_id: UUID = scheduled(campaigns)
    campaigns.start_campaign(campaign_id)
    campaigns.pause_campaign(campaign_id)

    await supervisor.on_session_status("default", "WORKING")
    await supervisor.tick()

    assert campaigns.campaign(campaign_id).status == "Paused"
    assert gateway.status_checks == 0


async def test_auto_resume_can_be_switched_off(
    campaigns: CampaignsApp, supervisor: Supervisor
) -> None:
    campaign_id = paused_for_session(campaigns, options=CampaignOptions(auto_resume=False))

    assert await supervisor.on_session_status("default", "WORKING") == []
    assert campaigns.campaign(campaign_id).status == "Paused"


async def test_a_flapping_session_stops_auto_resume_and_says_why(
    campaigns: CampaignsApp, supervisor: Supervisor, gateway: FakeWahaGateway, clock: ManualClock
) -> None:
    campaign_id = paused_for_session(
        campaigns, 5, options=CampaignOptions(max_auto_resumes_per_hour=1)
    )
    gateway.statuses.extend(["WORKING", "STARTING"])

    assert await supervisor.on_session_status("default", "WORKING") == [campaign_id]
    await supervisor.wait_for_runs()
    assert campaigns.campaign(campaign_id).status == "Paused"

    clock.advance(60)
    assert await supervisor.on_session_status("default", "WORKING") == []

    view = campaigns.campaign(campaign_id)
    assert view.status == "Paused"
    withheld = [h for h in campaigns.history(campaign_id) if h.type == "AutoResumeWithheld"]
    assert len(withheld) == 1
    assert "1 automatic resumes in the last hour" in withheld[0].data["detail"]
    assert await supervisor.on_session_status("default", "WORKING") == []


async def test_an_operator_pause_stops_the_run_between_contacts(
    campaigns: CampaignsApp, gateway: FakeWahaGateway, clock: ManualClock
) -> None:
    sleeper = GatedSleeper()
    supervisor = make_supervisor(campaigns, gateway, clock, sleeper)
    campaign_id: UUID = scheduled(campaigns, 3, pacing=Pacing(10, 20))
    await supervisor.run_now(campaign_id)
    await sleeper.waiting.wait()

    view = await supervisor.pause(campaign_id)

    assert view.status == "Paused"
    assert view.pause is not None
    assert (view.pause.reason, view.pause.index) == ("manual", 1)
    assert len(gateway.sent) == 1


async def test_an_operator_cancel_stops_the_run(
    campaigns: CampaignsApp, gateway: FakeWahaGateway, clock: ManualClock
) -> None:
    sleeper = GatedSleeper()
    supervisor = make_supervisor(campaigns, gateway, clock, sleeper)
    campaign_id: UUID = scheduled(campaigns, 3, pacing=Pacing(10, 20))
    await supervisor.run_now(campaign_id)
    await sleeper.waiting.wait()

    view = await supervisor.cancel(campaign_id, "wrong text")

    assert view.status == "Cancelled"
    assert len(gateway.sent) == 1


async def test_a_shutdown_pauses_with_its_reason_and_a_restart_resumes_at_once(
    campaigns: CampaignsApp, gateway: FakeWahaGateway, clock: ManualClock
) -> None:
    sleeper = GatedSleeper()
    supervisor = make_supervisor(campaigns, gateway, clock, sleeper)
    campaign_id: UUID = scheduled(campaigns, 3, pacing=Pacing(10, 20))
    await supervisor.run_now(campaign_id)
    await sleeper.waiting.wait()

    await supervisor.shutdown()
    view = campaigns.campaign(campaign_id)
    assert (view.status, view.in_flight, view.next_index) == ("Paused", None, 1)
    assert view.pause is not None
    assert view.pause.reason == "shutdown"

    restarted = make_supervisor(campaigns, gateway, clock, InstantSleeper())
    await restarted.tick()
    await restarted.wait_for_runs()
    assert campaigns.campaign(campaign_id).status == "Completed"
    assert set(Counter(gateway.chats_messaged()).values()) == {1}
    assert len(gateway.sent) == 3


async def test_resume_runs_the_campaign_from_its_paused_contact(
    campaigns: CampaignsApp, supervisor: Supervisor, gateway: FakeWahaGateway, clock: ManualClock
) -> None:
    campaign_id: UUID = scheduled(campaigns, 3)
    campaigns.start_campaign(campaign_id)
    campaigns.begin_attempt(campaign_id, index=0, attempt_id="a", chat_id="4915110000000@c.us")
    await gateway.send_text(SessionName("default"), ChatId("4915110000000@c.us"), "Hello Contact 0")
    clock.advance(91)
    await supervisor.tick()
    await supervisor.wait_for_runs()

    assert gateway.chats_messaged() == [
        "4915110000000@c.us",
        "4915110000001@c.us",
        "4915110000002@c.us",
    ]


async def test_the_watch_loop_starts_due_campaigns(
    campaigns: CampaignsApp, gateway: FakeWahaGateway, clock: ManualClock
) -> None:
    sleeper = GatedSleeper()
    runner = CampaignRunner(
        RunnerPorts(campaigns, gateway, FakeMediaStore(), clock, InstantSleeper(), SeededRandom())
    )
    supervisor = Supervisor(
        campaigns, runner, gateway, clock=clock, sleeper=sleeper, settings=SupervisorSettings()
    )
    await supervisor.start()
    campaign_id: UUID = scheduled(campaigns, 2)
    await sleeper.waiting.wait()
    sleeper.gate.set()
    while campaign_id not in supervisor.runs:
        await asyncio.sleep(0)
    await supervisor.wait_for_runs()
    await supervisor.shutdown()

    assert campaigns.campaign(campaign_id).status == "Completed"


async def test_a_campaign_another_runner_may_still_own_is_not_taken_over_before_it_goes_quiet(
    campaigns: CampaignsApp, supervisor: Supervisor, gateway: FakeWahaGateway, clock: ManualClock
) -> None:
    campaign_id = scheduled(campaigns)
    campaigns.start_campaign(campaign_id)
    campaigns.begin_attempt(campaign_id, index=0, attempt_id="a0", chat_id="4915110000000@c.us")
    await gateway.send_text(SessionName("default"), ChatId("4915110000000@c.us"), "Hello Contact 0")

    clock.advance(89)  # a live runner may still be sending, then checking the session
    await supervisor.tick()
    assert not supervisor.is_running(campaign_id)
    assert campaigns.campaign(campaign_id).in_flight is not None

    clock.advance(2)
    await supervisor.tick()
    await supervisor.wait_for_runs()
    view = campaigns.campaign(campaign_id)
    assert (view.status, view.sent, view.in_doubt) == ("Completed", 3, 0)


async def test_the_quiet_limit_grows_with_pacing_and_the_calls_a_run_makes() -> None:
    from app.campaign_facts import CampaignFacts
    from domain.lifecycle import CampaignStatus

    settings = SupervisorSettings(waha_timeout_seconds=30, takeover_after=timedelta(seconds=30))
    base = CampaignFacts(
        id=UUID(int=1),
        position=1,
        status=CampaignStatus.RUNNING,
        session="default",
        version=3,
        sent=0,
        failed=0,
        skipped=0,
        in_doubt=0,
        scheduled_for=ManualClock().now(),
        pause_reason=None,
        auto_resume=True,
        last_event_at=None,
        in_flight=False,
        max_pacing_seconds=60,
        simulate_typing=False,
        check_numbers=False,
    )
    from dataclasses import replace

    assert settings.quiet_limit(base) == timedelta(seconds=60 + 1 * 30 + 30)
    unpaced = replace(base, max_pacing_seconds=0.0)
    assert settings.quiet_limit(unpaced) == timedelta(seconds=2 * 30 + 30)
    typing = replace(base, simulate_typing=True, check_numbers=True)
    assert settings.quiet_limit(typing) == timedelta(seconds=60 + 5 * 30 + 8 + 30)
