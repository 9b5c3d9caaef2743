"""CampaignsApp on the event store: scheduling, lifecycle commands, audit queries, snapshots."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import project_aggregate

from adapters.persistence import persistence_environment
from app.audience import ContactInput, DuplicateRow
from app.campaigns import CampaignsApp
from app.errors import (
    AudienceRejectedError,
    CampaignNotFoundError,
    ConcurrentUpdateError,
    InvalidCampaignError,
    MissingVariablesError,
)
from app.views import CampaignView
from domain.campaign import AttemptOutcome, Campaign, PauseReason
from domain.delivery import Deliveries
from domain.errors import IllegalTransitionError
from domain.lifecycle import CampaignStatus
from tests import histories
from tests.builders import a_campaign, contacts, scheduled
from tests.fakes.system import ManualClock
from tests.unit.app.recorded_state import recorded_state


def chat(index: int) -> str:
    return f"49151{10000000 + index}@c.us"


def phone(index: int) -> str:
    return f"+49151{10000000 + index}"


def recorded_count(app: CampaignsApp) -> int:
    return app.recorder.max_notification_id() or 0


def handle(
    app: CampaignsApp, campaign_id: UUID, index: int, outcome: AttemptOutcome = AttemptOutcome.SENT
) -> CampaignView:
    histories.begin_attempt(
        app, campaign_id, index=index, attempt_id=f"a-{index}", chat_id=chat(index)
    )
    return histories.record_attempt(
        app,
        campaign_id,
        index=index,
        chat_id=chat(index),
        outcome=outcome,
        message_id=f"msg-{index}" if outcome is AttemptOutcome.SENT else None,
        error=None if outcome is AttemptOutcome.SENT else outcome.value,
        attempt_id=f"a-{index}",
    )


def a_running(app: CampaignsApp, n: int = 3) -> UUID:
    campaign_id: UUID = scheduled(app, n)
    app.start_campaign(campaign_id)
    return campaign_id


# -- scheduling -----------------------------------------------------------------------------------


def test_scheduling_records_a_scheduled_campaign_over_its_frozen_audience(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    result = campaigns.schedule_campaign(a_campaign(3, name="  Spring sale  "))

    view = campaigns.campaign(result.view.id)
    assert view == result.view
    assert (view.name, view.status, view.session) == ("Spring sale", "Scheduled", "default")
    assert (view.total, view.next_index, view.version) == (3, 0, 1)
    assert view.scheduled_for == clock.now()
    assert result.duplicates == []
    assert [c.phone for c in campaigns.audience_of(view.id)] == [phone(i) for i in range(3)]


def test_scheduling_drops_duplicate_numbers_and_reports_them(campaigns: CampaignsApp) -> None:
    rows = [*contacts(2), ContactInput(phone="+49 151 1000 0000", name="Again")]

    result = campaigns.schedule_campaign(a_campaign(contacts=rows))

    assert result.view.total == 2
    assert result.duplicates == [
        DuplicateRow(position=2, value="+49 151 1000 0000", first_position=0)
    ]
    assert [c.name for c in campaigns.audience_of(result.view.id)] == ["Contact 0", "Contact 1"]


def test_scheduling_rejects_invalid_numbers_naming_each_row_and_records_nothing(
    campaigns: CampaignsApp,
) -> None:
    rows = [*contacts(1), ContactInput("abc"), ContactInput(""), ContactInput("+49 123")]
    before = recorded_count(campaigns)

    with pytest.raises(AudienceRejectedError) as raised:
        campaigns.schedule_campaign(a_campaign(contacts=rows))

    assert raised.value.problems == [
        {"field": "contacts[1].phone", "value": "abc", "reason": "not a phone number"},
        {"field": "contacts[2].phone", "value": "", "reason": "phone is empty"},
        {
            "field": "contacts[3].phone",
            "value": "+49 123",
            "reason": "not a valid phone number for its country",
        },
    ]
    assert recorded_count(campaigns) == before
    assert campaigns.all_campaign_ids() == []


def test_scheduling_rejects_contacts_missing_template_variables_listing_them(
    campaigns: CampaignsApp,
) -> None:
    rows = [
        ContactInput(phone(0), "Ana", {"code": "A1"}),
        ContactInput(phone(1), "Ben"),
        ContactInput(phone(2)),
    ]
    before = recorded_count(campaigns)

    with pytest.raises(MissingVariablesError) as raised:
        campaigns.schedule_campaign(a_campaign(contacts=rows, text="Hi {name}, use {code}"))

    assert raised.value.problems == [
        {
            "field": "contacts",
            "reason": "2 contact(s) have empty values the template needs ({code} 2, {name} 1) "
            "and no default is set; fill them in or set message.defaults: "
            f"contacts[1] {phone(1)} lacks {{code}}; "
            f"contacts[2] {phone(2)} lacks {{code}}, {{name}}",
        }
    ]
    assert [m.position for m in raised.value.missing] == [1, 2]
    assert recorded_count(campaigns) == before


def test_a_template_field_no_contact_has_is_one_problem_suggesting_the_closest_name(
    campaigns: CampaignsApp,
) -> None:
    rows = [ContactInput(phone(i), f"C{i}", {"city": "Berlin"}) for i in range(1000)]
    before = recorded_count(campaigns)

    with pytest.raises(MissingVariablesError) as raised:
        campaigns.schedule_campaign(a_campaign(contacts=rows, text="Hi {nmae} in {city}"))

    assert raised.value.problems == [
        {
            "field": "message.text",
            "value": "{nmae}",
            "reason": "no contact has a nmae column or variable and there is no default for it "
            "(the contacts have: city, name); did you mean {name}?",
        }
    ]
    assert raised.value.unknown == ("nmae",)
    assert recorded_count(campaigns) == before


def test_a_template_field_far_from_every_column_suggests_nothing(campaigns: CampaignsApp) -> None:
    with pytest.raises(MissingVariablesError) as raised:
        campaigns.schedule_campaign(a_campaign(contacts=contacts(2), text="Hi {voucher}"))

    (problem,) = raised.value.problems
    assert problem["reason"] == (
        "no contact has a voucher column or variable and there is no default for it "
        "(the contacts have: name)"
    )


def test_many_contacts_lacking_a_value_are_one_problem_showing_the_first_rows(
    campaigns: CampaignsApp,
) -> None:
    rows = [ContactInput(phone(0), "Ana", {"code": "A1"}), *contacts(500, start=1)]

    with pytest.raises(MissingVariablesError) as raised:
        campaigns.schedule_campaign(a_campaign(contacts=rows, text="Hi {nmae}, use {code}"))

    unknown, lacking = raised.value.problems
    assert unknown["value"] == "{nmae}"
    assert lacking["field"] == "contacts"
    reason = str(lacking["reason"])
    assert reason.startswith("500 contact(s) have empty values the template needs ({code} 500)")
    assert reason.count("lacks {code}") == 20
    assert "contacts[20] " in reason
    assert "contacts[21] " not in reason
    assert reason.endswith("; and 480 more")
    assert len(raised.value.missing) == 501  # every contact lacks {nmae}


def test_missing_variables_name_the_operators_row_after_a_dropped_duplicate(
    campaigns: CampaignsApp,
) -> None:
    rows = [
        ContactInput(phone(0), "Ana", {"code": "A1"}),
        ContactInput(phone(0), "Ana", {"code": "A1"}),
        ContactInput(phone(1), "Ben"),
    ]

    with pytest.raises(MissingVariablesError) as raised:
        campaigns.schedule_campaign(a_campaign(contacts=rows, text="Hi {name}, use {code}"))

    assert [p["field"] for p in raised.value.problems] == ["contacts"]
    assert f"contacts[2] {phone(1)} lacks {{code}}" in str(raised.value.problems[0]["reason"])


def test_a_default_fills_a_variable_a_contact_lacks(campaigns: CampaignsApp) -> None:
    rows = [ContactInput(phone(0), "Ana", {"code": "A1"}), ContactInput(phone(1), "Ben")]

    result = campaigns.schedule_campaign(
        a_campaign(contacts=rows, text="Hi {name}, use {code}", defaults={"code": "WELCOME"})
    )

    assert result.view.total == 2
    assert result.view.message["defaults"] == {"code": "WELCOME"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"session": "my session!"}, "session"),
        ({"session": ""}, "session"),
        ({"text": "  "}, "message.text"),
        ({"text": "Hi {name!r}"}, "message.text"),
        ({"contacts": []}, "contacts"),
    ],
    ids=[
        "blank-name",
        "long-name",
        "bad-session",
        "empty-session",
        "blank-text",
        "bad-field",
        "none",
    ],
)
def test_an_invalid_request_is_rejected_naming_the_field_and_records_nothing(
    campaigns: CampaignsApp, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidCampaignError) as raised:
        campaigns.schedule_campaign(a_campaign(**overrides))

    assert field in [p["field"] for p in raised.value.problems]
    assert recorded_count(campaigns) == 0


def test_a_naive_schedule_time_is_rejected(campaigns: CampaignsApp) -> None:
    naive = datetime(2026, 12, 1, 9, 0)  # noqa: DTZ001 - the point of the test

    with pytest.raises(InvalidCampaignError) as raised:
        campaigns.schedule_campaign(a_campaign(scheduled_for=naive))

    assert [p["field"] for p in raised.value.problems] == ["scheduled_for"]
    assert recorded_count(campaigns) == 0


def test_a_schedule_time_in_the_past_is_rejected(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    with pytest.raises(InvalidCampaignError, match="past"):
        campaigns.schedule_campaign(a_campaign(scheduled_for=clock.now() - timedelta(hours=1)))

    assert recorded_count(campaigns) == 0


def test_a_schedule_time_a_moment_ago_is_accepted(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    moment_ago = clock.now() - timedelta(minutes=1)

    view = campaigns.schedule_campaign(a_campaign(scheduled_for=moment_ago)).view

    assert view.scheduled_for == moment_ago


def test_a_schedule_time_with_an_offset_is_kept_as_the_same_instant_in_utc(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    berlin = clock.now().astimezone(timezone(timedelta(hours=2))) + timedelta(days=1)

    view = campaigns.schedule_campaign(a_campaign(scheduled_for=berlin)).view

    assert view.scheduled_for == berlin
    assert view.scheduled_for.utcoffset() == timedelta(0)


def test_campaigns_with_the_same_contacts_share_one_audience(campaigns: CampaignsApp) -> None:
    first = campaigns.schedule_campaign(a_campaign(3, name="first")).view
    second = campaigns.schedule_campaign(a_campaign(3, name="second")).view

    assert first.id != second.id
    assert first.audience == second.audience
    assert campaigns.audience_of(second.id) == campaigns.audience_of(first.id)


# -- lifecycle commands through the app ---------------------------------------------------------


def test_starting_a_campaign_makes_it_run(campaigns: CampaignsApp, clock: ManualClock) -> None:
    campaign_id = scheduled(campaigns)
    clock.advance(60)

    view = campaigns.start_campaign(campaign_id)

    assert view.status == "Running"
    assert view.started_at == clock.now()
    assert campaigns.campaign(campaign_id) == view


def test_pausing_a_campaign_records_where_it_stopped(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    campaign_id = a_running(campaigns)
    handle(campaigns, campaign_id, 0)

    view = histories.pause_campaign(
        campaigns, campaign_id, reason=PauseReason.SESSION_NOT_WORKING, detail="status STOPPED"
    )

    assert view.status == "Paused"
    assert view.pause is not None
    assert (view.pause.reason, view.pause.detail, view.pause.index) == (
        "session_not_working",
        "status STOPPED",
        1,
    )
    assert view.pause.at == clock.now()


def test_a_pause_is_manual_unless_a_reason_is_given(campaigns: CampaignsApp) -> None:
    campaign_id = a_running(campaigns)

    view = histories.pause_campaign(campaigns, campaign_id)

    assert view.pause is not None
    assert view.pause.reason == "manual"


def test_resuming_a_campaign_runs_it_again_from_the_paused_contact(
    campaigns: CampaignsApp,
) -> None:
    campaign_id = a_running(campaigns)
    handle(campaigns, campaign_id, 0)
    histories.pause_campaign(campaigns, campaign_id)

    view = campaigns.resume_campaign(campaign_id)

    assert (view.status, view.pause, view.next_index) == ("Running", None, 1)


def test_an_automatic_resume_is_counted_for_the_flapping_guard(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    campaign_id = a_running(campaigns)
    histories.pause_campaign(campaigns, campaign_id, reason=PauseReason.SESSION_NOT_WORKING)

    campaigns.resume_campaign(campaign_id, automatic=True)

    assert campaigns.load(campaign_id).auto_resumes_since(clock.now()) == 1


def test_cancelling_a_paused_campaign_ends_it_at_once_with_the_reason(
    campaigns: CampaignsApp,
) -> None:
    campaign_id = a_running(campaigns)
    handle(campaigns, campaign_id, 0)
    histories.pause_campaign(campaigns, campaign_id)

    view = campaigns.cancel_campaign(campaign_id, reason="wrong audience")

    assert view.status == "Cancelled"
    assert view.cancelled is not None
    assert (view.cancelled["reason"], view.cancelled["index"]) == ("wrong audience", 1)


def test_cancelling_a_running_campaign_asks_its_lane(campaigns: CampaignsApp) -> None:
    campaign_id = a_running(campaigns)
    handle(campaigns, campaign_id, 0)

    view = campaigns.cancel_campaign(campaign_id, reason="wrong audience")

    # A live run has one writer, its session's lane: the cancel waits for its next boundary.
    assert view.status == "Running"
    assert campaigns.load(campaign_id).cancel_requested is not None
    assert campaigns.history(campaign_id)[-1].type == "CancelRequested"


def test_completing_a_campaign_whose_contacts_are_all_handled(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    campaign_id = a_running(campaigns, 2)
    handle(campaigns, campaign_id, 0)
    handle(campaigns, campaign_id, 1, AttemptOutcome.FAILED)

    view = histories.complete_campaign(campaigns, campaign_id)

    assert (view.status, view.sent, view.failed, view.next_index) == ("Completed", 1, 1, 2)
    assert view.completed_at == clock.now()


def test_beginning_an_attempt_shows_the_send_in_flight(campaigns: CampaignsApp) -> None:
    campaign_id = a_running(campaigns)

    view = histories.begin_attempt(
        campaigns, campaign_id, index=0, attempt_id="a-0", chat_id=chat(0)
    )

    assert view.in_flight is not None
    assert (view.in_flight["index"], view.in_flight["attempt_id"]) == (0, "a-0")


def test_an_outcome_with_a_delay_records_both(campaigns: CampaignsApp) -> None:
    campaign_id = a_running(campaigns)
    histories.begin_attempt(campaigns, campaign_id, index=0, attempt_id="a-0", chat_id=chat(0))

    view = histories.record_attempt(
        campaigns,
        campaign_id,
        index=0,
        chat_id=chat(0),
        outcome=AttemptOutcome.SENT,
        attempt_id="a-0",
        delay_seconds=42.0,
    )

    last_two = campaigns.history(campaign_id)[-2:]
    assert [e.type for e in last_two] == ["ContactAttempted", "PacingDelayChosen"]
    assert (last_two[1].data["index"], last_two[1].data["seconds"]) == (0, 42.0)
    assert (view.sent, view.next_index, view.in_flight) == (1, 1, None)


def test_no_delay_is_recorded_after_the_last_contact(campaigns: CampaignsApp) -> None:
    campaign_id = a_running(campaigns, 1)

    histories.record_attempt(
        campaigns,
        campaign_id,
        index=0,
        chat_id=chat(0),
        outcome=AttemptOutcome.SKIPPED,
        delay_seconds=42.0,
    )

    assert campaigns.history(campaign_id)[-1].type == "ContactAttempted"


def test_abandoning_an_attempt_leaves_the_contact_to_do(campaigns: CampaignsApp) -> None:
    campaign_id = a_running(campaigns)
    histories.begin_attempt(campaigns, campaign_id, index=0, attempt_id="a-0", chat_id=chat(0))

    view = histories.abandon_attempt(
        campaigns, campaign_id, index=0, attempt_id="a-0", reason="422"
    )

    assert (view.in_flight, view.next_index) == (None, 0)
    assert campaigns.history(campaign_id)[-1].type == "AttemptAbandoned"


def test_withholding_auto_resume_is_on_the_record(campaigns: CampaignsApp) -> None:
    campaign_id = a_running(campaigns)
    histories.pause_campaign(campaigns, campaign_id, reason=PauseReason.SESSION_NOT_WORKING)

    view = histories.withhold_auto_resume(campaigns, campaign_id, detail="flapping")

    assert view.status == "Paused"
    assert campaigns.load(campaign_id).auto_resume_withheld == "flapping"


def test_an_illegal_command_through_the_app_raises_and_records_nothing(
    campaigns: CampaignsApp,
) -> None:
    campaign_id = a_running(campaigns)
    before = recorded_count(campaigns)

    with pytest.raises(IllegalTransitionError, match="resume"):
        campaigns.resume_campaign(campaign_id)

    assert recorded_count(campaigns) == before
    assert campaigns.campaign(campaign_id).status == "Running"


QUERIES_AND_COMMANDS: dict[str, Callable[[CampaignsApp, UUID], object]] = {
    "campaign": lambda app, cid: app.campaign(cid),
    "load": lambda app, cid: app.load(cid),
    "campaign_at": lambda app, cid: app.campaign_at(cid, 1),
    "audience_of": lambda app, cid: app.audience_of(cid),
    "history": lambda app, cid: app.history(cid),
    "iter_history": lambda app, cid: app.iter_history(cid),
    "contact_reports": lambda app, cid: app.contact_reports(cid),
    "start_campaign": lambda app, cid: app.start_campaign(cid),
    "pause_campaign": histories.pause_campaign,
    "resume_campaign": lambda app, cid: app.resume_campaign(cid),
    "cancel_campaign": lambda app, cid: app.cancel_campaign(cid),
    "complete_campaign": histories.complete_campaign,
    "begin_attempt": lambda app, cid: histories.begin_attempt(
        app, cid, index=0, attempt_id="a", chat_id=chat(0)
    ),
    "record_attempt": lambda app, cid: histories.record_attempt(
        app, cid, index=0, chat_id=chat(0), outcome=AttemptOutcome.SKIPPED
    ),
}


@pytest.mark.parametrize("use", list(QUERIES_AND_COMMANDS))
def test_an_unknown_campaign_id_raises_campaign_not_found(
    campaigns: CampaignsApp, use: str
) -> None:
    unknown = uuid4()

    with pytest.raises(CampaignNotFoundError) as raised:
        QUERIES_AND_COMMANDS[use](campaigns, unknown)

    assert raised.value.campaign_id == unknown


def test_an_audience_id_is_not_a_campaign_id(campaigns: CampaignsApp) -> None:
    audience_id = UUID(campaigns.campaign(scheduled(campaigns)).audience["id"])

    with pytest.raises(CampaignNotFoundError):
        campaigns.campaign(audience_id)


# -- audit queries ------------------------------------------------------------------------------


def a_whole_run(app: CampaignsApp, clock: ManualClock) -> list[CampaignView]:
    """Run a campaign of two contacts to completion, one event per command; return each view."""
    views = [app.schedule_campaign(a_campaign(2)).view]
    campaign_id = views[0].id
    commands: list[Callable[[], CampaignView]] = [
        lambda: app.start_campaign(campaign_id),
        lambda: histories.begin_attempt(
            app, campaign_id, index=0, attempt_id="a-0", chat_id=chat(0)
        ),
        lambda: histories.record_attempt(
            app,
            campaign_id,
            index=0,
            chat_id=chat(0),
            outcome=AttemptOutcome.SENT,
            message_id="msg-0",
            attempt_id="a-0",
        ),
        lambda: histories.pause_campaign(
            app, campaign_id, reason=PauseReason.SESSION_NOT_WORKING, detail="STOPPED"
        ),
        lambda: app.resume_campaign(campaign_id, automatic=True),
        lambda: histories.record_attempt(
            app,
            campaign_id,
            index=1,
            chat_id=chat(1),
            outcome=AttemptOutcome.SKIPPED,
            error="not on WhatsApp",
        ),
        lambda: histories.complete_campaign(app, campaign_id),
    ]
    for command in commands:
        clock.advance(60)
        views.append(command())
    return views


def test_campaign_at_each_past_version_is_the_campaign_as_it_was_then(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    views = a_whole_run(campaigns, clock)
    campaign_id = views[0].id

    assert [v.version for v in views] == list(range(1, len(views) + 1))
    assert [campaigns.campaign_at(campaign_id, v.version) for v in views] == views


def test_history_lists_the_events_in_the_order_they_happened(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    campaign_id = a_whole_run(campaigns, clock)[0].id

    history = campaigns.history(campaign_id)

    assert [e.type for e in history] == [
        "CampaignScheduled",
        "CampaignStarted",
        "AttemptStarted",
        "ContactAttempted",
        "CampaignPaused",
        "CampaignResumed",
        "ContactAttempted",
        "CampaignCompleted",
    ]
    assert [e.version for e in history] == list(range(1, 9))
    assert [e.timestamp for e in history] == sorted(e.timestamp for e in history)
    assert history[3].data["outcome"] == "sent"
    assert history[4].data["index"] == 1


def test_history_pages_after_a_version(campaigns: CampaignsApp, clock: ManualClock) -> None:
    campaign_id = a_whole_run(campaigns, clock)[0].id

    page = campaigns.history(campaign_id, after_version=3, limit=2)

    assert [(e.version, e.type) for e in page] == [(4, "ContactAttempted"), (5, "CampaignPaused")]


def test_stored_events_come_in_commit_order_with_increasing_positions(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    campaign_id = a_whole_run(campaigns, clock)[0].id

    events = campaigns.stored_events()

    positions = [e.position for e in events]
    assert positions == sorted(set(positions))
    assert [e.type for e in events[:3]] == ["AudienceFrozen", "ContactsAdded", "CampaignScheduled"]
    mine = [e for e in events if e.campaign_id == campaign_id]
    assert [e.type for e in mine] == [e.type for e in campaigns.history(campaign_id)]
    assert campaigns.stored_events(after=positions[-2]) == events[-1:]


def test_campaign_ids_lists_campaigns_in_the_order_they_were_scheduled(
    campaigns: CampaignsApp,
) -> None:
    first = scheduled(campaigns, 2)
    second = scheduled(campaigns, 2)
    third = scheduled(campaigns, 3)

    listed = campaigns.campaign_ids()

    assert [campaign_id for _, campaign_id in listed] == [first, second, third]
    assert [cid for _, cid in campaigns.campaign_ids(after=listed[0][0])] == [second, third]
    assert campaigns.all_campaign_ids() == [first, second, third]


def test_contact_reports_tell_what_happened_to_each_contact(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    campaign_id = a_running(campaigns, 3)
    clock.advance(60)
    handle(campaigns, campaign_id, 0)
    sent_at = clock.now()
    clock.advance(60)
    handle(campaigns, campaign_id, 1, AttemptOutcome.FAILED)

    reports = campaigns.contact_reports(campaign_id)

    assert [(r.index, r.phone, r.chat_id, r.name) for r in reports] == [
        (i, phone(i), chat(i), f"Contact {i}") for i in range(3)
    ]
    assert [r.outcome for r in reports] == ["sent", "failed", None]
    assert (reports[0].message_id, reports[0].attempted_at) == ("msg-0", sent_at)
    assert (reports[1].error, reports[1].attempted_at) == ("failed", clock.now())
    assert (reports[2].message_id, reports[2].attempted_at) == (None, None)


# -- snapshots ------------------------------------------------------------------------------------


@pytest.fixture
def snapshotting(clock: ManualClock) -> Iterator[CampaignsApp]:
    app = CampaignsApp(clock=clock, env=persistence_environment("memory://"), snapshot_interval=5)
    yield app
    app.close()


def a_long_run(app: CampaignsApp, clock: ManualClock) -> UUID:
    """Fifteen events, so snapshots at 5 (a send in flight), 10 (paused, withheld), 15 (done)."""
    campaign_id: UUID = scheduled(app, 4)  # 1
    steps: list[Callable[[], object]] = [
        lambda: app.start_campaign(campaign_id),  # 2
        lambda: handle(app, campaign_id, 0),  # 3, 4
        lambda: histories.begin_attempt(
            app, campaign_id, index=1, attempt_id="a-1", chat_id=chat(1)
        ),  # 5
        lambda: histories.record_attempt(
            app,
            campaign_id,
            index=1,
            chat_id=chat(1),
            outcome=AttemptOutcome.FAILED,
            attempt_id="a-1",
        ),  # 6
        lambda: histories.pause_campaign(
            app, campaign_id, reason=PauseReason.SESSION_NOT_WORKING
        ),  # 7
        lambda: app.resume_campaign(campaign_id, automatic=True),  # 8
        lambda: histories.pause_campaign(
            app, campaign_id, reason=PauseReason.STATUS_CHECK_FAILED
        ),  # 9
        lambda: histories.withhold_auto_resume(app, campaign_id, detail="flapping"),  # 10
        lambda: app.resume_campaign(campaign_id),  # 11
        lambda: handle(app, campaign_id, 2, AttemptOutcome.IN_DOUBT),  # 12, 13
        lambda: histories.record_attempt(
            app, campaign_id, index=3, chat_id=chat(3), outcome=AttemptOutcome.SKIPPED
        ),  # 14
        lambda: histories.complete_campaign(app, campaign_id),  # 15
    ]
    for step in steps:
        clock.advance(90)
        step()
    return campaign_id


def test_snapshots_are_taken_every_interval(snapshotting: CampaignsApp, clock: ManualClock) -> None:
    campaign_id = a_long_run(snapshotting, clock)

    assert snapshotting.snapshots is not None
    assert [s.originator_version for s in snapshotting.snapshots.get(campaign_id)] == [5, 10, 15]


@pytest.mark.parametrize("version", [5, 10, 15])
def test_a_campaign_restored_from_a_snapshot_alone_equals_a_full_replay(
    snapshotting: CampaignsApp, clock: ManualClock, version: int
) -> None:
    campaign_id = a_long_run(snapshotting, clock)
    assert snapshotting.snapshots is not None
    snapshot = next(iter(snapshotting.snapshots.get(campaign_id, lte=version, gt=version - 1)))

    restored: Campaign | None = project_aggregate(None, [snapshot])
    replayed: Campaign | None = project_aggregate(
        None, snapshotting.events.get(campaign_id, lte=version)
    )

    assert restored is not None
    assert replayed is not None
    assert recorded_state(restored) == recorded_state(replayed)
    assert type(restored.status) is str
    assert restored.state is CampaignStatus(replayed.status)


def test_a_campaign_loaded_through_snapshots_equals_a_full_replay_at_every_version(
    snapshotting: CampaignsApp, clock: ManualClock
) -> None:
    campaign_id = a_long_run(snapshotting, clock)

    for version in range(1, 16):
        loaded = snapshotting.load(campaign_id, version)
        replayed: Campaign | None = project_aggregate(
            None, snapshotting.events.get(campaign_id, lte=version)
        )
        assert replayed is not None
        assert recorded_state(loaded) == recorded_state(replayed), f"version {version}"


# -- two instances on one SQLite file --------------------------------------------------------------


@pytest.fixture
def two_instances(
    tmp_path: Path, clock: ManualClock
) -> Iterator[tuple[CampaignsApp, CampaignsApp]]:
    env = persistence_environment(f"sqlite:///{tmp_path / 'campaigns.sqlite3'}")
    first = CampaignsApp(clock=clock, env=env)
    second = CampaignsApp(clock=clock, env=env)
    yield first, second
    first.close()
    second.close()


def test_a_command_that_loses_a_race_raises_concurrent_update_and_records_nothing(
    two_instances: tuple[CampaignsApp, CampaignsApp], clock: ManualClock
) -> None:
    first, second = two_instances
    campaign_id = a_running(first)

    def cancel_after_the_other_instance_pauses(campaign: Campaign) -> None:
        # `first` has loaded the campaign; `second` records before `first` saves.
        histories.pause_campaign(second, campaign_id, detail="from the other instance")
        campaign.cancel(reason="operator", at=clock.now())

    with pytest.raises(ConcurrentUpdateError, match=str(campaign_id)):
        first._command(campaign_id, cancel_after_the_other_instance_pauses)

    assert [e.type for e in first.history(campaign_id)][-2:] == [
        "CampaignStarted",
        "CampaignPaused",
    ]
    assert first.campaign(campaign_id).status == "Paused"


def test_a_retry_after_losing_a_race_sees_the_other_instances_event(
    two_instances: tuple[CampaignsApp, CampaignsApp], clock: ManualClock
) -> None:
    first, second = two_instances
    campaign_id = a_running(first)

    def cancel_after_the_other_instance_pauses(campaign: Campaign) -> None:
        histories.pause_campaign(second, campaign_id)
        campaign.cancel(reason="operator", at=clock.now())

    with pytest.raises(ConcurrentUpdateError):
        first._command(campaign_id, cancel_after_the_other_instance_pauses)

    view = first.cancel_campaign(campaign_id, reason="operator")

    assert view.status == "Cancelled"
    assert second.campaign(campaign_id) == view


def test_an_instance_sees_what_another_recorded_since_it_last_loaded(
    two_instances: tuple[CampaignsApp, CampaignsApp],
) -> None:
    first, second = two_instances
    campaign_id = a_running(first)
    assert first.campaign(campaign_id).status == "Running"
    histories.pause_campaign(second, campaign_id)

    view = first.resume_campaign(campaign_id)

    assert (view.status, view.version) == ("Running", 4)


def test_a_campaign_scheduled_while_another_instance_freezes_the_same_audience_is_recorded(
    tmp_path: Path, clock: ManualClock
) -> None:
    env = persistence_environment(f"sqlite:///{tmp_path / 'campaigns.sqlite3'}")
    other = CampaignsApp(clock=clock, env=env)

    class RacedCampaignsApp(CampaignsApp):
        """Lets `other` schedule the same contacts just before this instance's first save."""

        raced = False

        def save(self, *objs: Any, **kwargs: Any) -> Any:
            if not self.raced:
                self.raced = True
                other.schedule_campaign(a_campaign(3, name="the other one"))
            return super().save(*objs, **kwargs)

    app = RacedCampaignsApp(clock=clock, env=env)
    try:
        result = app.schedule_campaign(a_campaign(3))

        assert result.view.id in app.all_campaign_ids()
        assert app.campaign(result.view.id) == result.view
    finally:
        app.close()
        other.close()


@pytest.mark.parametrize(
    ("defaults", "variables", "field"),
    [
        ({"_type_": "uuid_hex", "_data_": "zz"}, {}, "message.defaults._type_"),
        ({}, {"_data_": "x"}, "contacts[0].variables._data_"),
        ({}, {"first name": "x"}, "contacts[0].variables.first name"),
        ({}, {"9lives": "x"}, "contacts[0].variables.9lives"),
    ],
)
def test_variable_names_that_are_not_plain_names_are_refused_and_nothing_is_recorded(
    campaigns: CampaignsApp, defaults: dict[str, str], variables: dict[str, str], field: str
) -> None:
    # The event store's JSON codec reads {"_type_", "_data_"} as its own: such data would
    # poison the log for good, so it never gets there.
    before = recorded_count(campaigns)
    request = a_campaign(
        contacts=[ContactInput(phone(0), "Ana", variables)], text="Hi {name}", defaults=defaults
    )

    with pytest.raises(InvalidCampaignError) as raised:
        campaigns.schedule_campaign(request)

    assert field in [p["field"] for p in raised.value.problems]
    assert recorded_count(campaigns) == before


def test_a_delivery_record_is_snapshotted_less_often_than_a_campaign(
    snapshotting: CampaignsApp, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its snapshot holds every message's ack: it grows with the campaign.
    monkeypatch.setattr("app.campaigns.DELIVERIES_SNAPSHOT_INTERVAL", 10)
    campaign_id = uuid4()
    deliveries = Deliveries(campaign_id=campaign_id)
    for index in range(11):  # versions 2 .. 12: past 5 and 10
        deliveries.report(index=index, message_id=f"m{index}", ack=1, at=clock.now())
        snapshotting.save(deliveries)

    assert snapshotting.snapshots is not None
    taken = [s.originator_version for s in snapshotting.snapshots.get(deliveries.id)]
    assert taken == [10]
