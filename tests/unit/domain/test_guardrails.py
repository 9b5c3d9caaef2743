"""Each guardrail's verdict, with a manual clock: windows, caps, WhatsApp's limits, opt-outs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from domain.campaign import Campaign, PauseReason
from domain.caps import Warmup, effective_cap
from domain.gates import Hold, Skip
from domain.guardrails import (
    LIMIT_RECHECK,
    EarlierMessage,
    WhatsAppLimit,
    cap_verdict,
    limits_verdict,
    opt_out_verdict,
    recent_contact_verdict,
    window_verdict,
)
from domain.number_settings import NumberSettings, SessionSettings
from domain.opt_out import OptOutEntry
from domain.window import InvalidSettingError, SendWindow, next_local_day_start
from tests.fakes.system import ManualClock

BERLIN_OFFICE = {
    "days": ["mon", "tue", "wed", "thu", "fri"],
    "start": "09:00",
    "end": "18:00",
    "timezone": "Europe/Berlin",
}


FRIDAY_EVENING = datetime(2026, 11, 27, 19, 0, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def settings(**changes: object) -> NumberSettings:
    return NumberSettings().changed(changes)


# -- 1. the window ------------------------------------------------------------------------------


def test_a_closed_window_holds_the_number_until_it_opens() -> None:
    clock = ManualClock(utc(2026, 11, 27, 19, 0))  # Friday 20:00 in Berlin
    number = settings(window=BERLIN_OFFICE).window

    verdict = window_verdict(number, None, clock.now())

    assert isinstance(verdict, Hold)
    assert verdict.reason is PauseReason.OUTSIDE_WINDOW
    assert verdict.lane_wide
    assert verdict.resume_at == utc(2026, 11, 30, 8, 0)  # Monday 09:00 CET
    assert "2026-11-30T09:00+01:00" in verdict.detail
    clock.current = verdict.resume_at
    assert window_verdict(number, None, clock.now()) is None


def test_a_campaigns_own_window_holds_only_that_campaign_until_both_are_open() -> None:
    clock = ManualClock(utc(2026, 11, 30, 8, 30))  # Monday 09:30 in Berlin
    number = settings(window=BERLIN_OFFICE).window
    campaign = SendWindow.parse({**BERLIN_OFFICE, "days": ["tue"], "start": "14:00"})

    verdict = window_verdict(number, campaign, clock.now())

    assert isinstance(verdict, Hold)
    assert not verdict.lane_wide
    assert verdict.resume_at == utc(2026, 12, 1, 13, 0)  # Tuesday 14:00


def test_a_window_that_closed_at_midnight_opens_the_same_evening() -> None:
    clock = ManualClock(utc(2026, 11, 27, 23, 59))
    night = settings(
        window={
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "start": "20:00",
            "end": "00:00",
            "timezone": "UTC",
        }
    ).window
    assert window_verdict(night, None, clock.now()) is None

    clock.advance(60)
    verdict = window_verdict(night, None, clock.now())

    assert isinstance(verdict, Hold)
    assert verdict.resume_at == utc(2026, 11, 28, 20, 0)


def test_a_window_across_the_march_change_opens_at_local_nine() -> None:
    clock = ManualClock(utc(2026, 3, 27, 17, 30))  # Friday 18:30 CET
    number = settings(window=BERLIN_OFFICE).window

    verdict = window_verdict(number, None, clock.now())

    assert isinstance(verdict, Hold)
    assert verdict.resume_at == utc(2026, 3, 30, 7, 0)  # Monday 09:00 CEST


def test_windows_that_never_meet_are_looked_at_again_the_next_day() -> None:
    clock = ManualClock(utc(2026, 11, 30, 8, 30))
    number = settings(window=BERLIN_OFFICE).window
    campaign = SendWindow.parse({**BERLIN_OFFICE, "days": ["sat"]})

    verdict = window_verdict(number, campaign, clock.now())

    assert isinstance(verdict, Hold)
    assert verdict.resume_at == clock.now() + timedelta(days=1)
    assert "never meets" in verdict.detail


def test_a_timed_pause_is_on_the_record_and_survives_a_replay() -> None:
    clock = ManualClock(FRIDAY_EVENING)
    campaign = Campaign(
        name="Spring sale",
        session="default",
        message={"text": "Hi"},
        audience={"id": "6acbb920-ed4d-59f0-a952-74f90983bf30", "content_hash": "0", "size": 2},
        scheduled_for=clock.now(),
        pacing={"min_seconds": 0.0, "max_seconds": 0.0},
        options={},
        at=clock.now(),
    )
    campaign.start(at=clock.now())
    verdict = window_verdict(settings(window=BERLIN_OFFICE).window, None, clock.now())
    assert isinstance(verdict, Hold)
    campaign.pause_at_next(
        reason=verdict.reason, detail=verdict.detail, at=clock.now(), resume_at=verdict.resume_at
    )

    replayed: Any = None  # a restart: the campaign is what its events make it
    for recorded in campaign.collect_events():
        replayed = recorded.mutate(replayed)

    assert isinstance(replayed, Campaign)
    assert replayed.pause is not None
    assert (replayed.pause["reason"], replayed.pause["resume_at"]) == (
        "outside_window",
        datetime(2026, 11, 30, 8, 0, tzinfo=UTC),
    )


# -- 2. the caps --------------------------------------------------------------------------------


def test_a_reached_cap_holds_until_the_next_local_day_opens() -> None:
    clock = ManualClock(utc(2026, 11, 27, 10, 0))  # Friday 11:00 in Berlin
    number = settings(window=BERLIN_OFFICE, daily_cap=3)

    assert cap_verdict(number, clock.now(), sent_today=2) is None
    verdict = cap_verdict(number, clock.now(), sent_today=3)

    assert isinstance(verdict, Hold)
    assert verdict.reason is PauseReason.DAILY_CAP
    assert verdict.resume_at == utc(2026, 11, 30, 8, 0)  # the next day with a window: Monday


def test_without_a_window_the_cap_counts_utc_days() -> None:
    clock = ManualClock(utc(2026, 11, 27, 23, 59))
    number = settings(daily_cap=100)

    verdict = cap_verdict(number, clock.now(), sent_today=100)

    assert isinstance(verdict, Hold)
    assert verdict.resume_at == utc(2026, 11, 28, 0, 0)
    assert number.day_start(clock.now()) == utc(2026, 11, 27, 0, 0)


def test_the_cap_resets_at_local_midnight_across_the_october_change() -> None:
    number = settings(
        window={**BERLIN_OFFICE, "days": ["sat", "sun"], "start": "00:00", "end": "00:00"},
        daily_cap=5,
    )
    saturday_late = utc(2026, 10, 24, 21, 59)  # 23:59 CEST

    verdict = cap_verdict(number, saturday_late, sent_today=5)

    assert isinstance(verdict, Hold)
    assert verdict.resume_at == utc(2026, 10, 24, 22, 0)  # Sunday 00:00 CEST
    sunday = utc(2026, 10, 25, 12, 0)
    assert number.day_start(sunday) == utc(2026, 10, 24, 22, 0)
    # Sunday 25 October lasts 25 hours: Monday begins at 23:00 UTC.
    assert next_local_day_start(sunday, number.zone) == utc(2026, 10, 25, 23, 0)
    assert number.next_day_opening(sunday) == utc(2026, 10, 30, 23, 0)  # Saturday 31st, CET


def test_the_warmup_cap_grows_week_by_week_and_the_last_one_holds() -> None:
    warmup = Warmup.parse({"started_on": "2026-11-02", "caps": [20, 50, 100]})

    assert [warmup.cap_on(date(2026, 11, d)) for d in (2, 8, 9, 15, 16)] == [20, 20, 50, 50, 100]
    assert warmup.cap_on(date(2027, 6, 1)) == 100
    assert warmup.cap_on(date(2026, 10, 1)) == 20  # declared ahead: week 1 until then


def test_the_smaller_of_the_daily_cap_and_the_warmup_binds() -> None:
    warmup = Warmup.parse({"started_on": "2026-11-02", "caps": [20, 50, 100]})
    week_two = date(2026, 11, 10)

    assert effective_cap(30, warmup, week_two) is not None
    cap = effective_cap(60, warmup, week_two)
    assert cap is not None
    assert (cap.limit, cap.reason) == (50, PauseReason.WARMUP_CAP)
    cap = effective_cap(30, warmup, week_two)
    assert cap is not None
    assert (cap.limit, cap.reason) == (30, PauseReason.DAILY_CAP)
    assert effective_cap(None, None, week_two) is None


def test_a_warmup_cap_hold_names_its_week() -> None:
    number = settings(warmup={"started_on": "2026-11-16", "caps": [2, 3, 10]})

    verdict = cap_verdict(number, utc(2026, 11, 27, 10, 0), sent_today=3)

    assert isinstance(verdict, Hold)
    assert verdict.reason is PauseReason.WARMUP_CAP
    assert "week 2" in verdict.detail


# -- 3. WhatsApp's own limits ---------------------------------------------------------------------


def test_a_reachout_timelock_holds_until_the_end_whatsapp_gives() -> None:
    clock = ManualClock()
    end = clock.now() + timedelta(hours=5)

    verdict = limits_verdict([WhatsAppLimit(PauseReason.REACHOUT_TIMELOCK, end)], clock.now())

    assert isinstance(verdict, Hold)
    assert (verdict.reason, verdict.resume_at) == (PauseReason.REACHOUT_TIMELOCK, end)
    clock.current = end
    assert limits_verdict([WhatsAppLimit(PauseReason.REACHOUT_TIMELOCK, end)], clock.now()) is None


def test_a_limit_without_an_end_is_looked_at_again_later() -> None:
    clock = ManualClock()

    verdict = limits_verdict([WhatsAppLimit(PauseReason.CAPPED, None)], clock.now())

    assert isinstance(verdict, Hold)
    assert (verdict.reason, verdict.resume_at) == (PauseReason.CAPPED, clock.now() + LIMIT_RECHECK)


# -- 4. and 5. the contact ------------------------------------------------------------------------


def test_an_opted_out_contact_is_skipped_with_the_reason_code() -> None:
    entry = OptOutEntry("+4915112345678", "inbound:stop", utc(2026, 11, 1, 8, 0), "")

    verdict = opt_out_verdict(entry)

    assert isinstance(verdict, Skip)
    assert verdict.reason == "opted_out"
    assert "inbound:stop" in verdict.detail
    assert opt_out_verdict(None) is None


def test_a_recently_contacted_number_is_skipped_naming_the_earlier_campaign() -> None:
    clock = ManualClock()
    earlier = EarlierMessage(uuid4(), clock.now() - timedelta(days=2))

    verdict = recent_contact_verdict(earlier, clock.now(), 3)

    assert isinstance(verdict, Skip)
    assert verdict.reason == "recently_contacted"
    assert str(earlier.campaign_id) in verdict.detail
    assert earlier.at.isoformat() in verdict.detail
    clock.advance(86_400)
    assert recent_contact_verdict(earlier, clock.now(), 3) is None
    assert recent_contact_verdict(earlier, clock.now(), None) is None


# -- the settings on the record -------------------------------------------------------------------


def test_a_settings_change_records_who_changed_what_from_what() -> None:
    clock = ManualClock()
    record = SessionSettings(session="default", at=clock.now())

    record.change(changes={"daily_cap": 200}, by="api", at=clock.now())
    record.change(changes={"daily_cap": 150, "recontact_after_days": 7}, by="cli", at=clock.now())
    record.change(changes={"daily_cap": 150}, by="cli", at=clock.now())  # nothing new

    changes = [e for e in record.collect_events() if isinstance(e, SessionSettings.SettingsChanged)]
    assert [(e.by, e.old, e.new) for e in changes] == [
        ("api", {"daily_cap": None}, {"daily_cap": 200}),
        (
            "cli",
            {"daily_cap": 200, "recontact_after_days": None},
            {"daily_cap": 150, "recontact_after_days": 7},
        ),
    ]
    assert record.settings.daily_cap == 150


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"daily_cap": -1}, "daily_cap"),
        ({"daily_cap": "ten"}, "daily_cap"),
        ({"warmup": {"started_on": "2026-02-30", "caps": [1]}}, "warmup.started_on"),
        ({"warmup": {"started_on": "2026-11-02", "caps": [10, -5]}}, "warmup.caps[1]"),
        ({"warmup": {"started_on": "2026-11-02", "caps": []}}, "warmup.caps"),
        ({"recontact_after_days": 0}, "recontact_after_days"),
        ({"window": {**BERLIN_OFFICE, "timezone": "Europe/Berlinn"}}, "window.timezone"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_a_bad_setting_is_refused_naming_its_field_and_changes_nothing(
    changes: dict[str, object], field: str
) -> None:
    clock = ManualClock()
    record = SessionSettings(session="default", at=clock.now())
    record.change(changes={"daily_cap": 10}, by="api", at=clock.now())
    version = record.version

    with pytest.raises(InvalidSettingError) as raised:
        record.change(changes={"recontact_after_days": 3, **changes}, by="api", at=clock.now())

    assert raised.value.field == field
    assert record.version == version
    assert record.settings.recontact_after_days is None


def test_a_setting_given_as_null_is_cleared() -> None:
    number = settings(daily_cap=5, window=BERLIN_OFFICE).changed({"window": None})

    assert (number.window, number.daily_cap) == (None, 5)
    assert NumberSettings.from_record(number.to_record()) == number
