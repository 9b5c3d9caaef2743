"""Sending windows on the local wall clock: days, midnight, daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from domain.window import InvalidSettingError, SendWindow, both_open_at, local_day_start

BERLIN = "Europe/Berlin"


def window(days: list[str], start: str, end: str, zone: str = BERLIN) -> SendWindow:
    return SendWindow.parse({"days": days, "start": start, "end": end, "timezone": zone})


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def test_a_weekday_window_is_open_inside_its_hours_in_its_own_time_zone() -> None:
    office = window(WEEKDAYS, "09:00", "18:00")
    # Friday 27 November 2026: Berlin is UTC+1.
    assert not office.is_open(utc(2026, 11, 27, 7, 59))
    assert office.is_open(utc(2026, 11, 27, 8, 0))
    assert office.is_open(utc(2026, 11, 27, 16, 59))
    assert not office.is_open(utc(2026, 11, 27, 17, 0))
    assert not office.is_open(utc(2026, 11, 28, 10, 0))  # Saturday


def test_a_closed_window_next_opens_on_the_next_listed_day() -> None:
    office = window(WEEKDAYS, "09:00", "18:00")
    friday_evening = utc(2026, 11, 27, 19, 0)

    assert office.next_opening(friday_evening) == utc(2026, 11, 30, 8, 0)  # Monday 09:00
    assert office.next_opening(utc(2026, 11, 30, 9, 0)) == utc(2026, 11, 30, 9, 0)  # open: now
    assert office.next_closing(utc(2026, 11, 30, 9, 0)) == utc(2026, 11, 30, 17, 0)


def test_a_window_whose_end_is_before_its_start_spans_midnight() -> None:
    night = window(["fri"], "22:00", "02:00", "UTC")

    assert night.is_open(utc(2026, 11, 27, 22, 0))  # Friday 22:00
    assert night.is_open(utc(2026, 11, 28, 1, 59))  # Saturday, still Friday's window
    assert not night.is_open(utc(2026, 11, 28, 2, 0))
    assert not night.is_open(utc(2026, 11, 28, 23, 0))  # Saturday's own evening
    assert not night.is_open(utc(2026, 11, 27, 1, 0))  # Thursday's window does not exist
    assert night.next_closing(utc(2026, 11, 27, 23, 0)) == utc(2026, 11, 28, 2, 0)
    assert night.next_opening(utc(2026, 11, 28, 2, 0)) == utc(2026, 12, 4, 22, 0)


def test_a_window_open_around_the_clock_every_day_never_closes() -> None:
    always = window(["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "00:00", "00:00", "UTC")

    assert always.is_open(utc(2026, 11, 28, 13, 37))
    assert always.next_closing(utc(2026, 11, 28, 13, 37)) is None


def test_the_night_before_the_march_change_is_an_hour_shorter() -> None:
    daily = window(["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "09:00", "17:00")
    saturday_evening = utc(2026, 3, 28, 17, 0)  # 18:00 CET

    # Sunday 29 March 2026: 09:00 is CEST, UTC+2.
    assert daily.next_opening(saturday_evening) == utc(2026, 3, 29, 7, 0)
    assert daily.next_closing(utc(2026, 3, 29, 7, 0)) == utc(2026, 3, 29, 15, 0)


def test_a_start_the_march_change_skips_opens_at_the_change() -> None:
    early = window(["sun"], "02:30", "04:00")

    # Berlin jumps from 02:00 CET to 03:00 CEST at 01:00 UTC: 02:30 never shows.
    opening = early.next_opening(utc(2026, 3, 28, 12, 0))

    assert opening == utc(2026, 3, 29, 1, 0)
    assert early.is_open(opening)
    assert not early.is_open(utc(2026, 3, 29, 0, 59))


def test_the_night_after_the_october_change_is_an_hour_longer() -> None:
    daily = window(["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "09:00", "17:00")
    saturday_evening = utc(2026, 10, 24, 16, 0)  # 18:00 CEST

    # Sunday 25 October 2026: back to CET, UTC+1.
    assert daily.next_opening(saturday_evening) == utc(2026, 10, 25, 8, 0)


def test_the_repeated_october_hour_opens_at_its_first_showing() -> None:
    early = window(["sun"], "02:30", "04:00")

    # 02:30 shows twice on 25 October: at 00:30 UTC (CEST) and at 01:30 UTC (CET).
    assert early.next_opening(utc(2026, 10, 24, 12, 0)) == utc(2026, 10, 25, 0, 30)


def test_a_local_day_begins_at_local_midnight_across_the_change() -> None:
    zone = window(["sun"], "09:00", "10:00").zone

    assert local_day_start(utc(2026, 3, 29, 12, 0), zone) == utc(2026, 3, 28, 23, 0)
    assert local_day_start(utc(2026, 3, 30, 12, 0), zone) == utc(2026, 3, 29, 22, 0)
    assert local_day_start(utc(2026, 10, 25, 12, 0), zone) == utc(2026, 10, 24, 22, 0)
    assert local_day_start(utc(2026, 10, 26, 12, 0), zone) == utc(2026, 10, 25, 23, 0)


def test_the_first_moment_two_windows_are_both_open() -> None:
    number = window(WEEKDAYS, "09:00", "18:00")
    campaign = window(["wed"], "16:00", "20:00")

    assert both_open_at([number, campaign], utc(2026, 11, 27, 9, 0)) == utc(2026, 12, 2, 15, 0)
    never = window(["sat"], "10:00", "11:00")
    assert both_open_at([number, never], utc(2026, 11, 27, 9, 0)) is None


def test_full_day_names_and_any_case_are_taken() -> None:
    parsed = window(["Monday", "TUE"], "08:05", "23:59")

    assert parsed.days == frozenset({0, 1})
    assert (parsed.start, parsed.end) == (time(8, 5), time(23, 59))
    assert parsed.to_record()["days"] == ["mon", "tue"]


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (
            {"days": ["mon"], "start": "09:00", "end": "18:00", "timezone": "Mars/Olympus"},
            "timezone",
        ),
        (
            {"days": ["mon"], "start": "09:00", "end": "18:00", "timezone": "../etc/passwd"},
            "timezone",
        ),
        ({"days": ["monkey"], "start": "09:00", "end": "18:00", "timezone": "UTC"}, "days[0]"),
        ({"days": [], "start": "09:00", "end": "18:00", "timezone": "UTC"}, "days"),
        ({"days": "mon", "start": "09:00", "end": "18:00", "timezone": "UTC"}, "days"),
        ({"days": ["mon"], "start": "24:00", "end": "18:00", "timezone": "UTC"}, "start"),
        ({"days": ["mon"], "start": "09:00", "end": "18:60", "timezone": "UTC"}, "end"),
        ({"days": ["mon"], "start": "9:00", "end": "18:00", "timezone": "UTC"}, "start"),
        ({"days": ["mon"], "start": "09:00", "end": "18:00"}, "timezone"),
    ],
)
def test_a_bad_window_is_refused_naming_its_field(record: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidSettingError) as raised:
        SendWindow.parse(record)

    assert raised.value.field == f"window.{field}"
