"""How commands print spans and times: every value gives a line of text, never a traceback."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.cli.output import Style, describe_campaign, duration, when
from tests.adapters.cli.fake_service import a_view


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.6, "0.6s"),
        (45, "45s"),
        (750, "12m 30s"),
        (3 * 3600 + 300, "3h 05m"),
        (2 * 86_400 + 4 * 3600, "2d 04h"),
        (-3, "0.0s"),
    ],
)
def test_a_duration_uses_the_two_largest_units(seconds: float, text: str) -> None:
    assert duration(seconds) == text


@pytest.mark.parametrize("seconds", [1e308, float("inf"), 200 * 365 * 86_400])
def test_a_duration_past_a_century_says_so(seconds: float) -> None:
    assert duration(seconds) == "over 100 years"


def test_a_duration_that_is_not_a_number_is_unknown() -> None:
    assert duration(float("nan")) == "unknown"


def test_a_time_is_shown_in_utc_to_the_second() -> None:
    assert when("2026-11-28T10:00:00.5+01:00") == "2026-11-28 09:00:00Z"
    assert when(datetime(2026, 11, 28, 9, tzinfo=UTC)) == "2026-11-28 09:00:00Z"
    assert when(None) == "-"


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_time_utc_cannot_show_is_shown_as_given(text: str) -> None:
    assert when(text) == text


def test_text_that_is_not_a_time_is_shown_as_it_is() -> None:
    assert when("soon") == "soon"
    assert when(17) == "17"


def test_a_campaign_without_a_readable_pacing_is_still_described() -> None:
    view = a_view(pacing={"min_seconds": None})

    assert "pacing     ?-? s" in describe_campaign(view, Style(enabled=False))
