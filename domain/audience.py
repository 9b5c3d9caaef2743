"""A campaign's frozen, ordered audience: contact `i` is the same person forever."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, Final
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.contacts import Contact

# Audiences are content-addressed: the same contacts in the same order are one record.
_AUDIENCE_NAMESPACE: Final = UUID("8a4f5f1e-3b9e-4f43-9a6e-5c1d2f0b7a11")
CHUNK_SIZE: Final = 1000


def content_hash(contacts: Sequence[Contact]) -> str:
    """Return the sha256 of the contacts' canonical JSON, in order."""
    digest = hashlib.sha256()
    for contact in contacts:
        digest.update(json.dumps(contact.to_record(), sort_keys=True).encode())
        digest.update(b"\n")
    return digest.hexdigest()


class Audience(Aggregate):
    """An immutable list of contacts, kept apart from the campaign so the campaign stays small."""

    TOPIC = "waha_campaigns:Audience"

    class Event(Aggregate.Event):
        """Base of the audience's events."""

        TOPIC = "waha_campaigns:Audience.Event"

    class Created(Event, Aggregate.Created):
        """Base of the audience's creation event."""

        TOPIC = "waha_campaigns:Audience.Created"

    class AudienceFrozen(Created):
        """The audience exists with this hash and size; its contacts follow in chunks."""

        TOPIC = "waha_campaigns:Audience.AudienceFrozen"
        class_version = 1
        content_hash: str
        size: int

    class ContactsAdded(Event):
        """Contacts `start` … `start + len(contacts) - 1` of the audience."""

        TOPIC = "waha_campaigns:Audience.ContactsAdded"
        class_version = 1
        start: int
        contacts: list[dict[str, Any]]

    @staticmethod
    def create_id(content_hash: str, size: int) -> UUID:  # noqa: ARG004 - the library passes both
        """Return the audience's id, derived from its content."""
        return uuid5(_AUDIENCE_NAMESPACE, content_hash)

    @classmethod
    def freeze(cls, contacts: Sequence[Contact]) -> Audience:
        """Return a new audience of `contacts`, in their order, with its pending events."""
        audience = cls(content_hash=content_hash(contacts), size=len(contacts))
        for start in range(0, len(contacts), CHUNK_SIZE):
            chunk = [c.to_record() for c in contacts[start : start + CHUNK_SIZE]]
            audience._contacts_added(start=start, contacts=chunk)
        return audience

    @event(AudienceFrozen)
    def __init__(self, *, content_hash: str, size: int) -> None:
        self.content_hash = content_hash
        self.size = size
        self.records: list[dict[str, Any]] = []

    @event(ContactsAdded)
    def _contacts_added(self, start: int, contacts: list[dict[str, Any]]) -> None:
        self.records.extend(contacts)

    def contacts(self) -> list[Contact]:
        """Return the contacts in audience order."""
        return [Contact.from_record(r) for r in self.records]

    def reference(self) -> dict[str, Any]:
        """Return what a campaign stores to point at this audience."""
        return {"id": str(self.id), "content_hash": self.content_hash, "size": self.size}
