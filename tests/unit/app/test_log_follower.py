"""The log follower: one read of the log, each event decoded once, handed on in commit order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError, Notification

from app.campaigns import SCHEDULED_TOPIC, CampaignsApp
from app.log_follower import Followed, LogFollower, follower_of
from domain.campaign import Campaign
from tests.builders import scheduled

STARTED_TOPIC = Campaign.CampaignStarted.TOPIC


class Recording:
    """A subscriber that keeps what it was handed."""

    def __init__(self, topics: frozenset[str], position: int = 0, fail_at: int = 0) -> None:
        self.topics = topics
        self.position = position
        self.seen: list[Followed] = []
        self.starts = 0
        self._fail_at = fail_at

    def start(self) -> int:
        self.starts += 1
        return self.position

    def apply(self, batch: Sequence[Followed], reached: int) -> None:
        if self._fail_at and any(f.position >= self._fail_at for f in batch):
            self._fail_at = 0
            msg = "a read model failed"
            raise RuntimeError(msg)
        self.seen.extend(batch)
        self.position = reached


def counting_decodes(monkeypatch: pytest.MonkeyPatch, campaigns: CampaignsApp) -> list[int]:
    decoded: list[int] = []
    decode = campaigns.mapper.to_domain_event

    def counted(stored: Any) -> Any:
        assert isinstance(stored, Notification)
        decoded.append(stored.id)
        return decode(stored)

    monkeypatch.setattr(campaigns.mapper, "to_domain_event", counted)
    return decoded


def test_every_subscriber_gets_its_topics_in_commit_order_each_event_decoded_once(
    campaigns: CampaignsApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = scheduled(campaigns), scheduled(campaigns)
    campaigns.start_campaign(first)
    campaigns.start_campaign(second)
    follower = LogFollower(campaigns, page_size=2)
    lifecycle = Recording(frozenset({SCHEDULED_TOPIC, STARTED_TOPIC}))
    starts = Recording(frozenset({STARTED_TOPIC}))
    follower.subscribe(lifecycle)
    follower.subscribe(starts)
    decoded = counting_decodes(monkeypatch, campaigns)

    head = follower.catch_up()

    assert head == campaigns.recorder.max_notification_id()
    assert [(type(f.event).__name__, f.event.originator_id) for f in lifecycle.seen] == [
        ("CampaignScheduled", first),
        ("CampaignScheduled", second),
        ("CampaignStarted", first),
        ("CampaignStarted", second),
    ]
    assert [f.event for f in starts.seen] == [f.event for f in lifecycle.seen[2:]]
    positions = [f.position for f in lifecycle.seen]
    assert positions == sorted(positions)
    assert sorted(decoded) == positions  # audience chunks were never read, nothing twice
    assert lifecycle.position == starts.position == head


def test_nothing_new_costs_one_look_at_the_logs_end(
    campaigns: CampaignsApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduled(campaigns)
    follower = LogFollower(campaigns)
    follower.subscribe(Recording(frozenset({SCHEDULED_TOPIC})))
    follower.catch_up()
    pages: list[object] = []
    select = campaigns.recorder.select_notifications

    def noted(*args: Any, **kwargs: Any) -> Any:
        pages.append(args)
        return select(*args, **kwargs)

    monkeypatch.setattr(campaigns.recorder, "select_notifications", noted)

    assert follower.catch_up() == follower.position
    assert pages == []


def test_a_late_subscriber_gets_what_it_missed_and_others_nothing_twice(
    campaigns: CampaignsApp,
) -> None:
    follower = LogFollower(campaigns)
    early = Recording(frozenset({SCHEDULED_TOPIC}))
    follower.subscribe(early)
    first = scheduled(campaigns)
    follower.catch_up()

    late = Recording(frozenset({SCHEDULED_TOPIC}))
    follower.subscribe(late)
    second = scheduled(campaigns)
    follower.catch_up()

    assert [f.event.originator_id for f in early.seen] == [first, second]
    assert [f.event.originator_id for f in late.seen] == [first, second]


def test_a_subscriber_resumes_from_the_position_it_says(campaigns: CampaignsApp) -> None:
    scheduled(campaigns)
    middle = campaigns.recorder.max_notification_id() or 0
    second = scheduled(campaigns)
    follower = LogFollower(campaigns)
    resumed = Recording(frozenset({SCHEDULED_TOPIC}), position=middle)
    follower.subscribe(resumed)

    follower.catch_up()

    assert [f.event.originator_id for f in resumed.seen] == [second]


def test_a_failing_subscriber_is_started_again_and_loses_nothing(
    campaigns: CampaignsApp,
) -> None:
    first = scheduled(campaigns)
    failing_from = (campaigns.recorder.max_notification_id() or 0) + 1
    second = scheduled(campaigns)
    follower = LogFollower(campaigns, page_size=1)
    flaky = Recording(frozenset({SCHEDULED_TOPIC}), fail_at=failing_from)
    steady = Recording(frozenset({SCHEDULED_TOPIC}))
    follower.subscribe(flaky)
    follower.subscribe(steady)

    with pytest.raises(RuntimeError):
        follower.catch_up()
    follower.catch_up()

    assert [f.event.originator_id for f in flaky.seen] == [first, second]
    assert [f.event.originator_id for f in steady.seen] == [first, second]
    assert flaky.starts == 2


class SharedElsewhere(Recording):
    """A read model another process moves on too: its first write finds itself overtaken."""

    def __init__(self, topics: frozenset[str], overtaken_to: int) -> None:
        super().__init__(topics)
        self._overtaken_to = overtaken_to

    def apply(self, batch: Sequence[Followed], reached: int) -> None:
        if self._overtaken_to:
            self.position, self._overtaken_to = self._overtaken_to, 0
            msg = "the read model is no longer at position 0"
            raise IntegrityError(msg)
        super().apply(batch, reached)


def test_a_shared_read_model_overtaken_by_another_process_goes_on_from_where_it_is(
    campaigns: CampaignsApp,
) -> None:
    scheduled(campaigns)
    applied_elsewhere = campaigns.recorder.max_notification_id() or 0
    later = scheduled(campaigns)
    follower = LogFollower(campaigns, page_size=1)
    shared = SharedElsewhere(frozenset({SCHEDULED_TOPIC}), overtaken_to=applied_elsewhere)
    follower.subscribe(shared)

    reached = follower.catch_up()  # no error: the overtaken batch is simply not ours to apply

    assert reached == campaigns.recorder.max_notification_id()
    assert [f.event.originator_id for f in shared.seen] == [later]
    assert shared.starts == 2


def test_an_unsubscribed_reader_gets_nothing_more(campaigns: CampaignsApp) -> None:
    follower = LogFollower(campaigns)
    gone = Recording(frozenset({SCHEDULED_TOPIC}))
    follower.subscribe(gone)
    follower.unsubscribe(gone)
    scheduled(campaigns)

    follower.catch_up()

    assert gone.seen == []


def test_one_application_has_one_follower(campaigns: CampaignsApp) -> None:
    assert follower_of(campaigns) is follower_of(campaigns)
