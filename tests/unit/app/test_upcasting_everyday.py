"""Campaigns scheduled before request keys, retries and media kinds load as today's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_type_hints
from uuid import UUID

import pytest

from adapters.persistence import persistence_environment
from app.campaigns import CampaignsApp
from domain.campaign import Campaign
from domain.content import MessageContent
from tests.fakes.system import ManualClock
from tests.unit.app.test_upcasting_since_lanes import ENVELOPE, SAMPLES, store_sample

SAMPLE = "campaign_scheduled_v1.json"


@pytest.fixture
def app(tmp_path: Path, clock: ManualClock) -> Iterator[CampaignsApp]:
    opened = CampaignsApp(
        clock=clock, env=persistence_environment(f"sqlite:///{tmp_path / 'campaigns.sqlite3'}")
    )
    yield opened
    opened.close()


def test_a_version_one_campaign_loads_with_no_key_no_retry_and_an_image(
    app: CampaignsApp,
) -> None:
    campaign_id = UUID(json.loads((SAMPLES / SAMPLE).read_text())["originator_id"])
    store_sample(app, campaign_id, SAMPLE, Campaign.CampaignScheduled.TOPIC)

    scheduled = next(iter(app.iter_history(campaign_id)))
    view = app.campaign(campaign_id)

    assert isinstance(scheduled, Campaign.CampaignScheduled)
    assert (scheduled.idempotency, scheduled.retry_of) == (None, None)
    assert scheduled.message["image"]["kind"] == "image"
    assert (view.retry_of, view.retried_as, view.name) == (None, None, "Spring sale")
    content = MessageContent.from_record(view.message)
    assert content.image is not None
    assert content.image.kind == "image"


def test_the_sample_is_todays_shape_but_for_the_fields_added_since() -> None:
    recorded: dict[str, Any] = json.loads((SAMPLES / SAMPLE).read_text())
    envelope = {"originator_id", "originator_version", "timestamp", "originator_topic"}
    today = set(get_type_hints(Campaign.CampaignScheduled)) - envelope - {"originator_id_type"}

    assert set(recorded) - set(ENVELOPE) - {"timestamp", "originator_topic"} == today - {
        "idempotency",
        "retry_of",
    }


def test_a_version_three_snapshot_gains_no_key_no_retry() -> None:
    state: dict[str, Any] = {"name": "Spring sale", "pause": None}

    Campaign.upcast_v3_v4(state)

    assert (state["idempotency"], state["retry_of"], state["retried_as"]) == (None, None, None)


def test_a_campaign_is_at_version_four_and_its_scheduling_event_at_two() -> None:
    assert (Campaign.class_version, Campaign.CampaignScheduled.class_version) == (4, 2)
