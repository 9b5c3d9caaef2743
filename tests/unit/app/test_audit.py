"""The audit read side: replay, timeline, log verification and export, on the in-memory store."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import Notification, StoredEvent

from app.audit import (
    LogChecker,
    LoggedEvent,
    NoStateThenError,
    ReplayError,
    ScanningCampaignLog,
    audit_campaign,
    campaign_events,
    campaign_ids_in_log,
    export_events,
    replay,
    state_at,
    timeline,
)
from app.campaigns import CampaignsApp
from app.errors import CampaignNotFoundError
from app.views import CampaignView
from domain.campaign import AttemptOutcome, Campaign, PauseReason
from tests import histories
from tests.adapters.cli.campaign_logs import (
    append_crafted,
    append_second_send,
    chat,
    completed_campaign,
    last_version,
    paused_campaign,
    record_sends,
)
from tests.builders import scheduled
from tests.fakes.system import ManualClock

SAMPLES = Path(__file__).parents[2] / "samples" / "events"


def rules(app: CampaignsApp, campaign_id: UUID) -> list[str]:
    return [v.rule for v in audit_campaign(app, campaign_id).violations]


# -- replay -----------------------------------------------------------------------------------


def test_replay_at_a_version_equals_the_live_state_at_that_version(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    live: dict[int, CampaignView] = {}

    def seen() -> None:
        view = campaigns.campaign(campaign_id)
        live[view.version] = view

    campaign_id = scheduled(campaigns, 3)
    seen()
    campaigns.start_campaign(campaign_id)
    seen()
    for index in range(3):
        record_sends(campaigns, clock, campaign_id, [index])
        seen()
        if index == 1:
            histories.pause_campaign(
                campaigns, campaign_id, reason=PauseReason.MANUAL, detail="lunch"
            )
            seen()
            campaigns.resume_campaign(campaign_id)
            seen()
    histories.complete_campaign(campaigns, campaign_id)
    seen()

    for version, view in live.items():
        assert state_at(campaigns, campaign_id, version=version).state == view


def test_replay_yields_the_state_after_every_event(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    campaign_id = completed_campaign(campaigns, clock)

    steps = list(replay(campaign_events(campaigns, campaign_id)))

    assert [s.version for s in steps] == list(range(1, last_version(campaigns, campaign_id) + 1))
    assert steps[-1].state == campaigns.campaign(campaign_id)
    paused = next(s for s in steps if s.type == "CampaignPaused")
    assert (paused.state.status, paused.state.next_index) == ("Paused", 2)


def test_state_at_a_time_leaves_out_later_events(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    campaign_id = paused_campaign(campaigns, clock)
    paused_at = clock.now()
    clock.advance(600)
    campaigns.resume_campaign(campaign_id)

    then = state_at(campaigns, campaign_id, at=paused_at + timedelta(seconds=300))

    assert then.type == "CampaignPaused"
    assert then.state.status == "Paused"
    assert state_at(campaigns, campaign_id).state.status == "Running"


def test_state_before_the_campaign_existed_is_refused(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    campaign_id = scheduled(campaigns, 2)

    with pytest.raises(NoStateThenError, match="was scheduled at"):
        state_at(campaigns, campaign_id, at=clock.now() - timedelta(days=1))


def test_state_at_a_version_past_the_log_is_refused(campaigns: CampaignsApp) -> None:
    campaign_id = scheduled(campaigns, 2)

    with pytest.raises(NoStateThenError, match="versions 1 to 1 only"):
        state_at(campaigns, campaign_id, version=5)


def test_an_unknown_id_is_not_found(campaigns: CampaignsApp) -> None:
    with pytest.raises(CampaignNotFoundError):
        state_at(campaigns, uuid.uuid4())
    with pytest.raises(CampaignNotFoundError):
        audit_campaign(campaigns, uuid.uuid4())


def test_an_audience_id_is_not_a_campaign(campaigns: CampaignsApp) -> None:
    campaign_id = scheduled(campaigns, 2)
    audience_id = campaigns.load(campaign_id).audience_id

    with pytest.raises(CampaignNotFoundError):
        state_at(campaigns, audience_id)


def test_replay_of_a_log_without_its_first_event_names_the_break(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    orphan = uuid.uuid4()
    append_crafted_at(campaigns, clock, orphan, 2, Campaign.CampaignStarted)

    with pytest.raises(ReplayError, match="version 2 is a CampaignStarted"):
        list(replay(campaign_events(campaigns, orphan)))


def append_crafted_at(
    app: CampaignsApp, clock: ManualClock, campaign_id: UUID, version: int, event_class: type
) -> None:
    event = event_class(
        originator_id=campaign_id, originator_version=version, timestamp=clock.now(), at=clock.now()
    )
    app.recorder.insert_events([app.mapper.to_stored_event(event)])


# -- timeline ---------------------------------------------------------------------------------


def test_timeline_shows_every_pause_and_resume_with_its_contact_and_reason(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    campaign_id = completed_campaign(campaigns, clock, n=4, pause_at=2)

    found = timeline(campaign_events(campaigns, campaign_id))

    assert [m.what for m in found.milestones] == [
        "scheduled",
        "started",
        "paused",
        "resumed",
        "completed",
    ]
    paused, resumed = found.milestones[2], found.milestones[3]
    assert (paused.index, paused.reason, paused.detail) == (
        2,
        "session_not_working",
        "session STOPPED",
    )
    assert (resumed.index, resumed.reason) == (2, "automatic")
    assert resumed.time - paused.time == timedelta(seconds=600)
    assert found.status == "Completed"
    assert found.counts["sent"] == 4


def test_timeline_reports_the_pacing_actually_used(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    campaign_id = scheduled(campaigns, 4)
    campaigns.start_campaign(campaign_id)
    for index, delay in enumerate([30.0, 45.0, 60.0, 99.0]):
        record_sends(campaigns, clock, campaign_id, [index], delay=delay)

    pacing = timeline(campaign_events(campaigns, campaign_id)).pacing

    # No wait follows the last contact, so 99 was never chosen.
    assert pacing is not None
    assert (pacing.waits, pacing.min_seconds, pacing.mean_seconds, pacing.max_seconds) == (
        3,
        30.0,
        45.0,
        60.0,
    )


def test_timeline_ends_with_why_the_campaign_stopped(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    campaign_id = paused_campaign(campaigns, clock, pause_at=1)

    ending = timeline(campaign_events(campaigns, campaign_id)).ending

    assert ending is not None
    assert (ending.what, ending.index, ending.reason) == ("paused", 1, "session_not_working")


# -- verification -----------------------------------------------------------------------------


def test_a_healthy_log_has_no_violations(campaigns: CampaignsApp, clock: ManualClock) -> None:
    campaign_id = completed_campaign(campaigns, clock)

    audit = audit_campaign(campaigns, campaign_id)

    assert audit.violations == []
    assert audit.events == last_version(campaigns, campaign_id)


def test_a_contact_sent_twice_is_a_violation(campaigns: CampaignsApp, clock: ManualClock) -> None:
    campaign_id = paused_campaign(campaigns, clock, pause_at=2)
    campaigns.resume_campaign(campaign_id)
    append_second_send(campaigns, clock, campaign_id, index=0)

    found = rules(campaigns, campaign_id)

    assert "contact-sent-twice" in found
    assert "contact-handled-twice" in found


def test_a_pause_that_is_not_at_the_next_contact_is_a_violation(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    campaign_id = scheduled(campaigns, 4)
    campaigns.start_campaign(campaign_id)
    record_sends(campaigns, clock, campaign_id, range(2))
    append_crafted(
        campaigns,
        clock,
        campaign_id,
        Campaign.CampaignPaused,
        index=3,
        reason="manual",
        detail="",
    )

    violations = audit_campaign(campaigns, campaign_id).violations

    assert [v.rule for v in violations] == ["pause-index"]
    assert (
        "at contact 4 of 4 (index 3), but the next unhandled one is contact 3 of 4 (index 2)"
        in violations[0].detail
    )


def test_completing_with_contacts_left_is_a_violation(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    campaign_id = scheduled(campaigns, 4)
    campaigns.start_campaign(campaign_id)
    record_sends(campaigns, clock, campaign_id, range(2))
    append_crafted(campaigns, clock, campaign_id, Campaign.CampaignCompleted, totals={"sent": 4})

    found = rules(campaigns, campaign_id)

    assert found == ["completed-incomplete", "totals-mismatch"]


def test_an_outcome_for_a_send_never_started_is_a_violation(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    campaign_id = scheduled(campaigns, 2)
    campaigns.start_campaign(campaign_id)
    append_crafted(
        campaigns,
        clock,
        campaign_id,
        Campaign.ContactAttempted,
        index=0,
        chat_id=chat(0),
        outcome="sent",
        message_id="m",
        error=None,
        attempt_id="never-started",
    )

    assert rules(campaigns, campaign_id) == ["outcome-without-attempt"]


def test_events_after_the_end_are_a_violation(campaigns: CampaignsApp, clock: ManualClock) -> None:
    campaign_id = completed_campaign(campaigns, clock)
    append_crafted(
        campaigns, clock, campaign_id, Campaign.CampaignResumed, index=4, automatic=False
    )

    assert rules(campaigns, campaign_id) == ["event-after-end"]


def test_a_gap_in_versions_is_named(campaigns: CampaignsApp, clock: ManualClock) -> None:
    campaign_id = completed_campaign(campaigns, clock)
    events = list(campaigns.events.get(campaign_id))
    checker = LogChecker()

    # Version 5 is the wait after contact 0: losing it breaks nothing but the sequence.
    assert type(events[4]) is Campaign.PacingDelayChosen
    for domain_event in events[:4] + events[5:]:
        checker.feed(LoggedEvent(domain_event.originator_version, domain_event))
    audit = checker.finish(campaign_id, None, None)

    assert [(v.rule, v.detail, v.version) for v in audit.violations] == [
        ("version-gap", "version 5 is missing", 6)
    ]


def test_state_counts_that_differ_from_the_events_are_a_violation(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    campaign_id = completed_campaign(campaigns, clock)
    checker = LogChecker()
    for domain_event in campaigns.events.get(campaign_id):
        checker.feed(LoggedEvent(domain_event.originator_version, domain_event))

    audit = checker.finish(campaign_id, {"sent": 3, "failed": 1}, None)

    assert [v.rule for v in audit.violations] == ["counts-mismatch"]
    assert "failed 1, sent 3" in audit.violations[0].detail


def test_an_undecodable_event_is_a_violation_not_a_crash(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    campaign_id = completed_campaign(campaigns, clock)
    campaigns.recorder.insert_events(
        [
            StoredEvent(
                originator_id=campaign_id,
                originator_version=last_version(campaigns, campaign_id) + 1,
                topic=Campaign.CampaignPaused.TOPIC,
                state=b"not json",
            )
        ]
    )

    found = rules(campaigns, campaign_id)

    assert "undecodable-event" in found
    assert "state-unloadable" in found


def test_a_campaign_that_lost_its_first_event_is_still_found_and_fails(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    healthy = completed_campaign(campaigns, clock)
    orphan = uuid.uuid4()
    append_crafted_at(campaigns, clock, orphan, 2, Campaign.CampaignStarted)

    assert campaign_ids_in_log(campaigns) == [healthy, orphan]
    assert rules(campaigns, orphan)[:2] == ["version-gap", "not-scheduled-first"]


# -- export -----------------------------------------------------------------------------------


def test_the_fast_export_reads_events_exactly_as_the_mapper_does(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    completed_campaign(campaigns, clock)
    paused_campaign(campaigns, clock, n=3, pause_at=1)

    fast = list(export_events(campaigns, page_size=7))
    mapped = list(export_events(campaigns, fast=False))

    assert fast == mapped
    assert [row["position"] for row in fast] == list(range(1, len(fast) + 1))


def test_an_old_event_version_is_exported_upcast(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    campaign_id = scheduled(campaigns, 2)
    campaigns.start_campaign(campaign_id)
    sample = json.loads((SAMPLES / "contact_attempted_v1.json").read_text())
    state = {k: v for k, v in sample.items() if not k.startswith("originator")}
    campaigns.recorder.insert_events(
        [
            StoredEvent(
                originator_id=campaign_id,
                originator_version=3,
                topic=Campaign.ContactAttempted.TOPIC,
                state=json.dumps(state).encode(),
            )
        ]
    )

    row = list(export_events(campaigns, campaign_id))[-1]

    assert row["type"] == "ContactAttempted"
    assert row["data"]["attempt_id"] is None
    assert row["time"] == row["recorded_at"] == "2026-03-02T10:15:30.123456+00:00"


def test_export_of_one_campaign_leaves_out_the_others(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    first = completed_campaign(campaigns, clock)
    second = paused_campaign(campaigns, clock, n=3, pause_at=1)

    rows = list(export_events(campaigns, second))

    assert {row["aggregate_id"] for row in rows} == {str(second)}
    assert len(rows) == last_version(campaigns, second)
    assert str(first) not in {row["aggregate_id"] for row in rows}


def test_export_of_one_campaign_stops_reading_the_log_after_its_last_event(
    campaigns: CampaignsApp, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = paused_campaign(campaigns, clock, n=3, pause_at=1)
    completed_campaign(campaigns, clock, n=20, pause_at=10)
    read: list[int] = []
    select = campaigns.recorder.select_notifications

    def counted(*args: Any, **kwargs: Any) -> Sequence[Notification]:
        page = select(*args, **kwargs)
        read.extend(n.id for n in page)
        return page

    monkeypatch.setattr(campaigns.recorder, "select_notifications", counted)

    rows = list(export_events(campaigns, first, page_size=5))

    assert [row["version"] for row in rows] == list(range(1, last_version(campaigns, first) + 1))
    assert max(read) < rows[-1]["position"] + 5  # the page holding its last event, no more
    assert max(read) < (campaigns.recorder.max_notification_id() or 0)


def test_export_of_one_campaign_takes_its_events_from_the_campaign_log_given(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    first = paused_campaign(campaigns, clock, n=3, pause_at=1)
    paused_campaign(campaigns, clock, n=2, pause_at=1)
    scanned = ScanningCampaignLog(campaigns.recorder)
    given: list[UUID] = []

    class RecordingLog:
        def read(self, campaign_id: UUID) -> Iterator[Notification]:
            given.append(campaign_id)
            return scanned.read(campaign_id)

    rows = list(export_events(campaigns, first, campaign_log=RecordingLog()))

    assert given == [first]
    assert rows == [r for r in export_events(campaigns) if r["aggregate_id"] == str(first)]


def test_failed_sends_are_counted_as_failed(campaigns: CampaignsApp, clock: ManualClock) -> None:
    campaign_id = scheduled(campaigns, 3)
    campaigns.start_campaign(campaign_id)
    record_sends(campaigns, clock, campaign_id, range(3), outcome=AttemptOutcome.FAILED)

    assert timeline(campaign_events(campaigns, campaign_id)).counts["failed"] == 3
    assert audit_campaign(campaigns, campaign_id).violations == []
