"""The runner against the fake WAHA port: the seed's plan, failures, pauses and recovery."""

from __future__ import annotations

from collections import Counter
from uuid import UUID

import pytest

from app.campaigns import CampaignsApp
from app.ports import (
    AccountRestrictedError,
    GatewayRejectedError,
    GatewayUnavailableError,
    ImagePayload,
    RateLimitedError,
    SendOutcomeUnknownError,
)
from app.runner import CampaignRunner, RunControl, RunEnd, RunnerPorts
from domain.contacts import ChatId
from domain.content import ImageReference
from domain.pacing import CampaignOptions, Pacing
from domain.session import SessionName
from tests.builders import scheduled
from tests.fakes.gateway import FakeMediaStore, FakeWahaGateway
from tests.fakes.system import InstantSleeper, ManualClock, SeededRandom


@pytest.fixture
def gateway(clock: ManualClock) -> FakeWahaGateway:
    return FakeWahaGateway(clock)


@pytest.fixture
def media() -> FakeMediaStore:
    return FakeMediaStore()


@pytest.fixture
def runner(
    campaigns: CampaignsApp,
    gateway: FakeWahaGateway,
    media: FakeMediaStore,
    clock: ManualClock,
    sleeper: InstantSleeper,
    rng: SeededRandom,
) -> CampaignRunner:
    return CampaignRunner(RunnerPorts(campaigns, gateway, media, clock, sleeper, rng))


def started(campaigns: CampaignsApp, n: int = 3, **kwargs: object) -> UUID:
    campaign_id: UUID = scheduled(campaigns, n, **kwargs)
    campaigns.start_campaign(campaign_id)
    return campaign_id


def event_types(campaigns: CampaignsApp, campaign_id: UUID) -> list[str]:
    return [entry.type for entry in campaigns.history(campaign_id)]


@pytest.mark.parametrize(
    "status", ["SCAN_QR_CODE", "STARTING", "STOPPED", "FAILED", "SOMETHING_NEW"]
)
async def test_a_session_that_is_not_working_pauses_before_the_first_send(
    campaigns: CampaignsApp, runner: CampaignRunner, gateway: FakeWahaGateway, status: str
) -> None:
    campaign_id = started(campaigns)
    gateway.status = status

    assert await runner.run(campaign_id) is RunEnd.PAUSED

    view = campaigns.campaign(campaign_id)
    assert view.status == "Paused"
    assert view.pause is not None
    assert (view.pause.reason, view.pause.detail, view.pause.index) == (
        "session_not_working",
        status,
        0,
    )
    assert gateway.sent == []


async def test_a_failed_status_check_pauses_with_the_error(
    campaigns: CampaignsApp, runner: CampaignRunner, gateway: FakeWahaGateway
) -> None:
    campaign_id = started(campaigns)
    gateway.statuses.extend(["WORKING", GatewayUnavailableError("connection refused")])

    assert await runner.run(campaign_id) is RunEnd.PAUSED

    view = campaigns.campaign(campaign_id)
    assert view.pause is not None
    assert view.pause.reason == "status_check_failed"
    assert "connection refused" in view.pause.detail
    assert view.next_index == 1
    assert gateway.chats_messaged() == ["4915110000000@c.us"]


async def test_a_working_session_reaches_every_send_and_completes(
    campaigns: CampaignsApp, runner: CampaignRunner, gateway: FakeWahaGateway
) -> None:
    campaign_id = started(campaigns)

    assert await runner.run(campaign_id) is RunEnd.COMPLETED

    view = campaigns.campaign(campaign_id)
    assert (view.status, view.sent, view.next_index) == ("Completed", 3, 3)
    assert [s.text for s in gateway.sent] == [
        "Hello Contact 0",
        "Hello Contact 1",
        "Hello Contact 2",
    ]
    assert gateway.status_checks == 3


async def test_a_pause_mid_campaign_keeps_the_index_of_the_next_contact(
    campaigns: CampaignsApp, runner: CampaignRunner, gateway: FakeWahaGateway
) -> None:
    campaign_id = started(campaigns, 4)
    gateway.statuses.extend(["WORKING", "WORKING", "STARTING"])

    await runner.run(campaign_id)

    view = campaigns.campaign(campaign_id)
    assert view.pause is not None
    assert (view.pause.index, view.next_index, view.sent) == (2, 2, 2)


async def test_a_failed_send_is_counted_and_the_run_goes_on(
    campaigns: CampaignsApp, runner: CampaignRunner, gateway: FakeWahaGateway
) -> None:
    campaign_id = started(campaigns)
    gateway.send_results.append(GatewayRejectedError("bad chat id", status=400, reason="400"))

    assert await runner.run(campaign_id) is RunEnd.COMPLETED

    view = campaigns.campaign(campaign_id)
    assert (view.sent, view.failed) == (2, 1)
    report = campaigns.contact_reports(campaign_id)[0]
    assert report.outcome == "failed"
    assert report.error is not None
    assert "bad chat id" in report.error


async def test_consecutive_failures_pause_the_campaign(
    campaigns: CampaignsApp, runner: CampaignRunner, gateway: FakeWahaGateway
) -> None:
    campaign_id = started(campaigns, 5, options=CampaignOptions(max_consecutive_failures=2))
    gateway.send_results.extend(GatewayRejectedError("no", status=400) for _ in range(5))

    assert await runner.run(campaign_id) is RunEnd.PAUSED

    view = campaigns.campaign(campaign_id)
    assert view.pause is not None
    assert (view.pause.reason, view.pause.index, view.failed) == ("too_many_failures", 2, 2)


async def test_a_session_stopped_during_the_delay_pauses_at_the_next_contact_and_resumes_there(
    campaigns: CampaignsApp,
    runner: CampaignRunner,
    gateway: FakeWahaGateway,
    sleeper: InstantSleeper,
) -> None:
    campaign_id = started(campaigns, 4, pacing=Pacing(30, 60))

    def stop_session_during_second_wait(waits: int) -> None:
        if waits == 2:
            gateway.status = "STOPPED"

    sleeper.on_sleep = stop_session_during_second_wait
    assert await runner.run(campaign_id) is RunEnd.PAUSED
    view = campaigns.campaign(campaign_id)
    assert view.pause is not None
    assert (view.pause.index, view.pause.reason) == (2, "session_not_working")

    gateway.status = "WORKING"
    campaigns.resume_campaign(campaign_id)
    assert await runner.run(campaign_id) is RunEnd.COMPLETED

    chats = gateway.chats_messaged()
    assert len(chats) == 4
    assert set(Counter(chats).values()) == {1}
    resumed = [h for h in campaigns.history(campaign_id) if h.type == "CampaignResumed"]
    assert resumed[0].data["index"] == 2


async def test_the_chosen_delays_are_on_the_record(
    campaigns: CampaignsApp, runner: CampaignRunner, sleeper: InstantSleeper
) -> None:
    campaign_id = started(campaigns, 3, pacing=Pacing(30, 60))

    await runner.run(campaign_id)

    delays = [
        h.data["seconds"] for h in campaigns.history(campaign_id) if h.type == "PacingDelayChosen"
    ]
    assert delays == [45.0, 45.0]
    assert sleeper.waits == [45.0, 45.0]


async def test_an_operator_pause_during_the_delay_pauses_at_the_next_contact(
    campaigns: CampaignsApp,
    runner: CampaignRunner,
    sleeper: InstantSleeper,
    gateway: FakeWahaGateway,
) -> None:
    campaign_id = started(campaigns, 3, pacing=Pacing(30, 60))
    control = RunControl()
    sleeper.on_sleep = lambda _: control.request_pause()

    assert await runner.run(campaign_id, control) is RunEnd.PAUSED

    view = campaigns.campaign(campaign_id)
    assert view.pause is not None
    assert (view.pause.reason, view.pause.index) == ("manual", 1)
    assert len(gateway.sent) == 1


async def test_an_operator_cancel_stops_the_campaign_for_good(
    campaigns: CampaignsApp, runner: CampaignRunner, sleeper: InstantSleeper
) -> None:
    campaign_id = started(campaigns, 3, pacing=Pacing(1, 1))
    control = RunControl()
    sleeper.on_sleep = lambda _: control.request_cancel("wrong audience")

    assert await runner.run(campaign_id, control) is RunEnd.CANCELLED

    view = campaigns.campaign(campaign_id)
    assert view.status == "Cancelled"
    assert view.cancelled is not None
    assert view.cancelled["reason"] == "wrong audience"


async def test_a_shutdown_pauses_on_the_record_and_a_resumed_run_continues(
    campaigns: CampaignsApp,
    runner: CampaignRunner,
    sleeper: InstantSleeper,
    gateway: FakeWahaGateway,
) -> None:
    campaign_id = started(campaigns, 3, pacing=Pacing(1, 1))
    control = RunControl()
    sleeper.on_sleep = lambda _: control.request_shutdown()

    assert await runner.run(campaign_id, control) is RunEnd.PAUSED
    view = campaigns.campaign(campaign_id)
    assert view.pause is not None
    assert (view.pause.reason, view.pause.index, view.in_flight) == ("shutdown", 1, None)

    sleeper.on_sleep = None
    campaigns.resume_campaign(campaign_id, automatic=True)
    assert await runner.run(campaign_id) is RunEnd.COMPLETED
    assert len(gateway.sent) == 3
    assert campaigns.load(campaign_id).auto_resumes == []  # not a session flap


async def test_an_account_restriction_pauses_without_counting_the_contact(
    campaigns: CampaignsApp, runner: CampaignRunner, gateway: FakeWahaGateway
) -> None:
    campaign_id = started(campaigns)
    gateway.send_results.extend([None, AccountRestrictedError("error 463", status=500)])

    assert await runner.run(campaign_id) is RunEnd.PAUSED

    view = campaigns.campaign(campaign_id)
    assert view.pause is not None
    assert (view.pause.reason, view.pause.index, view.sent, view.failed) == (
        "account_restricted",
        1,
        1,
        0,
    )
    assert view.in_flight is None
    assert "AttemptAbandoned" in event_types(campaigns, campaign_id)


async def test_rate_limiting_pauses_at_the_contact(
    campaigns: CampaignsApp, runner: CampaignRunner, gateway: FakeWahaGateway
) -> None:
    campaign_id = started(campaigns)
    gateway.send_results.append(RateLimitedError("rate-overlimit", status=500))

    await runner.run(campaign_id)

    view = campaigns.campaign(campaign_id)
    assert view.pause is not None
    assert (view.pause.reason, view.pause.index) == ("rate_limited", 0)


async def test_a_422_on_send_pauses_at_the_contact_for_its_session(
    campaigns: CampaignsApp, runner: CampaignRunner, gateway: FakeWahaGateway
) -> None:
    campaign_id = started(campaigns)
    gateway.send_results.append(
        GatewayRejectedError("not working", status=422, session_status="STARTING")
    )

    await runner.run(campaign_id)

    view = campaigns.campaign(campaign_id)
    assert view.pause is not None
    assert (view.pause.reason, view.pause.index, view.failed) == ("session_not_working", 0, 0)


async def test_an_unknown_outcome_that_reached_whatsapp_is_reconciled_as_sent(
    campaigns: CampaignsApp, runner: CampaignRunner, gateway: FakeWahaGateway
) -> None:
    campaign_id = started(campaigns)

    def answer_lost() -> None:
        raise SendOutcomeUnknownError("timeout")

    gateway.send_results.append(answer_lost)

    assert await runner.run(campaign_id) is RunEnd.COMPLETED

    view = campaigns.campaign(campaign_id)
    assert (view.sent, view.in_doubt) == (3, 0)
    assert len(gateway.sent) == 3


async def test_an_unknown_outcome_not_found_in_whatsapp_is_in_doubt_and_never_resent(
    campaigns: CampaignsApp, runner: CampaignRunner, gateway: FakeWahaGateway
) -> None:
    campaign_id = started(campaigns)
    gateway.send_results.append(SendOutcomeUnknownError("timeout"))

    assert await runner.run(campaign_id) is RunEnd.COMPLETED

    view = campaigns.campaign(campaign_id)
    assert (view.sent, view.in_doubt) == (2, 1)
    assert gateway.chats_messaged() == ["4915110000001@c.us", "4915110000002@c.us"]


async def test_a_crash_after_the_send_is_recovered_as_sent_without_resending(
    campaigns: CampaignsApp, runner: CampaignRunner, gateway: FakeWahaGateway, clock: ManualClock
) -> None:
    campaign_id = started(campaigns)
    campaigns.begin_attempt(campaign_id, index=0, attempt_id="a0", chat_id="4915110000000@c.us")
    await gateway.send_text(SessionName("default"), ChatId("4915110000000@c.us"), "Hello Contact 0")
    clock.advance(5)  # the process died here, before recording the outcome

    assert await runner.run(campaign_id) is RunEnd.COMPLETED

    view = campaigns.campaign(campaign_id)
    assert (view.sent, view.in_doubt) == (3, 0)
    assert Counter(gateway.chats_messaged())["4915110000000@c.us"] == 1


async def test_a_crash_before_the_send_is_recovered_as_in_doubt(
    campaigns: CampaignsApp, runner: CampaignRunner, gateway: FakeWahaGateway
) -> None:
    campaign_id = started(campaigns)
    campaigns.begin_attempt(campaign_id, index=0, attempt_id="a0", chat_id="4915110000000@c.us")

    await runner.run(campaign_id)

    reports = campaigns.contact_reports(campaign_id)
    assert [r.outcome for r in reports] == ["in_doubt", "sent", "sent"]
    assert "4915110000000@c.us" not in gateway.chats_messaged()


async def test_two_runners_on_one_campaign_send_each_contact_once(
    campaigns: CampaignsApp, clock: ManualClock, gateway: FakeWahaGateway, media: FakeMediaStore
) -> None:
    import asyncio

    campaign_id = started(campaigns, 20, pacing=Pacing(1, 2))
    first = CampaignRunner(
        RunnerPorts(campaigns, gateway, media, clock, InstantSleeper(), SeededRandom(0.1))
    )
    second = CampaignRunner(
        RunnerPorts(campaigns, gateway, media, clock, InstantSleeper(), SeededRandom(0.9))
    )

    ends = await asyncio.gather(first.run(campaign_id), second.run(campaign_id))

    assert sorted(ends) == sorted([RunEnd.COMPLETED, RunEnd.FENCED])
    chats = gateway.chats_messaged()
    assert len(chats) == 20
    assert set(Counter(chats).values()) == {1}
    assert campaigns.campaign(campaign_id).sent == 20


async def test_numbers_not_on_whatsapp_are_skipped_when_checking(
    campaigns: CampaignsApp, runner: CampaignRunner, gateway: FakeWahaGateway
) -> None:
    campaign_id = started(campaigns, options=CampaignOptions(check_numbers=True))
    gateway.not_on_whatsapp.add("4915110000001")

    await runner.run(campaign_id)

    view = campaigns.campaign(campaign_id)
    assert (view.sent, view.skipped) == (2, 1)
    assert "4915110000001@c.us" not in gateway.chats_messaged()


async def test_an_image_campaign_sends_the_image_with_the_rendered_caption(
    campaigns: CampaignsApp, runner: CampaignRunner, gateway: FakeWahaGateway, media: FakeMediaStore
) -> None:
    media.images["m1"] = ImagePayload(b"\x89PNG...", "image/png", "m1.png")
    image = ImageReference(media_id="m1", sha256="00" * 32, mimetype="image/png", size=7)
    campaign_id = started(campaigns, 2, image=image)

    await runner.run(campaign_id)

    assert [(s.text, s.image is not None) for s in gateway.sent] == [
        ("Hello Contact 0", True),
        ("Hello Contact 1", True),
    ]


async def test_typing_courtesy_marks_seen_then_types_before_each_send(
    campaigns: CampaignsApp,
    runner: CampaignRunner,
    gateway: FakeWahaGateway,
    sleeper: InstantSleeper,
) -> None:
    campaign_id = started(campaigns, 1, options=CampaignOptions(simulate_typing=True))

    await runner.run(campaign_id)

    chat = "4915110000000@c.us"
    assert gateway.courtesy == [("seen", chat), ("start_typing", chat), ("stop_typing", chat)]
    assert sleeper.waits == [1.0]
    assert len(gateway.sent) == 1


async def test_a_campaign_that_is_not_running_is_left_alone(
    campaigns: CampaignsApp, runner: CampaignRunner, gateway: FakeWahaGateway
) -> None:
    campaign_id = scheduled(campaigns)

    assert await runner.run(campaign_id) is RunEnd.NOT_RUNNING
    assert gateway.status_checks == 0


async def test_the_intent_is_recorded_before_each_outcome(
    campaigns: CampaignsApp, runner: CampaignRunner
) -> None:
    campaign_id = started(campaigns, 2)

    await runner.run(campaign_id)

    assert event_types(campaigns, campaign_id) == [
        "CampaignScheduled",
        "CampaignStarted",
        "AttemptStarted",
        "ContactAttempted",
        "AttemptStarted",
        "ContactAttempted",
        "CampaignCompleted",
    ]


async def test_an_image_that_cannot_be_read_pauses_before_any_intent(
    campaigns: CampaignsApp, runner: CampaignRunner, gateway: FakeWahaGateway
) -> None:
    image = ImageReference(media_id="ab" * 32, sha256="ab" * 32, mimetype="image/png", size=7)
    campaign_id = started(campaigns, 2, image=image)

    assert await runner.run(campaign_id) is RunEnd.PAUSED

    view = campaigns.campaign(campaign_id)
    assert view.pause is not None
    assert (view.pause.reason, view.pause.index, view.in_flight) == ("media_unavailable", 0, None)
    assert "AttemptStarted" not in event_types(campaigns, campaign_id)
    assert gateway.sent == []


@pytest.mark.parametrize("status", [401, 403, 413])
async def test_a_refusal_about_the_set_up_pauses_instead_of_failing_contacts(
    campaigns: CampaignsApp, runner: CampaignRunner, gateway: FakeWahaGateway, status: int
) -> None:
    campaign_id = started(campaigns)
    gateway.send_results.append(GatewayRejectedError("refused", status=status))

    assert await runner.run(campaign_id) is RunEnd.PAUSED

    view = campaigns.campaign(campaign_id)
    assert view.pause is not None
    assert (view.pause.reason, view.pause.index, view.failed) == ("waha_rejected", 0, 0)


async def test_a_rate_limited_number_check_pauses_as_rate_limited(
    campaigns: CampaignsApp, runner: CampaignRunner, gateway: FakeWahaGateway
) -> None:
    campaign_id = started(campaigns, options=CampaignOptions(check_numbers=True))

    async def limited(session: str, phone: str) -> None:
        raise RateLimitedError("rate-overlimit", status=500)

    gateway.check_exists = limited  # type: ignore[method-assign]

    await runner.run(campaign_id)

    view = campaigns.campaign(campaign_id)
    assert view.pause is not None
    assert (view.pause.reason, view.pause.index) == ("rate_limited", 0)


async def test_another_message_in_the_chat_does_not_prove_an_uncertain_send(
    campaigns: CampaignsApp, runner: CampaignRunner, gateway: FakeWahaGateway, clock: ManualClock
) -> None:
    campaign_id = started(campaigns, 1)
    campaigns.begin_attempt(campaign_id, index=0, attempt_id="a0", chat_id="4915110000000@c.us")
    await gateway.send_text(
        SessionName("default"), ChatId("4915110000000@c.us"), "Another campaign's text"
    )

    await runner.run(campaign_id)

    assert campaigns.contact_reports(campaign_id)[0].outcome == "in_doubt"


async def test_a_restarted_run_keeps_the_wait_chosen_before_the_restart(
    campaigns: CampaignsApp,
    gateway: FakeWahaGateway,
    media: FakeMediaStore,
    clock: ManualClock,
) -> None:
    # This sleeper does not move the clock: the stop comes at once, the whole wait is owed.
    sleeper = InstantSleeper()
    runner = CampaignRunner(RunnerPorts(campaigns, gateway, media, clock, sleeper, SeededRandom()))
    campaign_id = started(campaigns, 2, pacing=Pacing(40, 40))
    control = RunControl()
    sleeper.on_sleep = lambda _: control.request_shutdown()
    await runner.run(campaign_id, control)
    campaigns.resume_campaign(campaign_id, automatic=True)
    sleeper.on_sleep = None
    clock.advance(15)

    await runner.run(campaign_id)

    assert sleeper.waits == [40.0, 25.0]  # the first run's wait, then what was still owed
    assert campaigns.campaign(campaign_id).status == "Completed"


async def test_an_unexpected_error_before_a_send_pauses_and_keeps_the_last_outcome(
    campaigns: CampaignsApp, runner: CampaignRunner, gateway: FakeWahaGateway
) -> None:
    campaign_id = started(campaigns, 3)

    def break_on_second_check(checks: int) -> None:
        if checks == 2:
            raise RuntimeError("a bug")

    gateway.before_status = break_on_second_check

    assert await runner.run(campaign_id) is RunEnd.PAUSED

    view = campaigns.campaign(campaign_id)
    assert view.pause is not None
    assert (view.pause.reason, view.sent, view.next_index, view.in_flight) == (
        "runner_error",
        1,
        1,
        None,
    )
    assert "RuntimeError: a bug" in view.pause.detail


async def test_an_unexpected_error_during_a_send_leaves_it_for_the_next_run_to_look_up(
    campaigns: CampaignsApp, runner: CampaignRunner, gateway: FakeWahaGateway
) -> None:
    campaign_id = started(campaigns, 2)

    def crash_after_accepting() -> None:
        raise RuntimeError("a bug after the send")

    gateway.send_results.append(crash_after_accepting)

    with pytest.raises(RuntimeError):
        await runner.run(campaign_id)
    assert campaigns.campaign(campaign_id).in_flight is not None

    assert await runner.run(campaign_id) is RunEnd.COMPLETED
    view = campaigns.campaign(campaign_id)
    assert (view.sent, view.in_doubt) == (2, 0)
    assert len(gateway.sent) == 2
