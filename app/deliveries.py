"""Acks from WAHA become delivery states of the campaign contact they belong to."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import IntegrityError

from app.campaigns import CampaignsApp
from app.log_follower import LogFollower
from app.ports import DeliveryFact
from app.read_models import CampaignContacts, SentContact, message_key
from domain.delivery import Deliveries

__all__ = ["DeliveryTracker", "SentContact"]


class DeliveryTracker:
    """Finds the contact of a message id in the read model, and records its acks."""

    def __init__(
        self, campaigns: CampaignsApp, contacts: CampaignContacts, follower: LogFollower
    ) -> None:
        self._campaigns = campaigns
        self._contacts = contacts
        self._follower = follower

    def find(self, message_id: str) -> SentContact | None:
        """Return the contact `message_id` was sent to, catching the read model up if needed."""
        found = self._contacts.sent_to(message_id)
        if found is None:
            # An ack can overtake the follower: the send was recorded a moment ago.
            self._follower.catch_up()
            found = self._contacts.sent_to(message_id)
        return found

    def record(self, fact: DeliveryFact) -> SentContact | None:
        """Record the ack for the contact it belongs to; None for messages not ours."""
        contact = self.find(message_key(fact.message_id))
        if contact is None:
            return None
        for _ in range(3):  # two acks of one campaign may race; the loser retries
            deliveries = self._deliveries(contact.campaign_id)
            changed = deliveries.report(
                index=contact.index,
                message_id=fact.message_id,
                ack=fact.ack,
                at=fact.observed_at,
            )
            if not changed:
                return contact
            try:
                self._campaigns.save(deliveries)
            except IntegrityError:
                continue
            return contact
        return contact

    def _deliveries(self, campaign_id: UUID) -> Deliveries:
        found = self._campaigns.deliveries_of(campaign_id)
        return found if found is not None else Deliveries(campaign_id=campaign_id)
