"""When a campaign should finish: the lane's share, pacing, window and caps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.eta import LaneWork, Share, finish_at, lane_work
from domain.number_settings import NumberSettings


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


START = utc(2026, 11, 27, 9, 0)  # a Friday


def test_a_lone_campaign_takes_its_contacts_times_the_mean_wait() -> None:
    work = lane_work(Share(1000, 45.0), [])

    assert finish_at(work, START, NumberSettings()) == START + timedelta(seconds=45_000)


def test_campaigns_on_one_number_share_it_turn_by_turn() -> None:
    alone = lane_work(Share(100, 10.0), [])
    shared = lane_work(Share(100, 10.0), [Share(50, 10.0)])
    behind_higher = lane_work(Share(100, 10.0), [Share(50, 10.0, priority=5)])
    ahead_of_lower = lane_work(Share(100, 10.0), [Share(50, 10.0, priority=-5)])

    assert (alone.sends, alone.seconds) == (100, 1000.0)
    assert (shared.sends, shared.seconds) == (150, 1500.0)
    assert (behind_higher.sends, behind_higher.seconds) == (150, 1500.0)
    assert (ahead_of_lower.sends, ahead_of_lower.seconds) == (100, 1000.0)
    # A shorter campaign sharing the lane finishes in its own rounds.
    short = lane_work(Share(10, 10.0), [Share(1000, 10.0)])
    assert short.sends == 20


def test_a_window_stretches_the_work_over_the_open_hours() -> None:
    number = NumberSettings().changed(
        {
            "window": {
                "days": ["mon", "tue", "wed", "thu", "fri"],
                "start": "09:00",
                "end": "17:00",
                "timezone": "UTC",
            }
        }
    )
    nine_hours = LaneWork(sends=9, seconds=9 * 3600.0)

    # Friday 09:00-17:00 takes eight; the ninth goes on Monday at 10:00.
    assert finish_at(nine_hours, START, number) == utc(2026, 11, 30, 10, 0)


def test_a_daily_cap_spreads_the_work_over_days() -> None:
    number = NumberSettings().changed({"daily_cap": 3})
    work = LaneWork(sends=7, seconds=0.0)

    # Two already went today: one more today, three tomorrow, three the day after.
    eta = finish_at(work, START, number, sent_today=2, today_start=utc(2026, 11, 27))

    assert eta == utc(2026, 11, 29, 0, 0)


def test_the_warmup_week_sets_each_days_cap() -> None:
    number = NumberSettings().changed({"warmup": {"started_on": "2026-11-21", "caps": [1, 5]}})
    work = LaneWork(sends=7, seconds=0.0)

    # Friday 27th is in week 1 (1 a day), from Saturday 28th week 2 (5 a day).
    assert finish_at(work, START, number) == utc(2026, 11, 29, 0, 0)


def test_a_cap_of_nothing_gives_no_estimate() -> None:
    number = NumberSettings().changed({"daily_cap": 0})

    assert finish_at(LaneWork(sends=1, seconds=30.0), START, number) is None
