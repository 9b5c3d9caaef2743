"""Events stored before send lanes load from a real store as today's events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_type_hints
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from adapters.persistence import persistence_environment
from app.campaigns import CampaignsApp
from domain.campaign import Campaign
from tests.builders import scheduled
from tests.fakes.system import ManualClock

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "events"
ENVELOPE = ("originator_id", "originator_version")


@pytest.fixture
def app(tmp_path: Path, clock: ManualClock) -> Iterator[CampaignsApp]:
    opened = CampaignsApp(
        clock=clock, env=persistence_environment(f"sqlite:///{tmp_path / 'campaigns.sqlite3'}")
    )
    yield opened
    opened.close()


def store_sample(app: CampaignsApp, campaign_id: UUID, sample: str, topic: str) -> dict[str, Any]:
    """Write a sample into the store exactly as its version wrote it; return its fields."""
    recorded: dict[str, Any] = json.loads((SAMPLES / sample).read_text())
    state = app.mapper.transcoder.decode(
        json.dumps({k: v for k, v in recorded.items() if k not in ENVELOPE}).encode()
    )
    app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=campaign_id,
                originator_version=recorded["originator_version"],
                topic=topic,
                state=app.mapper.transcoder.encode(state),
            )
        ]
    )
    return recorded


def a_started_campaign(app: CampaignsApp) -> UUID:
    campaign_id: UUID = scheduled(app, 3)
    app.start_campaign(campaign_id)  # versions 1 and 2: the samples follow
    return campaign_id


def test_a_version_one_intent_loads_without_message_id_lease_or_text(app: CampaignsApp) -> None:
    campaign_id = a_started_campaign(app)
    store_sample(app, campaign_id, "attempt_started_v1.json", Campaign.AttemptStarted.TOPIC)

    started = list(app.iter_history(campaign_id))[-1]
    campaign = app.load(campaign_id)

    assert isinstance(started, Campaign.AttemptStarted)
    assert (started.message_id, started.lease_epoch, started.text) == (None, None, None)
    assert campaign.in_flight is not None
    assert (campaign.in_flight["index"], campaign.in_flight["message_id"]) == (0, None)


def test_a_version_two_outcome_loads_without_a_reason_code(app: CampaignsApp) -> None:
    campaign_id = a_started_campaign(app)
    store_sample(app, campaign_id, "attempt_started_v1.json", Campaign.AttemptStarted.TOPIC)
    store_sample(app, campaign_id, "contact_attempted_v2.json", Campaign.ContactAttempted.TOPIC)

    attempted = list(app.iter_history(campaign_id))[-1]

    assert isinstance(attempted, Campaign.ContactAttempted)
    assert (attempted.outcome, attempted.error, attempted.reason) == (
        "skipped",
        "not on WhatsApp",
        None,
    )
    assert app.campaign(campaign_id).skipped == 1


def test_a_version_one_pause_loads_without_a_resume_time(app: CampaignsApp) -> None:
    campaign_id = a_started_campaign(app)
    store_sample(app, campaign_id, "attempt_started_v1.json", Campaign.AttemptStarted.TOPIC)
    store_sample(app, campaign_id, "contact_attempted_v2.json", Campaign.ContactAttempted.TOPIC)
    store_sample(app, campaign_id, "campaign_paused_v1.json", Campaign.CampaignPaused.TOPIC)

    paused = list(app.iter_history(campaign_id))[-1]
    view = app.campaign(campaign_id)

    assert isinstance(paused, Campaign.CampaignPaused)
    assert paused.resume_at is None
    assert view.pause is not None
    assert (view.status, view.pause.reason, view.pause.index) == (
        "Paused",
        "session_not_working",
        1,
    )


@pytest.mark.parametrize(
    ("event", "fields"),
    [
        (Campaign.AttemptStarted, {"message_id", "lease_epoch", "text"}),
        (Campaign.ContactAttempted, {"reason"}),
        (Campaign.CampaignPaused, {"resume_at"}),
    ],
    ids=["intent", "outcome", "pause"],
)
def test_the_samples_are_todays_shapes_but_for_the_fields_added_since(
    event: type[Any], fields: set[str]
) -> None:
    samples = {
        Campaign.AttemptStarted: "attempt_started_v1.json",
        Campaign.ContactAttempted: "contact_attempted_v2.json",
        Campaign.CampaignPaused: "campaign_paused_v1.json",
    }
    recorded = json.loads((SAMPLES / samples[event]).read_text())
    envelope = {"originator_id", "originator_version", "timestamp", "originator_id_type"}
    today = set(get_type_hints(event)) - envelope

    assert set(recorded) - set(ENVELOPE) - {"timestamp", "class_version"} == today - fields
