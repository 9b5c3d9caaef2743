"""A campaign's frozen, ordered audience: contact `i` is the same person forever."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any, Final
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.contacts import Contact

# Audiences are content-addressed: the same contacts in the same order are one record.
_AUDIENCE_NAMESPACE: Final = UUID("8a4f5f1e-3b9e-4f43-9a6e-5c1d2f0b7a11")
CHUNK_SIZE: Final = 1000


class ContentHash:
    """The sha256 of an audience's contacts, taken one contact at a time, as they are read."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()

    def add(self, contact: Contact) -> None:
        """Take the next contact's canonical JSON into the hash."""
        self._digest.update(json.dumps(contact.to_record(), sort_keys=True).encode())
        self._digest.update(b"\n")

    def hexdigest(self) -> str:
        """Return the hash of the contacts added so far, in their order."""
        return self._digest.hexdigest()


def content_hash(contacts: Iterable[Contact]) -> str:
    """Return the sha256 of the contacts' canonical JSON, in order (read once, as it comes)."""
    digest = ContentHash()
    for contact in contacts:
        digest.add(contact)
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
        """Return a new audience of `contacts`, in their order, with all its pending events.

        For an audience held in memory; `frozen` and `add_chunk` write a large one in parts.
        """
        audience = cls.frozen(content_hash(contacts), len(contacts))
        for start in range(0, len(contacts), CHUNK_SIZE):
            audience.add_chunk(contacts[start : start + CHUNK_SIZE])
        return audience

    @classmethod
    def frozen(cls, content_hash: str, size: int) -> Audience:
        """Return a new audience of `size` contacts whose chunks are yet to be added."""
        return cls(content_hash=content_hash, size=size)

    @event(AudienceFrozen)
    def __init__(self, *, content_hash: str, size: int) -> None:
        self.content_hash = content_hash
        self.size = size
        # Only the count: the contacts stay in the store, read a chunk at a time, so an
        # audience of a million costs a loaded (or cached) aggregate nothing.
        self.added = 0

    def add_chunk(self, contacts: Sequence[Contact]) -> None:
        """Add the next chunk (at most CHUNK_SIZE contacts, the last one may be shorter)."""
        if not 0 < len(contacts) <= CHUNK_SIZE or self.added + len(contacts) > self.size:
            msg = f"a chunk holds 1 to {CHUNK_SIZE} of the {self.size - self.added} contacts left"
            raise ValueError(msg)
        if len(contacts) < CHUNK_SIZE and self.added + len(contacts) != self.size:
            msg = "only the last chunk may be short"
            raise ValueError(msg)
        self._contacts_added(start=self.added, contacts=[c.to_record() for c in contacts])

    @event(ContactsAdded)
    def _contacts_added(self, start: int, contacts: list[dict[str, Any]]) -> None:
        self.added = start + len(contacts)

    @property
    def complete(self) -> bool:
        """Whether every chunk is recorded."""
        return self.added == self.size

    @property
    def chunks(self) -> int:
        """How many chunks the whole audience has."""
        return -(-self.size // CHUNK_SIZE)

    def reference(self) -> dict[str, Any]:
        """Return what a campaign stores to point at this audience."""
        return {"id": str(self.id), "content_hash": self.content_hash, "size": self.size}
