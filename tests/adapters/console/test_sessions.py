"""The sessions pages: a number's card in words, its settings form, and the pages over the app."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from adapters.bootstrap import Services
from adapters.console.records import ScheduledRecord
from adapters.console.sessions_page import (
    StatusAnswer,
    change_words,
    days_words,
    session_card,
)
from adapters.console.settings_form import SettingsForm
from app.ports import SessionStatusFact
from domain.lifecycle import CampaignStatus
from domain.session import SessionName
from tests.adapters.console.conftest import Client, create, csrf_of, finish_runs
from tests.adapters.console.samples import NOW, a_session_view, a_view, facts_of
from tests.fakes.gateway import FakeWahaGateway

# NOW is Friday 2026-05-01 09:00 UTC: 11:00 in Berlin.
BERLIN_WEEKDAYS = {
    "days": ["mon", "tue", "wed", "thu", "fri"],
    "start": "09:00",
    "end": "18:00",
    "timezone": "Europe/Berlin",
}
WORKING = StatusAnswer(SessionStatusFact("sales", "WORKING", NOW, "poll"))


# -- the card ---------------------------------------------------------------------------------


def test_a_card_has_wahas_status_the_lane_and_the_campaigns_on_the_number() -> None:
    running = a_view(name="Running one", session="sales")
    done = a_view(name="Done one", session="sales", status=CampaignStatus.COMPLETED)
    other = a_view(name="Elsewhere", session="support", status=CampaignStatus.PAUSED)
    views = (running, done, other)
    facts = [facts_of(v) for v in views]
    records = {
        f.id: ScheduledRecord(f.id, 1, v.name, v.session) for f, v in zip(facts, views, strict=True)
    }
    lane = {"owner": "host-1:4242", "epoch": 3, "expires_at": NOW + timedelta(seconds=6)}

    card = session_card(a_session_view(lane=lane), WORKING, facts, records, NOW)

    assert card.sendable
    assert card.note == "working: campaigns can send"
    assert [c.name for c in card.active] == ["Running one"]
    assert card.finished == 1
    assert card.lane_owner == "host-1:4242"
    assert card.lane_detail == "its lease ends in 6 s unless renewed"
    assert card.href == "/ui/sessions/sales/settings"


def test_a_number_waha_cannot_tell_about_says_why() -> None:
    answer = StatusAnswer(None, "no answer within 3 s")

    card = session_card(a_session_view(waha_status=None), answer, [], {}, NOW)

    assert (card.status, card.sendable) == (None, False)
    assert card.note == "WAHA could not say: no answer within 3 s"
    assert answer.said.status is None
    assert card.lane_owner is None


def test_sent_today_is_told_against_the_cap_in_force() -> None:
    settings = {
        "window": None,
        "daily_cap": 2000,
        "warmup": {"started_on": "2026-04-20", "caps": [20, 1500, 3000]},
        "recontact_after_days": 30,
    }
    view = a_session_view(
        settings=settings,
        sent_today=1234,
        effective_cap=1500,
        cap_kind="warmup_cap",
        remaining_today=266,
    )

    card = session_card(view, WORKING, [], {}, NOW)

    assert card.today.headline == "1,234 of 1,500 sent today"
    assert card.today.detail == "266 left (warm-up cap, week 2)"
    assert card.today.since == "since 00:00 UTC"
    assert card.recontact == "not within 30 days"


def test_a_reached_cap_says_when_the_number_sends_again() -> None:
    view = a_session_view(
        settings={**a_session_view().settings, "daily_cap": 200},
        sent_today=200,
        effective_cap=200,
        cap_kind="daily_cap",
        remaining_today=0,
    )

    card = session_card(view, WORKING, [], {}, NOW)

    assert card.today.reached
    assert card.today.detail == "cap reached (daily cap): sends again in 15 h"


def test_an_open_window_says_when_it_closes_on_its_own_clock() -> None:
    view = a_session_view(
        settings={**a_session_view().settings, "window": BERLIN_WEEKDAYS},
        day_started_at=datetime(2026, 4, 30, 22, tzinfo=UTC),
        window_open=True,
        window_closes_at=datetime(2026, 5, 1, 16, tzinfo=UTC),
    )

    card = session_card(view, WORKING, [], {}, NOW)

    assert card.window.kind == "open"
    assert card.window.spec == "Mon-Fri 09:00-18:00 Europe/Berlin"
    assert card.window.detail == "closes in 7 h (Fri 18:00 Europe/Berlin)"
    assert card.today.since == "since 00:00 Europe/Berlin"


def test_a_closed_window_says_when_it_opens_next() -> None:
    view = a_session_view(
        settings={**a_session_view().settings, "window": BERLIN_WEEKDAYS},
        window_open=False,
        window_opens_at=datetime(2026, 5, 4, 7, tzinfo=UTC),
    )

    card = session_card(view, WORKING, [], {}, NOW)

    assert (card.window.kind, card.window.headline) == ("closed", "Closed")
    assert card.window.detail == "opens in 2 d 22 h (Mon 09:00 Europe/Berlin)"


def test_no_window_and_no_cap_say_so() -> None:
    card = session_card(a_session_view(sent_today=3), WORKING, [], {}, NOW)

    assert (card.window.headline, card.window.detail) == ("No window", "sends at any hour")
    assert (card.today.headline, card.today.detail) == ("3 sent today", "no daily cap")
    assert card.recontact == "any time"


def test_days_are_written_as_people_write_them() -> None:
    assert days_words(["mon", "tue", "wed", "thu", "fri"]) == "Mon-Fri"
    assert days_words(["sun", "sat"]) == "Sat, Sun"
    assert days_words(["mon", "tue", "wed", "fri"]) == "Mon-Wed, Fri"
    assert days_words(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]) == "every day"


def test_a_recorded_change_is_told_setting_by_setting() -> None:
    change = {
        "by": "console",
        "at": "2026-05-01T09:00:00+00:00",
        "old": {"daily_cap": 200, "window": None},
        "new": {"daily_cap": 1500, "window": BERLIN_WEEKDAYS},
    }

    assert change_words(change) == [
        "daily cap: 200 → 1,500",
        "window: none → Mon-Fri 09:00-18:00 Europe/Berlin",
    ]


# -- the settings form ------------------------------------------------------------------------


def test_the_form_asks_for_every_setting_as_the_api_takes_it() -> None:
    form = SettingsForm(
        window_on=True,
        days=("mon", "fri"),
        start="09:00",
        end="18:00",
        timezone="Europe/Berlin",
        daily_cap="1,500",
        warmup_started_on="2026-04-20",
        warmup_caps="20, 50 100",
        recontact_after_days="",
    )

    changes, errors = form.changes()

    assert errors == {}
    assert changes == {
        "window": {
            "days": ["mon", "fri"],
            "start": "09:00",
            "end": "18:00",
            "timezone": "Europe/Berlin",
        },
        "daily_cap": 1500,
        "warmup": {"started_on": "2026-04-20", "caps": [20, 50, 100]},
        "recontact_after_days": None,
    }


def test_an_empty_form_clears_every_setting() -> None:
    changes, errors = SettingsForm().changes()

    assert errors == {}
    assert set(changes.values()) == {None}


def test_every_bad_field_is_named_at_once() -> None:
    form = SettingsForm(
        window_on=True,
        days=(),
        start="25:00",
        end="noon",
        timezone="Mars/Olympus",
        daily_cap="lots",
        warmup_started_on="2026-02-30",
        warmup_caps="20, 50",
        recontact_after_days="0",
    )

    _, errors = form.changes()

    assert set(errors) == {
        "days",
        "start",
        "end",
        "timezone",
        "daily_cap",
        "warmup_started_on",
        "recontact_after_days",
    }
    assert errors["start"] == "25:00 is out of range (00:00 to 23:59)"
    assert "unknown time zone 'Mars/Olympus'" in errors["timezone"]
    assert errors["warmup_started_on"] == "no such date: 2026-02-30"


def test_a_warmup_needs_its_first_day_and_its_caps() -> None:
    _, without_day = SettingsForm(warmup_caps="20").changes()
    _, without_caps = SettingsForm(warmup_started_on="2026-04-20").changes()
    _, negative = SettingsForm(warmup_started_on="2026-04-20", warmup_caps="20, -5").changes()

    assert set(without_day) == {"warmup_started_on"}
    assert set(without_caps) == {"warmup_caps"}
    assert set(negative) == {"warmup_caps"}


def test_the_form_shows_the_settings_as_recorded() -> None:
    recorded = {
        "window": BERLIN_WEEKDAYS,
        "daily_cap": 200,
        "warmup": {"started_on": "2026-04-20", "caps": [20, 50]},
        "recontact_after_days": None,
    }

    form = SettingsForm.of(recorded)

    assert form.window_on
    assert form.days == ("mon", "tue", "wed", "thu", "fri")
    assert (form.daily_cap, form.warmup_caps, form.recontact_after_days) == ("200", "20, 50", "")
    assert form.changes()[0]["window"] == BERLIN_WEEKDAYS


def test_a_time_with_seconds_is_read_to_the_minute() -> None:
    form = SettingsForm.from_post(
        {"window_on": "on", "start": "09:00:00", "end": "18:00"}, ("tue",)
    )

    assert (form.start, form.days) == ("09:00", ("tue",))


# -- the pages over the application -----------------------------------------------------------


async def _settings_page(client: Client, session: str = "default") -> str:
    response = await client.get(f"/ui/sessions/{session}/settings")
    assert response.status == 200
    return await response.text()


async def test_a_number_with_settings_only_is_listed(signed_in: Client, services: Services) -> None:
    services.session_settings.change(SessionName("sales"), {"daily_cap": 50}, by="test")

    page = await (await signed_in.get("/ui/sessions")).text()

    assert 'data-session="sales"' in page
    assert "0 of 50 sent today" in page


async def test_saving_the_form_changes_the_settings_on_the_record(
    signed_in: Client, services: Services
) -> None:
    await create(signed_in, n=2)
    await finish_runs(signed_in)
    page = await _settings_page(signed_in)

    response = await signed_in.post(
        "/ui/sessions/default/settings",
        data={
            "csrf": csrf_of(page),
            "window_on": "on",
            "days": ["mon", "tue", "wed", "thu", "fri"],
            "start": "09:00",
            "end": "18:00",
            "timezone": "Europe/Berlin",
            "daily_cap": "200",
            "warmup_started_on": "",
            "warmup_caps": "",
            "recontact_after_days": "30",
        },
    )
    text = await response.text()

    stored = services.session_settings.view("default")
    assert response.status == 200  # after the redirect to the page
    assert str(response.url).endswith("/ui/sessions/default/settings")
    assert stored.settings.daily_cap == 200
    assert stored.settings.recontact_after_days == 30
    assert stored.changed_by == "console"
    assert "Settings of default saved" in text
    assert "2 of 200 sent today" in text
    assert "Mon-Fri 09:00-18:00 Europe/Berlin" in text
    assert "daily cap: none → 200" in text  # the change, on the record


async def test_a_save_keeps_what_someone_else_changed_meanwhile_in_a_setting_left_as_shown(
    signed_in: Client, services: Services
) -> None:
    services.session_settings.change(SessionName("default"), {"daily_cap": 500}, by="test")
    page = await _settings_page(signed_in)  # shows a cap of 500
    # Meanwhile a ban scare: the cap is lowered from the CLI.
    services.session_settings.change(SessionName("default"), {"daily_cap": 100}, by="cli")
    fields = dict(re.findall(r'<input type="hidden" name="(shown_[a-z_]+)" value="([^"]*)"', page))

    response = await signed_in.post(
        "/ui/sessions/default/settings",
        data={
            **fields,
            "csrf": csrf_of(page),
            "window_on": "on",  # the only edit: a window
            "days": ["mon", "tue"],
            "start": "09:00",
            "end": "18:00",
            "timezone": "UTC",
            "daily_cap": "500",  # as shown
            "warmup_started_on": "",
            "warmup_caps": "",
            "recontact_after_days": "",
        },
    )

    stored = services.session_settings.view("default")
    assert response.status == 200
    assert fields["shown_daily_cap"] == "500"
    assert stored.settings.daily_cap == 100  # not undone
    assert stored.settings.window is not None


async def test_bad_settings_are_shown_next_to_their_fields_and_nothing_is_recorded(
    signed_in: Client, services: Services
) -> None:
    page = await _settings_page(signed_in)

    response = await signed_in.post(
        "/ui/sessions/default/settings",
        data={
            "csrf": csrf_of(page),
            "window_on": "on",
            "days": "mon",
            "start": "09:00",
            "end": "18:00",
            "timezone": "Europe/Nowhere",
            "daily_cap": "two hundred",
        },
    )
    text = await response.text()

    assert response.status == 422
    assert services.session_settings.record_of("default") is None
    assert 'value="two hundred" aria-invalid="true" aria-describedby="daily_cap-error"' in text
    assert '<p class="field-error" id="timezone-error">unknown time zone' in text
    assert 'value="Europe/Nowhere"' in text
    assert 'value="mon" id="day-mon" checked' in text
    assert "Nothing was saved" in text


async def test_the_settings_form_needs_its_csrf_token(
    signed_in: Client, services: Services
) -> None:
    response = await signed_in.post("/ui/sessions/default/settings", data={"daily_cap": "5"})

    assert response.status == 403
    assert services.session_settings.record_of("default") is None


async def test_the_number_page_is_live_and_says_what_waha_says(
    signed_in: Client, gateway: FakeWahaGateway
) -> None:
    page = await _settings_page(signed_in, "sales")
    gateway.status = "STOPPED"

    live = await signed_in.get("/ui/sessions/sales/live")

    assert 'hx-get="/ui/sessions/sales/live?v=' in page
    assert "working: campaigns can send" in page
    assert live.status == 200
    assert "cannot send while STOPPED" in await live.text()


async def test_a_name_that_cannot_be_a_session_is_no_page(signed_in: Client) -> None:
    response = await signed_in.get("/ui/sessions/no%20such/settings")

    assert response.status == 404
