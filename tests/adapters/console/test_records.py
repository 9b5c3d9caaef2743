"""The console's read model of milestones, and the first contact of an audience."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

from adapters.console.latest_views import LatestViews
from adapters.console.records import CampaignRecords, SampleContacts
from app.campaigns import CampaignsApp
from app.log_follower import LogFollower
from app.views import CampaignView
from domain.campaign import AttemptOutcome
from tests import histories
from tests.adapters.console.samples import a_view
from tests.builders import a_campaign


def test_campaigns_recorded_before_it_joined_are_read_once_then_followed(
    campaigns: CampaignsApp,
) -> None:
    first = campaigns.schedule_campaign(a_campaign(3, name="Before")).view.id
    campaigns.start_campaign(first)
    follower = LogFollower(campaigns)
    records = CampaignRecords(campaigns)
    follower.subscribe(records)
    follower.catch_up()

    second = campaigns.schedule_campaign(a_campaign(2, name="After")).view.id
    campaigns.start_campaign(second)
    histories.pause_campaign(campaigns, second)
    histories.pause_campaign(campaigns, first)
    campaigns.cancel_campaign(first, reason="enough")
    follower.catch_up()

    assert [r.name for r in records.scheduled()] == ["After", "Before"]
    assert [m.what for m in records.milestones(first)] == [
        "scheduled",
        "started",
        "paused",
        "cancelled",
    ]
    assert [m.what for m in records.milestones(second)] == ["scheduled", "started", "paused"]
    assert records.milestones(UUID(int=1)) == []


def test_milestones_stay_few_however_many_contacts_were_handled(campaigns: CampaignsApp) -> None:
    follower = LogFollower(campaigns)
    records = CampaignRecords(campaigns)
    follower.subscribe(records)
    campaign_id = campaigns.schedule_campaign(a_campaign(50)).view.id
    campaigns.start_campaign(campaign_id)
    campaign = campaigns.load(campaign_id)
    for index in range(50):
        campaign.record_attempt(
            index=index,
            chat_id=f"c{index}",
            outcome=AttemptOutcome.FAILED,
            error="test",
            at=campaigns.clock.now(),
        )
    campaigns.save(campaign)

    follower.catch_up()

    assert [m.what for m in records.milestones(campaign_id)] == ["scheduled", "started"]


def test_the_first_contact_is_read_from_the_audience_once(campaigns: CampaignsApp) -> None:
    view = campaigns.schedule_campaign(a_campaign(3)).view
    samples = SampleContacts(campaigns)

    first = samples.first(UUID(view.audience["id"]))

    assert first is not None
    assert first == campaigns.audience_of(view.id)[0]
    assert samples.first(UUID(int=5)) is None


def test_a_list_row_is_loaded_again_only_when_its_campaign_moved_on() -> None:
    view = a_view(version=10)
    loads: list[UUID] = []

    def load(campaign_id: UUID) -> CampaignView:
        loads.append(campaign_id)
        return replace(view, version=10 + len(loads) - 1)

    views = LatestViews(load)

    first = views.view(view.id, 10)
    again = views.view(view.id, 10)
    newer = views.view(view.id, 11)
    unknown = views.view(view.id, None)

    assert first is again
    assert newer.version == 11
    assert unknown.version == 12
    assert len(loads) == 3
