"""Acks from WAHA become delivery states of the campaign contact they belong to."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from app.campaigns import CampaignsApp
from app.ports import DeliveryFact
from domain.campaign import AttemptOutcome, Campaign
from domain.delivery import Deliveries

_ATTEMPTED_TOPIC = Campaign.ContactAttempted.TOPIC


@dataclass(frozen=True)
class SentContact:
    """Which campaign contact a message id was sent to."""

    campaign_id: UUID
    index: int


class DeliveryTracker:
    """Finds the contact of a message id by tailing the log, and records its acks."""

    def __init__(self, campaigns: CampaignsApp) -> None:
        self._campaigns = campaigns
        self._by_message: dict[str, SentContact] = {}
        self._position = 0
        self._lock = threading.Lock()

    def find(self, message_id: str) -> SentContact | None:
        """Return the contact `message_id` was sent to, reading new log entries if needed."""
        with self._lock:
            if message_id not in self._by_message:
                self._catch_up()
            return self._by_message.get(message_id)

    def _catch_up(self) -> None:
        recorder = self._campaigns.recorder
        while page := recorder.select_notifications(
            start=self._position, limit=1000, topics=[_ATTEMPTED_TOPIC], inclusive_of_start=False
        ):
            for notification in page:
                attempted = self._campaigns.mapper.to_domain_event(notification)
                assert isinstance(attempted, Campaign.ContactAttempted)  # noqa: S101 - topic filter
                if attempted.message_id and attempted.outcome == AttemptOutcome.SENT.value:
                    self._by_message[_raw_id(attempted.message_id)] = SentContact(
                        attempted.originator_id, attempted.index
                    )
            self._position = page[-1].id

    def record(self, fact: DeliveryFact) -> SentContact | None:
        """Record the ack for the contact it belongs to; None for messages not ours."""
        contact = self.find(_raw_id(fact.message_id))
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


def _raw_id(message_id: str) -> str:
    """Return the raw id of `true_<chat>_<raw>[_participant]`, or the id itself."""
    parts = message_id.split("_")
    if len(parts) >= 3 and parts[0] in {"true", "false"}:  # noqa: PLR2004 - serialized id
        return parts[2]
    return message_id
