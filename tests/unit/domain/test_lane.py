"""The lane's record: holders, turns, gaps, and the fence against a holder that lost it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.lane import Lane, LaneFencedError, lane_id
from domain.rotation import Contender, next_turn

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def a_lane(epoch: int = 1) -> Lane:
    lane = Lane(session="default", at=T0)
    lane.take_up(owner="here", epoch=epoch, reconciled=[], at=T0)
    return lane


def test_a_lane_is_named_by_its_session() -> None:
    assert a_lane().id == lane_id("default") != lane_id("other")


def test_a_takeover_names_the_previous_holder_and_a_newer_epoch() -> None:
    lane = a_lane()

    lane.take_up(owner="there", epoch=2, reconciled=[{"index": 3}], at=T0)

    taken = [e for e in lane.collect_events() if isinstance(e, Lane.LaneTakenUp)][-1]
    assert (taken.owner, taken.previous_owner, taken.previous_epoch) == ("there", "here", 1)
    assert taken.reconciled == [{"index": 3}]
    assert (lane.owner, lane.epoch) == ("there", 2)


def test_a_takeover_with_an_epoch_not_newer_is_refused() -> None:
    lane = a_lane(epoch=3)

    with pytest.raises(LaneFencedError):
        lane.take_up(owner="late", epoch=3, reconciled=[], at=T0)


@pytest.mark.parametrize("epoch", [1, 3])
def test_a_holder_with_another_epoch_cannot_record_a_turn(epoch: int) -> None:
    lane = a_lane(epoch=2)

    with pytest.raises(LaneFencedError):
        lane.take_turn(campaign_id=uuid4(), index=0, attempt_id="a", epoch=epoch, at=T0)


def test_a_turn_records_how_long_after_the_last_send_it_went() -> None:
    lane = a_lane()
    campaign = uuid4()
    lane.take_turn(campaign_id=campaign, index=0, attempt_id="a0", epoch=1, at=T0)
    lane.end_turn(
        campaign_id=campaign,
        index=0,
        outcome="sent",
        unknown=False,
        next_campaign_id=campaign,
        gap_seconds=42.5,
        epoch=1,
        at=T0,
    )

    lane.take_turn(
        campaign_id=campaign, index=1, attempt_id="a1", epoch=1, at=T0 + timedelta(seconds=43)
    )

    turns = [e for e in lane.collect_events() if isinstance(e, Lane.TurnTaken)]
    assert [t.waited_seconds for t in turns] == [None, 43.0]


def test_the_end_of_a_turn_plans_the_next_send_not_before_the_gap() -> None:
    lane = a_lane()
    nxt = uuid4()

    lane.end_turn(
        campaign_id=uuid4(),
        index=0,
        outcome="sent",
        unknown=False,
        next_campaign_id=nxt,
        gap_seconds=30.0,
        epoch=1,
        at=T0,
    )

    assert lane.next_turn == {"campaign_id": str(nxt), "not_before": T0 + timedelta(seconds=30)}


def test_a_gap_drawn_again_counts_from_the_end_of_the_last_turn() -> None:
    lane = a_lane()
    lane.end_turn(
        campaign_id=uuid4(),
        index=0,
        outcome="sent",
        unknown=False,
        next_campaign_id=uuid4(),
        gap_seconds=5.0,
        epoch=1,
        at=T0,
    )
    other = uuid4()

    lane.choose_gap(campaign_id=other, seconds=50.0, epoch=1, at=T0 + timedelta(seconds=2))

    assert lane.next_send_at == T0 + timedelta(seconds=50)


def test_unknown_outcomes_in_a_row_are_counted_and_a_sure_one_resets_them() -> None:
    lane = a_lane()
    streaks = []
    for unknown in (True, True, False, True):
        lane.end_turn(
            campaign_id=uuid4(),
            index=0,
            outcome="in_doubt" if unknown else "sent",
            unknown=unknown,
            next_campaign_id=None,
            gap_seconds=None,
            epoch=1,
            at=T0,
        )
        streaks.append(lane.unknown_streak)

    assert streaks == [1, 2, 0, 1]


def test_a_lane_pause_resets_the_unknown_streak_and_names_its_campaigns() -> None:
    lane = a_lane()
    lane.end_turn(
        campaign_id=uuid4(),
        index=0,
        outcome="in_doubt",
        unknown=True,
        next_campaign_id=None,
        gap_seconds=None,
        epoch=1,
        at=T0,
    )
    paused = [uuid4(), uuid4()]

    lane.pause(reason="waha_unavailable", detail="3 in a row", campaigns=paused, epoch=1, at=T0)

    event = next(e for e in lane.collect_events() if isinstance(e, Lane.LanePaused))
    assert event.campaigns == [str(c) for c in paused]
    assert (lane.unknown_streak, lane.down is not None) == (0, True)


def test_a_replay_of_the_record_is_the_lane_as_it_was() -> None:
    lane = a_lane()
    lane.detect_message_ids(supported=True, detail="kept", epoch=1, at=T0)
    events = lane.collect_events()

    replayed: object = None
    for event in events:
        replayed = event.mutate(replayed)  # type: ignore[arg-type]

    assert isinstance(replayed, Lane)
    assert (replayed.epoch, replayed.owner, replayed.message_ids) == (1, "here", True)


# -- whose turn ----------------------------------------------------------------------------


def contender(order: int, priority: int = 0) -> Contender:
    return Contender(uuid4(), priority, order)


def test_nobody_waiting_means_no_turn() -> None:
    assert next_turn([], None) is None


def test_turns_go_round_in_creation_order_after_the_last_served() -> None:
    a, b, c = contender(1), contender(5), contender(9)

    served = []
    last = None
    for _ in range(6):
        turn = next_turn([c, a, b], last)
        assert turn is not None
        served.append(turn)
        last = turn.order

    assert served == [a, b, c, a, b, c]


def test_only_the_highest_priority_takes_turns() -> None:
    low, high1, high2 = contender(1), contender(2, priority=3), contender(3, priority=3)

    first = next_turn([low, high1, high2], None)
    second = next_turn([low, high1, high2], high1.order)

    assert (first, second) == (high1, high2)


def test_a_campaign_that_left_the_round_is_followed_by_the_next_in_order() -> None:
    a, c = contender(1), contender(9)

    assert next_turn([a, c], last_order=5) == c
