"""The number's guardrails on a real lane: each gate's verdict, on the record, and obeyed.

Every test runs twice: with the store read in a worker thread (SQLite through the library,
memory stores), and read on the event loop where it can be (PostgreSQL's async driver).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

import app.guardrails as guardrails_module
from adapters.bootstrap import read_model
from app.campaigns import CampaignsApp
from app.eta import FinishEstimate
from app.guardrails import Guardrails
from app.log_follower import LogFollower
from app.opt_outs import OptOutBook
from app.ports import AccountLimits
from app.read_models import CampaignContacts
from app.session_settings import SessionSettingsBook
from domain.campaign import Campaign
from domain.content import MessageTemplate
from domain.pacing import CampaignOptions
from domain.session import SessionName
from tests.builders import a_campaign, contacts, scheduled
from tests.fakes.gate_reads import LoopStoreReads
from tests.fakes.gateway import FakeWahaGateway
from tests.fakes.system import ManualClock, ParkingSleeper
from tests.unit.app.lane_harness import Harness

FRIDAY_EVENING = datetime(2026, 11, 27, 19, 0, tzinfo=UTC)  # 20:00 in Berlin
MONDAY_NINE = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
OFFICE = {
    "days": ["mon", "tue", "wed", "thu", "fri"],
    "start": "09:00",
    "end": "18:00",
    "timezone": "Europe/Berlin",
}
ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# Waits this long or longer (the night until a window opens, a day until a cap resets) park
# until the test releases them; shorter ones (an idle lane's) pass at once.
PARK_AT = 3600.0


@dataclass
class World:
    """A lane with the real guardrails over the in-memory store."""

    harness: Harness
    settings: SessionSettingsBook
    opt_outs: OptOutBook
    gates: Guardrails
    clock: ManualClock
    sleeper: ParkingSleeper
    follower: LogFollower  # the per-contact read model's: caught up when a test says so
    contacts: CampaignContacts
    reads: LoopStoreReads | None  # the store's reads, when they may be made on the loop

    @property
    def campaigns(self) -> CampaignsApp:
        return self.harness.campaigns

    @property
    def gateway(self) -> FakeWahaGateway:
        return self.harness.gateway

    def view(self, campaign_id: UUID) -> Any:
        return self.campaigns.campaign(campaign_id)

    async def until(self, condition: Callable[[], bool], what: str) -> None:
        """Let the lane work (supervisor ticks) until `condition` holds; bounded, no real sleep."""
        for _ in range(2000):
            if condition():
                return
            await self.harness.run_until_quiet()
        pytest.fail(f"never happened: {what}")

    def sent_texts(self) -> list[str]:
        return [s.text for s in self.gateway.sent]


class UnreadModel:
    """A per-contact read model that has read nothing yet: the gates must rely on the log."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def position(self) -> int:
        return 0

    def sent_count(self, session: str, since: datetime) -> int:
        return 0

    def last_sent(self, session: str, chat_id: str) -> None:
        return None


# Whether the worlds of the running test read the store on the loop (set by `reading`).
ON_LOOP: list[bool] = [False]


@pytest.fixture(autouse=True, params=["in a thread", "on the loop"])
def reading(request: pytest.FixtureRequest) -> Iterator[None]:
    ON_LOOP[0] = request.param == "on the loop"
    yield
    ON_LOOP[0] = False


def a_world(campaigns: CampaignsApp, clock: ManualClock, *, unread: bool = False) -> World:
    sleeper = ParkingSleeper(clock, park_at=PARK_AT)
    follower, contacts_view = read_model(campaigns)
    settings = SessionSettingsBook(campaigns, clock)
    opt_outs = OptOutBook(campaigns, clock)
    seen: Any = UnreadModel(contacts_view) if unread else contacts_view
    reads = LoopStoreReads(campaigns, seen) if ON_LOOP[0] else None
    gates = Guardrails(campaigns, settings, seen, reads=reads, loop_reads=reads)
    harness = Harness(campaigns, FakeWahaGateway(clock), clock, sleeper, gates=gates)
    campaigns.estimate_finish = FinishEstimate(
        harness.tracker.facts, settings, contacts_view, clock
    )
    return World(harness, settings, opt_outs, gates, clock, sleeper, follower, contacts_view, reads)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(FRIDAY_EVENING)


@pytest.fixture
async def world(campaigns: CampaignsApp, clock: ManualClock) -> AsyncIterator[World]:
    built = a_world(campaigns, clock)
    yield built
    built.sleeper.release()
    await built.harness.stop()


def outcomes(world: World, campaign_id: UUID) -> list[tuple[int, str, str | None]]:
    return [
        (e.index, e.outcome, e.reason)
        for e in world.harness.events_of(campaign_id)
        if isinstance(e, Campaign.ContactAttempted)
    ]


# -- 1. the window --------------------------------------------------------------------------------


async def test_a_campaign_created_while_the_window_is_closed_starts_at_the_opening(
    world: World,
) -> None:
    world.settings.change("default", {"window": OFFICE}, by="test")
    campaign_id = scheduled(world.campaigns, 3)

    await world.harness.run_until_quiet()

    view = world.view(campaign_id)
    assert (view.status, view.next_index, world.gateway.sent) == ("Paused", 0, [])
    assert view.pause is not None
    assert (view.pause.reason, view.pause.resume_at) == ("outside_window", MONDAY_NINE)
    assert view.pause.resumes_by_itself
    assert view.eta is not None
    assert view.eta >= MONDAY_NINE
    paused = world.harness.lane().down
    assert paused is not None
    assert (paused["reason"], paused["resume_at"]) == ("outside_window", MONDAY_NINE)

    world.sleeper.release()  # the night passes
    await world.until(lambda: world.view(campaign_id).status == "Completed", "completion")

    assert len(world.gateway.sent) == 3
    assert all(s.at >= MONDAY_NINE for s in world.gateway.sent)
    resumed = [
        e for e in world.harness.events_of(campaign_id) if type(e).__name__ == "CampaignResumed"
    ]
    assert [(e.index, e.automatic, e.at) for e in resumed] == [(0, True, MONDAY_NINE)]


async def test_a_timed_pause_resumes_on_time_after_a_restart(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    first = a_world(campaigns, clock)
    first.settings.change("default", {"window": OFFICE}, by="test")
    campaign_id = scheduled(campaigns, 2)
    await first.harness.run_until_quiet()
    assert first.view(campaign_id).status == "Paused"
    await first.harness.stop()  # the service stops during the night

    clock.current = MONDAY_NINE + timedelta(minutes=5)
    again = a_world(campaigns, clock)
    try:
        await again.until(lambda: again.view(campaign_id).status == "Completed", "completion")
    finally:
        again.sleeper.release()
        await again.harness.stop()

    assert first.gateway.sent == []
    assert len(again.gateway.sent) == 2
    view = again.view(campaign_id)
    assert (view.sent, view.pause) == (2, None)


async def test_a_campaigns_own_window_holds_only_that_campaign(world: World) -> None:
    world.clock.current = MONDAY_NINE
    world.settings.change("default", {"window": OFFICE}, by="test")
    narrow: dict[str, object] = {**OFFICE, "days": ["tue"]}
    other = scheduled(world.campaigns, 2, contacts=contacts(2, start=100))
    own = world.campaigns.schedule_campaign(
        a_campaign(2, options=CampaignOptions(window=narrow))
    ).view.id

    await world.until(lambda: world.view(other).status == "Completed", "the other's completion")

    view = world.view(own)
    assert view.status == "Paused"
    assert view.pause is not None
    assert view.pause.reason == "outside_window"
    assert view.pause.resume_at == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # Tuesday 09:00
    assert len(world.gateway.sent) == 2


# -- 2. the caps ----------------------------------------------------------------------------------


async def test_a_cap_of_three_sends_exactly_three_that_day_and_goes_on_the_next(
    world: World,
) -> None:
    world.clock.current = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    world.settings.change("default", {"daily_cap": 3}, by="test")
    first = scheduled(world.campaigns, 3)
    second = scheduled(world.campaigns, 3, contacts=contacts(3, start=100))

    await world.harness.run_until_quiet()

    assert len(world.gateway.sent) == 3  # across both campaigns: the cap is the number's
    for campaign_id in (first, second):
        view = world.view(campaign_id)
        assert view.status == "Paused"
        assert view.pause is not None
        assert view.pause.reason == "daily_cap"
        assert view.pause.resume_at == datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
    assert world.gates.sent_today(SessionName("default"), world.clock.now()) == 3

    world.sleeper.release()  # the next day
    await world.until(lambda: world.view(second).status == "Completed", "completion")

    days = [s.at.date().isoformat() for s in world.gateway.sent]
    assert days == ["2026-11-27"] * 3 + ["2026-11-28"] * 3


async def test_each_number_counts_only_its_own_sends_even_when_it_starts_later(
    world: World,
) -> None:
    world.clock.current = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    world.settings.change("default", {"daily_cap": 2}, by="test")
    world.settings.change("other", {"daily_cap": 3}, by="test")
    scheduled(world.campaigns, 3)
    await world.harness.run_until_quiet()
    # The second number's first look comes after the first's sends: none of them is its.
    scheduled(world.campaigns, 4, contacts=contacts(4, start=100), session="other")
    await world.harness.run_until_quiet()

    by_number = Counter(s.session for s in world.gateway.sent)
    assert by_number == {"default": 2, "other": 3}
    now = world.clock.now()
    assert world.gates.sent_today(SessionName("default"), now) == 2
    assert world.gates.sent_today(SessionName("other"), now) == 3


async def test_after_a_restart_a_number_first_asked_later_counts_each_send_once(
    world: World,
) -> None:
    world.clock.current = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    scheduled(world.campaigns, 2)
    scheduled(world.campaigns, 2, contacts=contacts(2, start=100), session="other")
    await world.harness.run_until_quiet()
    # A restarted service's gates: the first number is asked about at once...
    world.follower.catch_up()
    restarted = Guardrails(world.campaigns, world.settings, world.contacts)
    now = world.clock.now()
    assert restarted.sent_today(SessionName("default"), now) == 2
    # ...the other only after it sent more, which the read model has read by then.
    scheduled(world.campaigns, 3, contacts=contacts(3, start=200), session="other")
    await world.harness.run_until_quiet()
    world.follower.catch_up()

    assert restarted.sent_today(SessionName("other"), now) == 5
    assert restarted.sent_today(SessionName("default"), now) == 2


async def test_a_seed_that_fails_half_way_is_seeded_again_not_left_behind(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.clock.current = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    scheduled(world.campaigns, 2)
    await world.harness.run_until_quiet()
    now = world.clock.now()
    # A restarted service whose read model has read nothing: every seed lies behind.
    restarted = Guardrails(world.campaigns, world.settings, UnreadModel(world.contacts))
    assert restarted.sent_today(SessionName("other"), now) == 0  # the shared reading moves on
    failing = Guardrails._bring_to_position

    def fails_once(self: Guardrails, *args: Any) -> None:
        monkeypatch.setattr(Guardrails, "_bring_to_position", failing)
        raise OSError("the store went away")

    monkeypatch.setattr(Guardrails, "_bring_to_position", fails_once)
    with pytest.raises(OSError, match="went away"):
        restarted.sent_today(SessionName("default"), now)

    # Kept at its seed, the number would count none of its two sends (the reading is past them).
    assert restarted.sent_today(SessionName("default"), now) == 2


async def test_in_week_two_of_the_warmup_the_weeks_cap_binds(world: World) -> None:
    world.clock.current = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    world.settings.change(
        "default",
        {"daily_cap": 100, "warmup": {"started_on": "2026-11-18", "caps": [1, 2, 50]}},
        by="test",
    )
    campaign_id = scheduled(world.campaigns, 5)

    await world.harness.run_until_quiet()

    view = world.view(campaign_id)
    assert (view.status, view.sent, len(world.gateway.sent)) == ("Paused", 2, 2)
    assert view.pause is not None
    assert view.pause.reason == "warmup_cap"
    assert "week 2" in view.pause.detail


# -- 3. WhatsApp's limits -------------------------------------------------------------------------


async def test_a_reachout_timelock_holds_the_number_until_its_end(world: World) -> None:
    end = world.clock.now() + timedelta(hours=6)
    world.gateway.limits = AccountLimits(reachout_timelock_until=end)
    campaign_id = scheduled(world.campaigns, 2)

    await world.harness.run_until_quiet()

    view = world.view(campaign_id)
    assert (view.status, world.gateway.sent) == ("Paused", [])
    assert view.pause is not None
    assert (view.pause.reason, view.pause.resume_at) == ("reachout_timelock", end)

    world.gateway.limits = AccountLimits()
    world.sleeper.release()
    await world.until(lambda: world.view(campaign_id).status == "Completed", "completion")
    assert all(s.at >= end for s in world.gateway.sent)


# -- 4. and 5. the contact ------------------------------------------------------------------------


async def test_opted_out_contacts_are_skipped_before_and_during_a_campaign(world: World) -> None:
    people = contacts(4)
    world.opt_outs.add([people[1].phone], source="import", note="old list")

    def opt_out_the_last(checks: int) -> None:
        if checks == 2:  # while contact 1 is up: contact 3 replies STOP meanwhile
            world.opt_outs.add([people[3].phone], source="inbound:stop")

    world.gateway.before_status = opt_out_the_last
    campaign_id = scheduled(world.campaigns, 4, contacts=people)

    await world.until(lambda: world.view(campaign_id).status == "Completed", "completion")

    assert outcomes(world, campaign_id) == [
        (0, "sent", None),
        (1, "skipped", "opted_out"),
        (2, "sent", None),
        (3, "skipped", "opted_out"),
    ]
    chats = [p.phone.removeprefix("+") + "@c.us" for p in people]
    assert [s.chat_id for s in world.gateway.sent] == [chats[0], chats[2]]


async def test_a_recently_contacted_number_is_skipped_naming_the_earlier_campaign(
    world: World,
) -> None:
    world.settings.change("default", {"recontact_after_days": 7}, by="test")
    people = contacts(2)
    first = scheduled(world.campaigns, 1, contacts=people[:1])
    await world.until(lambda: world.view(first).status == "Completed", "the first campaign")

    # At once: the read model need not have caught up; the gate reads the log itself.
    second = scheduled(world.campaigns, 2, contacts=people)
    await world.until(lambda: world.view(second).status == "Completed", "the second campaign")

    assert outcomes(world, second) == [(0, "skipped", "recently_contacted"), (1, "sent", None)]
    skipped = [
        e for e in world.harness.events_of(second) if isinstance(e, Campaign.ContactAttempted)
    ]
    assert str(first) in (skipped[0].error or "")


# The new day's seed lies behind the shared reading: it replays the notifications since from
# memory when they are all remembered (10,000), from the log when the oldest are forgotten (2).
@pytest.mark.parametrize("remembered", [2, 10_000])
async def test_a_number_starting_its_day_counts_its_own_sends_the_read_model_lacks(
    campaigns: CampaignsApp, clock: ManualClock, monkeypatch: pytest.MonkeyPatch, remembered: int
) -> None:
    monkeypatch.setattr(guardrails_module, "_RECENT", remembered)
    from_log: list[int] = []
    replay_from_log = Guardrails._replay_from_log

    def spied(self: Guardrails, after: int, session: SessionName) -> None:
        from_log.append(after)
        replay_from_log(self, after, session)

    monkeypatch.setattr(Guardrails, "_replay_from_log", spied)
    world = a_world(campaigns, clock, unread=True)
    world.clock.current = datetime(2026, 11, 28, 23, 30, tzinfo=UTC)  # the number's day is UTC's
    world.settings.change("default", {"daily_cap": 3, "recontact_after_days": 7}, by="test")
    people = contacts(4)
    early = scheduled(world.campaigns, 1, contacts=people[:1])
    await world.until(lambda: world.view(early).status == "Completed", "the first campaign")
    world.clock.current = datetime(2026, 11, 29, 0, 30, tzinfo=UTC)  # the next day
    late = scheduled(world.campaigns, 1, contacts=people[1:2], session="other")
    await world.until(lambda: world.view(late).status == "Completed", "another number's")
    world.settings.change("default", {"daily_cap": 3}, by="test")  # nothing else changes

    # The new day's tally starts from a read model that has read nothing: the log since says
    # the first contact was messaged last night, and nothing yet today.
    second = scheduled(world.campaigns, 4, contacts=people)
    await world.until(
        lambda: world.view(second).status in ("Paused", "Completed"), "the second campaign"
    )
    world.sleeper.release()
    await world.harness.stop()

    assert outcomes(world, second)[0] == (0, "skipped", "recently_contacted")
    assert [o for _, o, _ in outcomes(world, second)].count("sent") == 3  # today's cap
    assert bool(from_log) == (remembered == 2)  # the log is read again only when forgotten


# -- variation ------------------------------------------------------------------------------------


async def test_each_contact_gets_a_variant_recorded_with_its_intent_and_replayed_alike(
    world: World,
) -> None:
    world.clock.current = MONDAY_NINE
    template = MessageTemplate("{Hi|Hello} {name}", variants=("Good day {name}",))
    campaign_id = scheduled(
        world.campaigns, 12, text=template.text, variants=list(template.variants)
    )

    await world.until(lambda: world.view(campaign_id).status == "Completed", "completion")

    intents = [
        e for e in world.harness.events_of(campaign_id) if isinstance(e, Campaign.AttemptStarted)
    ]
    assert [i.text for i in intents] == world.sent_texts()
    audience = world.campaigns.audience_of(campaign_id)
    replayed = [
        template.render(audience[i.index].template_values(), seed=i.attempt_id) for i in intents
    ]
    assert replayed == world.sent_texts()
    assert len({text.split()[0] for text in world.sent_texts()}) > 1


# -- where the store is read --------------------------------------------------------------------


async def test_on_the_loop_only_a_numbers_first_contacts_are_decided_in_a_thread(
    world: World,
) -> None:
    campaign_id = scheduled(world.campaigns, 6)

    await world.until(lambda: world.view(campaign_id).status == "Completed", "completion")

    chats = [s.chat_id for s in world.gateway.sent]
    assert (len(chats), len(set(chats))) == (6, 6)  # everyone, once
    if world.reads is not None:
        # The first seeds the number's tally, in a thread. The others read on the loop; the
        # second's read meets the campaign's first intent, whose session is looked up in the
        # store, in a thread too (it is not read again).
        assert (world.reads.in_thread, world.reads.on_loop) == (1, 5)
