"""Acks from WAHA become per-contact delivery states and counts."""

from __future__ import annotations

from uuid import UUID

import pytest

from adapters.contacts_memory import POPOContactsView
from app.campaigns import CampaignsApp
from app.contacts_projection import ContactsProjection
from app.deliveries import DeliveryTracker
from app.log_follower import LogFollower
from app.ports import DeliveryFact
from domain.campaign import AttemptOutcome
from tests import histories
from tests.builders import scheduled
from tests.fakes.system import ManualClock


def sent_campaign(campaigns: CampaignsApp, n: int = 2) -> UUID:
    campaign_id: UUID = scheduled(campaigns, n)
    campaigns.start_campaign(campaign_id)
    for i in range(n):
        chat = f"49151{10000000 + i}@c.us"
        histories.begin_attempt(campaigns, campaign_id, index=i, attempt_id=f"a{i}", chat_id=chat)
        histories.record_attempt(
            campaigns,
            campaign_id,
            index=i,
            chat_id=chat,
            outcome=AttemptOutcome.SENT,
            message_id=f"3EB0{i}",
            attempt_id=f"a{i}",
        )
    return campaign_id


@pytest.fixture
def contacts() -> POPOContactsView:
    return POPOContactsView()


@pytest.fixture
def tracker(campaigns: CampaignsApp, contacts: POPOContactsView) -> DeliveryTracker:
    follower = LogFollower(campaigns)
    follower.subscribe(ContactsProjection(contacts, campaigns))
    return DeliveryTracker(campaigns, contacts, follower)


def ack(message_id: str, level: int, clock: ManualClock) -> DeliveryFact:
    return DeliveryFact("default", message_id, "x@c.us", level, "", clock.now())


def test_an_ack_updates_the_contacts_delivery_state_and_the_counts(
    campaigns: CampaignsApp,
    clock: ManualClock,
    tracker: DeliveryTracker,
    contacts: POPOContactsView,
) -> None:
    campaign_id = sent_campaign(campaigns)

    tracker.record(ack("3EB00", 2, clock))
    tracker.record(ack("true_4915110000001@c.us_3EB01", 3, clock))

    reports = campaigns.contact_reports(campaign_id)
    assert [r.delivery for r in reports] == ["delivered", "read"]
    view = campaigns.campaign(campaign_id)
    assert (view.delivered, view.read) == (2, 1)
    tracker.find("none")  # catches the read model up
    assert [r.delivery for r in contacts.page(campaign_id, limit=10)] == ["delivered", "read"]
    assert contacts.delivery_counts(campaign_id) == {"delivered": 2, "read": 1}


def test_a_late_lower_ack_never_lowers_the_state(
    campaigns: CampaignsApp, clock: ManualClock, tracker: DeliveryTracker
) -> None:
    campaign_id = sent_campaign(campaigns, 1)

    tracker.record(ack("3EB00", 3, clock))
    tracker.record(ack("3EB00", 2, clock))
    tracker.record(ack("3EB00", 3, clock))

    assert campaigns.contact_reports(campaign_id)[0].delivery == "read"
    assert [h.type for h in campaigns.history(campaign_id)].count("ContactAttempted") == 1
    deliveries_events = campaigns.stored_events(after=0, limit=100)
    assert [e.type for e in deliveries_events].count("DeliveryReported") == 1


def test_an_ack_for_a_message_that_is_not_ours_is_ignored(
    campaigns: CampaignsApp, clock: ManualClock, tracker: DeliveryTracker
) -> None:
    sent_campaign(campaigns, 1)

    assert tracker.record(ack("SOMEONE_ELSES", 3, clock)) is None


def test_messages_sent_after_the_tracker_started_are_found(
    campaigns: CampaignsApp, tracker: DeliveryTracker
) -> None:
    assert tracker.find("3EB00") is None

    campaign_id = sent_campaign(campaigns, 1)

    found = tracker.find("3EB00")
    assert found is not None
    assert (found.campaign_id, found.index) == (campaign_id, 0)
