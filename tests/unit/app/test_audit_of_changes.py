"""Audits of campaigns that were edited and retried: allowed notes pass, an edit too late fails."""

from __future__ import annotations

from datetime import timedelta

from app.audit import audit_campaign, timeline
from app.audit.replay import campaign_events
from app.campaigns import CampaignsApp
from app.editing import EditCampaign, edit_campaign
from app.log_follower import follower_of
from app.read_models import CampaignContacts
from app.retries import RetryRequest, retry_campaign
from domain.campaign import AttemptOutcome, Campaign
from tests import histories
from tests.adapters.cli.campaign_logs import append_crafted, record_sends
from tests.builders import a_campaign, scheduled
from tests.fakes.system import ManualClock


def contacts_model(campaigns: CampaignsApp) -> CampaignContacts:
    from adapters.bootstrap import read_model  # the composition root, as entry points do

    _, contacts = read_model(campaigns)
    return contacts


def test_a_completed_campaign_that_was_retried_passes_verify(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    campaign_id = scheduled(campaigns, 2)
    campaigns.start_campaign(campaign_id)
    record_sends(campaigns, clock, campaign_id, [0], outcome=AttemptOutcome.FAILED)
    record_sends(campaigns, clock, campaign_id, [1])
    histories.complete_campaign(campaigns, campaign_id)
    contacts = contacts_model(campaigns)

    retried = retry_campaign(
        campaigns, contacts, follower_of(campaigns), campaign_id, RetryRequest()
    )

    assert audit_campaign(campaigns, campaign_id).violations == []
    assert audit_campaign(campaigns, retried.view.id).violations == []
    milestones = timeline(campaign_events(campaigns, campaign_id)).milestones
    assert milestones[-1].what == "retried"
    assert milestones[-1].detail == f"1 failed contact(s) by campaign {retried.view.id}"


def test_an_edited_campaign_passes_verify_and_its_timeline_shows_the_edit(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    view = campaigns.schedule_campaign(
        a_campaign(2, scheduled_for=clock.now() + timedelta(hours=1))
    ).view

    edit_campaign(campaigns, view.id, EditCampaign(name="Renamed"))

    found = timeline(campaign_events(campaigns, view.id))
    assert audit_campaign(campaigns, view.id).violations == []
    assert found.name == "Renamed"
    assert [(m.what, m.detail) for m in found.milestones][-1] == ("edited", "name")


def test_an_edit_recorded_after_the_start_is_a_violation(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    campaign_id = scheduled(campaigns, 2)
    campaigns.start_campaign(campaign_id)
    append_crafted(
        campaigns,
        clock,
        campaign_id,
        Campaign.CampaignEdited,
        changes={"name": {"old": "Spring sale", "new": "Late"}},
    )

    violations = audit_campaign(campaigns, campaign_id).violations

    assert [v.rule for v in violations] == ["edit-after-start"]
