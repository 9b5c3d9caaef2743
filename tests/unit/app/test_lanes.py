"""A session's lane: one sender for every running campaign on one WhatsApp number."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from app.campaigns import CampaignsApp
from app.ports import (
    GatewayRejectedError,
    GatewayUnavailableError,
    ImagePayload,
    SendOutcomeUnknownError,
)
from domain.content import ImageReference
from domain.lane import Lane
from domain.pacing import CampaignOptions, Pacing
from domain.session import SessionName
from tests import histories
from tests.builders import contacts, scheduled
from tests.fakes.gateway import FakeWahaGateway
from tests.fakes.system import InstantSleeper, ManualClock, SeededRandom
from tests.unit.app.lane_harness import Harness

SESSION = SessionName("default")


@pytest.fixture
async def harness(
    campaigns: CampaignsApp, clock: ManualClock, sleeper: InstantSleeper
) -> AsyncIterator[Harness]:
    built = Harness(campaigns, FakeWahaGateway(clock), clock, sleeper)
    yield built
    await built.stop()


def lane_events(harness: Harness, kind: type[Any]) -> list[Any]:
    return [e for e in harness.lane_events() if isinstance(e, kind)]


def a_session_error() -> GatewayUnavailableError:
    return GatewayUnavailableError("WAHA sessions.get unreachable: ClientConnectorError")


def server_error() -> SendOutcomeUnknownError:
    return SendOutcomeUnknownError("WAHA sendText answered HTTP 500", status=500)


# -- one sender, every contact --------------------------------------------------------------


async def test_a_working_session_reaches_every_contact_and_completes(harness: Harness) -> None:
    campaign_id = scheduled(harness.campaigns, 3)

    await harness.run_until_quiet()

    view = harness.campaigns.campaign(campaign_id)
    assert (view.status, view.sent, view.next_index) == ("Completed", 3, 3)
    assert len(harness.gateway.sent) == 3
    assert harness.gateway.status_checks == 3  # the seed's rule: one check before each contact


async def test_each_intent_is_durable_before_its_send_and_carries_the_lease(
    harness: Harness,
) -> None:
    campaign_id = scheduled(harness.campaigns, 2)
    durable_before_send: list[bool] = []
    send = harness.gateway.send_text

    async def checking_send(*args: Any, **kwargs: Any) -> Any:
        flight = harness.campaigns.load(campaign_id).in_flight
        durable_before_send.append(flight is not None and flight["message_id"] is not None)
        return await send(*args, **kwargs)

    harness.gateway.send_text = checking_send  # type: ignore[method-assign]
    await harness.run_until_quiet()

    assert durable_before_send == [True, True]
    intents = [e for e in harness.events_of(campaign_id) if type(e).__name__ == "AttemptStarted"]
    assert {e.lease_epoch for e in intents} == {harness.lane().epoch}
    assert [e.text for e in intents] == ["Hello Contact 0", "Hello Contact 1"]


async def test_the_lane_record_shows_every_turn_and_the_gap_before_it(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    harness = Harness(
        campaigns, FakeWahaGateway(clock), clock, InstantSleeper(clock), rng=SeededRandom(0.0, 0.5)
    )
    scheduled(campaigns, 3, pacing=Pacing(10, 20))

    await harness.run_until_quiet()
    await harness.stop()

    turns = lane_events(harness, Lane.TurnTaken)
    ends = lane_events(harness, Lane.TurnEnded)
    assert [t.index for t in turns] == [0, 1, 2]
    assert [e.gap_seconds for e in ends] == [10.0, 15.0, None]  # drawn within 10..20
    assert [t.waited_seconds for t in turns] == [None, 10.0, 15.0]


async def test_two_sessions_send_in_lanes_of_their_own(harness: Harness) -> None:
    first = scheduled(harness.campaigns, 2)
    second = scheduled(harness.campaigns, 2, session="other", contacts=contacts(2, start=50))

    await harness.run_until_quiet()

    assert {s.session for s in harness.gateway.sent} == {"default", "other"}
    assert harness.campaigns.campaign(first).status == "Completed"
    assert harness.campaigns.campaign(second).status == "Completed"
    assert harness.lane("other").session == "other"


# -- taking turns ------------------------------------------------------------------------------


async def test_campaigns_on_one_session_take_turns_contact_by_contact(harness: Harness) -> None:
    ids = [
        scheduled(harness.campaigns, 10, pacing=Pacing(1, 2), contacts=contacts(10, start=100 * k))
        for k in range(3)
    ]

    await harness.run_until_quiet()

    order = [UUID(t.campaign_id) for t in lane_events(harness, Lane.TurnTaken)]
    assert order == ids * 10
    assert len(harness.gateway.sent) == 30


async def test_a_higher_priority_goes_first_and_equals_alternate(harness: Harness) -> None:
    low = scheduled(harness.campaigns, 2, pacing=Pacing(1, 2), contacts=contacts(2, start=0))
    high = [
        scheduled(
            harness.campaigns,
            2,
            pacing=Pacing(1, 2),
            options=CampaignOptions(priority=5),
            contacts=contacts(2, start=100 * k),
        )
        for k in (1, 2)
    ]

    await harness.run_until_quiet()

    order = [UUID(t.campaign_id) for t in lane_events(harness, Lane.TurnTaken)]
    assert order == [high[0], high[1], high[0], high[1], low, low]


async def test_a_campaign_created_later_joins_the_round_without_starving_the_first(
    harness: Harness,
) -> None:
    first = scheduled(harness.campaigns, 4, pacing=Pacing(1, 2))
    later: list[UUID] = []

    def create_a_second_after_the_first_send(waits: int) -> None:
        if waits == 1 and not later:
            second = scheduled(
                harness.campaigns, 4, pacing=Pacing(1, 2), contacts=contacts(4, start=50)
            )
            harness.campaigns.start_campaign(second)  # as the supervisor's next tick does
            harness.tracker.refresh()
            harness.lanes.notice(SessionName(SESSION), second)
            later.append(second)

    harness.sleeper.on_sleep = create_a_second_after_the_first_send
    await harness.run_until_quiet()

    order = [UUID(t.campaign_id) for t in lane_events(harness, Lane.TurnTaken)]
    assert order.count(first) == 4
    assert order.count(later[0]) == 4
    # From the second's first turn, they alternate: neither goes twice while the other waits.
    both = order[order.index(later[0]) :]
    assert both == [later[0], first] * 3 + [later[0]]


async def test_the_gap_is_drawn_in_the_bounds_of_the_campaign_that_goes_next(
    harness: Harness,
) -> None:
    slow = scheduled(harness.campaigns, 2, pacing=Pacing(100, 200), contacts=contacts(2))
    fast = scheduled(harness.campaigns, 2, pacing=Pacing(1, 2), contacts=contacts(2, start=50))

    await harness.run_until_quiet()

    ends = lane_events(harness, Lane.TurnEnded)
    by_next = [(UUID(e.next_campaign_id), e.gap_seconds) for e in ends if e.next_campaign_id]
    for campaign_id, gap in by_next:
        low, high = (100, 200) if campaign_id == slow else (1, 2)
        assert low <= gap <= high
    assert {campaign_id for campaign_id, _ in by_next} == {slow, fast}


# -- the session, once for all its campaigns -----------------------------------------------


async def test_a_session_that_is_not_working_pauses_every_running_campaign_at_its_own_contact(
    harness: Harness,
) -> None:
    first = scheduled(harness.campaigns, 3, contacts=contacts(3))
    second = scheduled(harness.campaigns, 3, contacts=contacts(3, start=50))

    def starting_from_the_fourth_check(checks: int) -> None:
        if checks == 4:
            harness.gateway.status = "STARTING"

    harness.gateway.before_status = starting_from_the_fourth_check

    await harness.supervisor.tick()
    await _until(lambda: harness.campaigns.campaign(second).status == "Paused")

    views = [harness.campaigns.campaign(c) for c in (first, second)]
    assert [(v.status, v.next_index) for v in views] == [("Paused", 2), ("Paused", 1)]
    assert {v.pause.reason for v in views if v.pause} == {"session_not_working"}
    paused = lane_events(harness, Lane.LanePaused)
    assert (paused[0].reason, sorted(paused[0].campaigns)) == (
        "session_not_working",
        sorted([str(first), str(second)]),
    )


async def test_a_session_that_works_again_resumes_its_campaigns_with_one_poll(
    harness: Harness,
) -> None:
    first = scheduled(harness.campaigns, 2, contacts=contacts(2))
    second = scheduled(harness.campaigns, 2, contacts=contacts(2, start=50))
    harness.gateway.status = "STOPPED"

    def back_after_two_polls(waits: int) -> None:
        if waits == 2:
            harness.gateway.status = "WORKING"

    harness.sleeper.on_sleep = back_after_two_polls
    await harness.supervisor.tick()
    await _until(lambda: harness.campaigns.campaign(second).status == "Completed")

    assert harness.campaigns.campaign(first).status == "Completed"
    # The check that found it down, then one poll per wait for the whole session (three),
    # then one check before each of the four sends: never one poll per campaign.
    assert harness.gateway.status_checks == 1 + 3 + 4
    came_back = lane_events(harness, Lane.LaneResumed)
    assert sorted(came_back[0].resumed) == sorted([str(first), str(second)])


async def test_a_failed_status_check_pauses_with_the_error(harness: Harness) -> None:
    campaign_id = scheduled(harness.campaigns, 2)
    harness.gateway.statuses.append(a_session_error())
    harness.gateway.status = "STOPPED"

    await harness.supervisor.tick()
    await _until(lambda: harness.campaigns.campaign(campaign_id).status == "Paused")

    pause = harness.campaigns.campaign(campaign_id).pause
    assert pause is not None
    assert (pause.reason, pause.index) == ("status_check_failed", 0)
    assert "unreachable" in pause.detail


async def test_a_flapping_session_stops_resuming_by_itself_and_says_why(
    harness: Harness,
) -> None:
    campaign_id = scheduled(
        harness.campaigns, 20, options=CampaignOptions(max_auto_resumes_per_hour=1)
    )
    # Works for a contact, then goes down, again and again.
    harness.gateway.statuses.extend(["WORKING", "STARTING", "WORKING", "WORKING", "STARTING"])
    harness.gateway.status = "WORKING"

    await harness.run_until_quiet()

    campaign = harness.campaigns.load(campaign_id)
    assert campaign.state.value == "Paused"
    assert campaign.auto_resume_withheld is not None
    assert "flapped" in campaign.auto_resume_withheld


# -- outcomes -------------------------------------------------------------------------------


async def test_a_refused_send_is_failed_and_the_run_goes_on(harness: Harness) -> None:
    campaign_id = scheduled(harness.campaigns, 3)
    harness.gateway.send_results.append(GatewayRejectedError("bad chat id", status=400))

    await harness.run_until_quiet()

    view = harness.campaigns.campaign(campaign_id)
    assert (view.status, view.failed, view.sent) == ("Completed", 1, 2)


async def test_sends_that_keep_failing_pause_only_their_campaign(harness: Harness) -> None:
    failing = scheduled(harness.campaigns, 5, options=CampaignOptions(max_consecutive_failures=2))
    healthy = scheduled(harness.campaigns, 3, contacts=contacts(3, start=50))
    refused = GatewayRejectedError("bad chat id", status=400)
    # The lane alternates: failing gets sends 1 and 3 and both are refused.
    harness.gateway.send_results.extend([refused, None, refused])

    await harness.run_until_quiet()

    stopped = harness.campaigns.campaign(failing)
    assert stopped.pause is not None
    assert (stopped.status, stopped.pause.reason, stopped.failed) == (
        "Paused",
        "too_many_failures",
        2,
    )
    assert harness.campaigns.campaign(healthy).status == "Completed"


async def test_an_account_restriction_pauses_the_number_without_counting_the_contact(
    harness: Harness,
) -> None:
    from app.ports import AccountRestrictedError

    campaign_id = scheduled(harness.campaigns, 3)
    harness.gateway.send_results.append(
        AccountRestrictedError("WAHA sendText: server returned error 463", status=500)
    )

    await harness.supervisor.tick()
    await _until(lambda: harness.campaigns.campaign(campaign_id).status == "Paused")

    view = harness.campaigns.campaign(campaign_id)
    assert view.pause is not None
    assert (view.pause.reason, view.next_index, view.failed) == ("account_restricted", 0, 0)
    assert [type(e).__name__ for e in harness.events_of(campaign_id)][-2:] == [
        "AttemptAbandoned",
        "CampaignPaused",
    ]


# -- answers lost on the way -----------------------------------------------------------------


async def test_a_lost_answer_for_a_message_that_went_out_is_found_by_its_id(
    harness: Harness,
) -> None:
    campaign_id = scheduled(harness.campaigns, 2)

    def lost() -> None:
        raise SendOutcomeUnknownError("WAHA sendText: read timeout")

    harness.gateway.send_results.append(lost)  # accepted, then the answer is lost

    await harness.run_until_quiet()

    view = harness.campaigns.campaign(campaign_id)
    assert (view.sent, view.in_doubt) == (2, 0)
    assert len(harness.gateway.sent) == 2  # found by its id, never sent again


async def test_a_lost_answer_for_an_image_is_found_by_its_caption_never_by_an_id(
    harness: Harness,
) -> None:
    harness.media.images["img"] = ImagePayload(b"\x89PNG", "image/png", "img.png")
    campaign_id = scheduled(
        harness.campaigns, 2, image=ImageReference("img", "0" * 64, "image/png", 4)
    )

    def lost() -> None:
        raise SendOutcomeUnknownError("WAHA sendImage: read timeout")

    harness.gateway.send_results.append(lost)  # accepted, then the answer is lost

    await harness.run_until_quiet()

    intents = [e for e in harness.events_of(campaign_id) if type(e).__name__ == "AttemptStarted"]
    view = harness.campaigns.campaign(campaign_id)
    # WAHA's media requests carry no id of ours: none is recorded, and the lookup goes by the
    # caption, which finds it: sent, never sent again.
    assert [e.message_id for e in intents] == [None, None]
    assert (view.sent, view.in_doubt, len(harness.gateway.sent)) == (2, 0, 2)


async def test_with_message_ids_a_5xx_streak_pauses_the_number_and_nobody_is_in_doubt(
    harness: Harness,
) -> None:
    campaign_id = scheduled(harness.campaigns, 6)
    harness.gateway.send_results.extend([server_error()] * 3)

    await harness.supervisor.tick()
    await _until(lambda: harness.campaigns.campaign(campaign_id).status == "Paused")
    view = harness.campaigns.campaign(campaign_id)

    assert view.pause is not None
    assert (view.pause.reason, view.in_doubt, view.next_index) == ("waha_unavailable", 0, 0)
    abandoned = [
        e for e in harness.events_of(campaign_id) if type(e).__name__ == "AttemptAbandoned"
    ]
    assert len(abandoned) == 3
    # WAHA works again: the contact goes out under the id of its abandoned attempt, once.
    intents = [e for e in harness.events_of(campaign_id) if type(e).__name__ == "AttemptStarted"]
    await _until(lambda: harness.campaigns.campaign(campaign_id).status == "Completed")
    # A WORKING status alone does not lift it: it waited out the first back-off (2 s) first.
    (went_down,) = lane_events(harness, Lane.LanePaused)
    (came_back,) = lane_events(harness, Lane.LaneResumed)
    assert came_back.at - went_down.at >= timedelta(seconds=2)
    later = [e for e in harness.events_of(campaign_id) if type(e).__name__ == "AttemptStarted"]
    assert later[len(intents)].message_id == intents[0].message_id
    assert len(harness.gateway.sent) == 6


async def test_back_from_waha_failing_one_more_unknown_outcome_pauses_again(
    harness: Harness,
) -> None:
    campaign_id = scheduled(harness.campaigns, 4)
    harness.gateway.send_results.extend([server_error()] * 4)  # 3, then one more after resuming

    await harness.supervisor.tick()
    await _until(lambda: harness.campaigns.campaign(campaign_id).status == "Completed")

    pauses = lane_events(harness, Lane.LanePaused)
    assert [p.reason for p in pauses] == ["waha_unavailable", "waha_unavailable"]
    ended = [e.unknown_streak for e in lane_events(harness, Lane.TurnEnded)]
    assert ended[:4] == [1, 2, 3, 1]  # the fourth alone was enough, on probation
    assert len(harness.gateway.sent) == 4


async def test_without_message_ids_a_5xx_streak_leaves_at_most_the_limit_in_doubt(
    harness: Harness,
) -> None:
    harness.gateway.message_ids_supported = False
    campaign_id = scheduled(harness.campaigns, 6)
    harness.gateway.send_results.extend([server_error()] * 10)

    await harness.supervisor.tick()
    await _until(lambda: harness.campaigns.campaign(campaign_id).status == "Paused")

    view = harness.campaigns.campaign(campaign_id)
    assert view.pause is not None
    assert (view.pause.reason, view.in_doubt) == ("waha_unavailable", 3)
    assert harness.lane().message_ids is False  # found out once, kept on the record


async def test_a_lane_taken_up_after_a_crash_settles_the_send_left_in_flight(
    harness: Harness,
) -> None:
    campaign_id = scheduled(harness.campaigns, 2)
    harness.campaigns.start_campaign(campaign_id)
    chat = str(harness.campaigns.audience_of(campaign_id)[0].chat_id)
    # The previous holder recorded this intent, sent, and died before recording the outcome.
    histories.begin_attempt(
        harness.campaigns, campaign_id, index=0, attempt_id="a-0", chat_id=chat, message_id="M-0"
    )
    await harness.gateway.send_text("default", chat, "Hello Contact 0", message_id="M-0")  # type: ignore[arg-type]

    await harness.run_until_quiet()

    view = harness.campaigns.campaign(campaign_id)
    assert (view.status, view.sent, view.in_doubt) == ("Completed", 2, 0)
    assert len(harness.gateway.sent) == 2  # contact 0 found, not sent again
    taken = lane_events(harness, Lane.LaneTakenUp)[0]
    assert taken.reconciled == [
        {"campaign_id": str(campaign_id), "index": 0, "attempt_id": "a-0", "outcome": "sent"}
    ]


# -- operators, through requests the lane obeys --------------------------------------------


async def test_an_operator_pause_is_obeyed_at_the_next_contact_boundary(harness: Harness) -> None:
    campaign_id = scheduled(harness.campaigns, 5, pacing=Pacing(10, 20))

    def pause_after_the_second_send(waits: int) -> None:
        if (
            len(harness.gateway.sent) == 2
            and harness.campaigns.load(campaign_id).pause_requested is None
        ):
            harness.campaigns.request_pause(campaign_id)

    harness.sleeper.on_sleep = pause_after_the_second_send
    await harness.run_until_quiet()

    view = harness.campaigns.campaign(campaign_id)
    assert view.pause is not None
    assert (view.status, view.pause.reason, view.next_index) == ("Paused", "manual", 2)
    assert len(harness.gateway.sent) == 2


async def test_an_operator_cancel_ends_the_campaign_for_good(harness: Harness) -> None:
    campaign_id = scheduled(harness.campaigns, 5, pacing=Pacing(10, 20))

    def cancel_after_the_first_send(waits: int) -> None:
        if len(harness.gateway.sent) == 1:
            harness.campaigns.cancel_campaign(campaign_id, reason="wrong list")

    harness.sleeper.on_sleep = cancel_after_the_first_send
    await harness.run_until_quiet()

    view = harness.campaigns.campaign(campaign_id)
    assert view.cancelled is not None
    assert (view.status, view.cancelled["reason"]) == ("Cancelled", "wrong list")
    assert len(harness.gateway.sent) == 1


async def test_a_stop_pauses_for_shutdown_and_the_next_holder_resumes_at_once(
    harness: Harness,
) -> None:
    campaign_id = scheduled(harness.campaigns, 4, pacing=Pacing(10, 20))

    def stop_after_the_first_send(waits: int) -> None:
        if len(harness.gateway.sent) == 1:
            harness.lanes.request_stop()

    harness.sleeper.on_sleep = stop_after_the_first_send
    await harness.supervisor.tick()
    await harness.lanes.stop(timeout=5)
    stopped = harness.campaigns.campaign(campaign_id)

    restarted = Harness(
        harness.campaigns,
        harness.gateway,
        harness.clock,
        InstantSleeper(harness.clock),
        leases=harness.leases,
        owner="after",
    )
    await restarted.run_until_quiet()
    await restarted.stop()

    assert stopped.pause is not None
    assert (stopped.status, stopped.pause.reason) == ("Paused", "shutdown")
    assert harness.campaigns.campaign(campaign_id).status == "Completed"
    assert len(harness.gateway.sent) == 4


# -- one holder at a time ---------------------------------------------------------------------


async def test_a_lane_whose_lease_is_gone_sends_nothing_more(harness: Harness) -> None:
    campaign_id = scheduled(harness.campaigns, 5, pacing=Pacing(10, 20))

    def lose_the_lease_after_two_sends(waits: int) -> None:
        if len(harness.gateway.sent) == 2:
            for session in harness.lanes.sessions():
                harness.lanes._lanes[session].run.lose()

    harness.sleeper.on_sleep = lose_the_lease_after_two_sends
    await harness.run_until_quiet()

    assert len(harness.gateway.sent) == 2
    assert harness.campaigns.campaign(campaign_id).status == "Running"


class StallingSleeper(InstantSleeper):
    """Instant, until the test stalls it: then the next wait lasts until it is let go."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock)
        self.stall = False
        self.stalled = asyncio.Event()
        self.let_go = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        if self.stall:
            self.stall = False
            self.stalled.set()
            await self.let_go.wait()
        await super().sleep(seconds)


async def test_a_holder_that_wakes_after_a_takeover_is_fenced_by_the_lane_record(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    gateway = FakeWahaGateway(clock)
    sleeper = StallingSleeper(clock)
    stalled = Harness(campaigns, gateway, clock, sleeper, owner="stalled")
    campaign_id = scheduled(campaigns, 6, pacing=Pacing(10, 20))

    def stall_after_two_sends(waits: int) -> None:
        sleeper.stall = len(gateway.sent) == 2 and not sleeper.stalled.is_set()

    sleeper.on_sleep = stall_after_two_sends
    await stalled.supervisor.tick()
    await sleeper.stalled.wait()
    # Stalled between two sends (a frozen VM) past its lease: another process takes over.
    stalled.leases.expire(SESSION)
    other = Harness(
        campaigns, gateway, clock, InstantSleeper(clock), leases=stalled.leases, owner="other"
    )
    await other.run_until_quiet()
    sleeper.let_go.set()
    await stalled.lanes.wait_quiet()
    await other.stop()
    await stalled.stop()

    view = campaigns.campaign(campaign_id)
    assert (view.status, view.sent) == ("Completed", 6)
    chats = [s.chat_id for s in gateway.sent]
    assert len(chats) == len(set(chats)) == 6  # the woken holder sent nothing more
    taken = [e for e in campaigns.events.get(stalled.lane().id) if isinstance(e, Lane.LaneTakenUp)]
    assert [(e.owner, e.previous_owner) for e in taken] == [("stalled", None), ("other", "stalled")]


# -- helpers --------------------------------------------------------------------------------


async def _until(condition: Any, within_seconds: float = 30.0) -> None:
    # Checked at every turn of the loop, so a state that lasts one turn is seen; bounded by
    # wall-clock time, not by a count of turns, which the lanes' thread hops would race on a
    # busy machine (it holds within milliseconds).
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_seconds
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("the condition never held")
        await asyncio.sleep(0)
