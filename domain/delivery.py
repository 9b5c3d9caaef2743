"""What WhatsApp reported about delivering a campaign's messages (WAHA's `message.ack`)."""

from __future__ import annotations

from datetime import datetime
from typing import Final
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

_DELIVERIES_NAMESPACE: Final = UUID("0b6f3c52-7d0e-4c5e-9d8a-2f4b1e6a9c33")
ACK_NAMES: Final = {-1: "error", 0: "pending", 1: "server", 2: "delivered", 3: "read", 4: "played"}


def deliveries_id(campaign_id: UUID) -> UUID:
    """Return the id of a campaign's delivery record."""
    return uuid5(_DELIVERIES_NAMESPACE, str(campaign_id))


class Deliveries(Aggregate):
    """Delivery states of one campaign's messages, kept apart so the campaign stays small."""

    TOPIC = "waha_campaigns:Deliveries"

    class Event(Aggregate.Event):
        """Base of the delivery record's events."""

        TOPIC = "waha_campaigns:Deliveries.Event"

    class Created(Event, Aggregate.Created):
        """Base of the delivery record's creation event."""

        TOPIC = "waha_campaigns:Deliveries.Created"

    class DeliveriesOpened(Created):
        """The campaign's first delivery report arrived."""

        TOPIC = "waha_campaigns:Deliveries.DeliveriesOpened"
        class_version = 1
        campaign_id: UUID

    class DeliveryReported(Event):
        """WhatsApp reported message `message_id` (contact `index`) at `ack`."""

        TOPIC = "waha_campaigns:Deliveries.DeliveryReported"
        class_version = 1
        index: int
        message_id: str
        ack: int
        at: datetime

    @staticmethod
    def create_id(campaign_id: UUID) -> UUID:
        """Return the record's id, derived from its campaign's."""
        return deliveries_id(campaign_id)

    @event(DeliveriesOpened)
    def __init__(self, *, campaign_id: UUID) -> None:
        self.campaign_id = campaign_id
        # contact index (as text: JSON keys) -> the highest ack seen
        self.acks: dict[str, int] = {}

    def report(self, *, index: int, message_id: str, ack: int, at: datetime) -> bool:
        """Record an ack if it tells something new; return whether it did."""
        if ack <= self.acks.get(str(index), -2):
            return False  # acks arrive late, twice and out of order: keep the highest
        self._reported(index=index, message_id=message_id, ack=ack, at=at)
        return True

    @event(DeliveryReported)
    def _reported(self, index: int, message_id: str, ack: int, at: datetime) -> None:
        self.acks[str(index)] = ack

    def state_of(self, index: int) -> str | None:
        """Return the delivery state of contact `index`, or None before any report."""
        ack = self.acks.get(str(index))
        return None if ack is None else ACK_NAMES.get(ack, str(ack))

    def counts(self) -> dict[str, int]:
        """Return how many messages reached each state: delivered counts read ones too."""
        return {
            "delivered": sum(1 for a in self.acks.values() if a >= 2),  # noqa: PLR2004 - DEVICE
            "read": sum(1 for a in self.acks.values() if a >= 3),  # noqa: PLR2004 - READ
        }
