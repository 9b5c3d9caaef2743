"""The per-contact read model's port: what readers ask of it and what its projection records.

One row per campaign contact (who, through which session, what happened, what WhatsApp
acknowledged), kept in the events' own database with the log position it reflects, so a
page of a million-contact campaign is one indexed query instead of a replay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol
from uuid import UUID

from eventsourcing.persistence import Tracking

from app.views import ContactReport
from domain.contacts import ChatId
from domain.delivery import ACK_NAMES
from domain.session import SessionName

PENDING: Final = "pending"  # an outcome filter: contacts without an outcome yet
ACKS_BY_NAME: Final = {name: ack for ack, name in ACK_NAMES.items()}
DELIVERED_ACK: Final = 2  # WhatsApp's DEVICE: delivered counts read ones too
READ_ACK: Final = 3


@dataclass(frozen=True)
class SentContact:
    """Which campaign contact a message id was sent to."""

    campaign_id: UUID
    index: int


def message_key(message_id: str) -> str:
    """Return the raw id of `true_<chat>_<raw>[_participant]`, or the id itself.

    WAHA's acks name a message by its serialized id or its raw one; both find the contact.
    """
    parts = message_id.split("_")
    if len(parts) >= 3 and parts[0] in {"true", "false"}:  # noqa: PLR2004 - serialized id
        return parts[2]
    return message_id


def delivery_name(ack: int | None) -> str | None:
    """Return the delivery state of an ack level, as the contact report names it."""
    return None if ack is None else ACK_NAMES.get(ack, str(ack))


class CampaignContacts(Protocol):
    """What readers ask of the per-contact read model; every answer is one indexed query."""

    def page(
        self,
        campaign_id: UUID,
        *,
        after_index: int = -1,
        limit: int,
        outcomes: frozenset[str] | None = None,
        pending: bool = False,
        delivery: frozenset[str] | None = None,
    ) -> list[ContactReport]:
        """Return up to `limit` contacts after `after_index`, in audience order.

        `outcomes` keeps contacts with one of those outcomes, `pending` (also) those without
        one; `delivery` keeps contacts whose highest ack has one of those names (ACK_NAMES).
        """
        ...

    def campaign_size(self, campaign_id: UUID) -> int | None:
        """Return how many contacts the campaign has, or None if it is not known (yet)."""
        ...

    def sent_to(self, message_id: str) -> SentContact | None:
        """Return the contact a message was sent to (serialized or raw id), if it is ours."""
        ...

    def last_sent(self, session: SessionName, chat_id: ChatId) -> tuple[UUID, datetime] | None:
        """Return the campaign and time of the latest message sent to the chat via the session."""
        ...

    def sent_count(self, session: SessionName, since: datetime) -> int:
        """Return how many messages the session sent at or after `since`, in any campaign."""
        ...

    def delivery_counts(self, campaign_id: UUID) -> dict[str, int]:
        """Return the campaign's messages delivered and read (kept as acks arrive)."""
        ...

    def delivery_totals(self) -> dict[str, int]:
        """Return the messages delivered and read over every campaign."""
        ...

    def position(self) -> int:
        """Return the log position the read model reflects (0: nothing yet)."""
        ...


@dataclass(frozen=True)
class CampaignAdded:
    """A campaign to list: its contacts' rows are added separately, in bounded batches."""

    campaign_id: UUID
    deliveries_id: UUID
    session: str
    size: int


@dataclass(frozen=True)
class OutcomeRecorded:
    """What happened to one contact."""

    campaign_id: UUID
    index: int
    outcome: str
    message_id: str | None
    error: str | None
    attempted_at: datetime


@dataclass(frozen=True)
class AckReported:
    """WhatsApp acknowledged contact `index` of the campaign whose delivery record this is."""

    deliveries_id: UUID
    index: int
    ack: int


Change = CampaignAdded | OutcomeRecorded | AckReported


@dataclass(frozen=True)
class ContactRow:
    """One contact of a campaign's frozen audience, as first listed."""

    index: int
    phone: str
    chat_id: str
    name: str | None


class ContactsView(CampaignContacts, Protocol):
    """The read model as its projection writes it (the library's tracking recorder)."""

    def record(
        self, changes: Sequence[Change], tracking: Tracking, *, since: int | None = None
    ) -> None:
        """Apply `changes` and move the position to `tracking`, in one transaction.

        Raises the library's IntegrityError (nothing applied) if `tracking` is not past the
        position already recorded, or if `since` is given and the recorded position is not
        it: a batch is applied once, even when two processes follow the same log.
        """
        ...

    def add_contacts(self, campaign_id: UUID, session: str, rows: Sequence[ContactRow]) -> None:
        """List contacts of a campaign in one short transaction; rows already listed are kept."""
        ...

    def contacts_listed(self, campaign_id: UUID) -> int:
        """Return how many of the campaign's contacts are listed.

        An interrupted listing goes on where it stopped.
        """
        ...

    def reset(self) -> None:
        """Forget everything, position included, so the projection starts again from 0."""
        ...
