"""Numbers, durations and times as people read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.console.formatting import count, duration, moment, percent, relative

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"), [(0, "0"), (999, "999"), (1234, "1,234"), (1_000_000, "1,000,000")]
)
def test_counts_have_thousands_separated(value: int, expected: str) -> None:
    assert count(value) == expected


def test_an_unknown_count_is_a_dash() -> None:
    assert count(None) == "—"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0.2, "under a second"),
        (12, "12 s"),
        (65, "1 min 5 s"),
        (3600, "1 h"),
        (12_000, "3 h 20 min"),
        (90_000, "1 d 1 h"),
        (-12, "12 s"),
    ],
)
def test_durations_speak_in_their_two_largest_units(seconds: float, expected: str) -> None:
    assert duration(seconds) == expected


def test_a_future_time_is_in_so_long_and_a_past_one_so_long_ago() -> None:
    assert relative(NOW + timedelta(hours=3, minutes=20), NOW) == "in 3 h 20 min"
    assert relative(NOW - timedelta(seconds=12), NOW) == "12 s ago"
    assert relative(NOW, NOW) == "just now"


def test_moments_are_written_in_utc_and_say_so() -> None:
    paris = datetime(2026, 5, 1, 11, 0, tzinfo=UTC).astimezone()
    assert moment(paris) == "2026-05-01 11:00:00 UTC"


def test_a_share_of_nothing_is_zero_and_never_over_a_hundred() -> None:
    assert percent(3, 0) == 0.0
    assert percent(5, 4) == 100.0
    assert percent(1, 4) == 25.0
