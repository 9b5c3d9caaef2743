"""A ContactAttempted stored by version 1 loads from a real store as today's event."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from adapters.persistence import persistence_environment
from app.campaigns import CampaignsApp
from domain.campaign import AttemptOutcome, Campaign
from tests import histories
from tests.builders import scheduled
from tests.fakes.system import ManualClock

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "events" / "contact_attempted_v1.json"
V1_TOPIC = "waha_campaigns:Campaign.ContactAttempted"
ENVELOPE = ("originator_id", "originator_version")


def the_sample() -> dict[str, Any]:
    sample: dict[str, Any] = json.loads(SAMPLE.read_text())
    return sample


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return persistence_environment(f"sqlite:///{tmp_path / 'campaigns.sqlite3'}")


@pytest.fixture
def writer(env: dict[str, str], clock: ManualClock) -> Iterator[CampaignsApp]:
    app = CampaignsApp(clock=clock, env=env)
    yield app
    app.close()


@pytest.fixture
def reader(env: dict[str, str], clock: ManualClock, writer: CampaignsApp) -> Iterator[CampaignsApp]:
    app = CampaignsApp(clock=clock, env=env)
    yield app
    app.close()


def a_send_in_flight(app: CampaignsApp, chat_id: str) -> UUID:
    """Scheduled, started and AttemptStarted: the history a v1 outcome is appended to."""
    campaign_id: UUID = scheduled(app, 2)
    app.start_campaign(campaign_id)
    histories.begin_attempt(app, campaign_id, index=0, attempt_id="attempt-0", chat_id=chat_id)
    return campaign_id


def record_the_v1_sample(app: CampaignsApp, campaign_id: UUID) -> datetime:
    """Write the sample into the store as version 1 wrote it; return its timestamp."""
    sample = the_sample()
    transcoder = app.mapper.transcoder
    state = transcoder.decode(
        json.dumps({k: v for k, v in sample.items() if k not in ENVELOPE}).encode()
    )
    assert isinstance(state["timestamp"], datetime)
    assert app.campaign(campaign_id).version == sample["originator_version"] - 1
    app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=campaign_id,
                originator_version=sample["originator_version"],
                topic=V1_TOPIC,
                state=transcoder.encode(state),
            )
        ]
    )
    return state["timestamp"]


def test_a_version_one_outcome_loads_without_attempt_or_time(
    writer: CampaignsApp, reader: CampaignsApp
) -> None:
    campaign_id = a_send_in_flight(writer, the_sample()["chat_id"])
    timestamp = record_the_v1_sample(writer, campaign_id)

    upcast = list(reader.iter_history(campaign_id))[-1]

    assert isinstance(upcast, Campaign.ContactAttempted)
    assert (upcast.attempt_id, upcast.at) == (None, None)
    assert (upcast.index, upcast.outcome, upcast.timestamp) == (0, "sent", timestamp)
    assert upcast.message_id == the_sample()["message_id"]


def test_a_version_one_outcome_moves_the_campaign_past_its_contact(
    writer: CampaignsApp, reader: CampaignsApp
) -> None:
    campaign_id = a_send_in_flight(writer, the_sample()["chat_id"])
    record_the_v1_sample(writer, campaign_id)

    view = reader.campaign(campaign_id)

    assert (view.next_index, view.sent, view.in_flight, view.version) == (1, 1, None, 4)


def test_a_version_one_outcome_is_reported_at_its_event_time(
    writer: CampaignsApp, reader: CampaignsApp
) -> None:
    campaign_id = a_send_in_flight(writer, the_sample()["chat_id"])
    timestamp = record_the_v1_sample(writer, campaign_id)

    report = reader.contact_reports(campaign_id)[0]

    assert (report.outcome, report.attempted_at) == ("sent", timestamp)


def test_the_sample_is_todays_stored_shape_without_the_later_fields(
    writer: CampaignsApp,
) -> None:
    chat_id = the_sample()["chat_id"]
    campaign_id = a_send_in_flight(writer, chat_id)
    histories.record_attempt(
        writer,
        campaign_id,
        index=0,
        chat_id=chat_id,
        outcome=AttemptOutcome.SENT,
        message_id="m",
        attempt_id="attempt-0",
    )
    today = writer.recorder.select_events(campaign_id, desc=True, limit=1)[0]
    today_state = writer.mapper.transcoder.decode(today.state)

    assert today.topic == V1_TOPIC
    assert today_state["class_version"] == 3
    later = {"class_version", "attempt_id", "at", "reason"}
    assert set(today_state) - later == set(the_sample()) - set(ENVELOPE)
