"""People who asked to get no more messages: one record per phone, for every number of the store.

One aggregate per phone, its id derived from the phone, so that asking whether a contact
opted out is one indexed read of the store at send time: exact, with no read model's lag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import DomainError

_OPT_OUTS_NAMESPACE: Final = UUID("0c6e2f4a-7b1d-4e8a-b3c5-9d2f1a6e4b7c")
# STOP and its usual words in the languages WhatsApp campaigns go out in most.
DEFAULT_OPT_OUT_KEYWORDS: Final = (
    "STOP",
    "STOPP",
    "UNSUBSCRIBE",
    "ARRET",
    "ARRÊT",
    "BAJA",
    "PARAR",
    "SAIR",
    "CANCELAR",
    "ABMELDEN",
)
MAX_NOTE_LENGTH: Final = 500
_SOURCE: Final = re.compile(r"^(api|import|inbound:[^\x00-\x1f]{1,64})$")


def opt_out_id(phone: str) -> UUID:
    """Return the id of the opt-out record of `phone` (E.164, e.g. +4915112345678)."""
    return uuid5(_OPT_OUTS_NAMESPACE, phone)


def valid_source(source: str) -> str:
    """Return `source` if it names where an opt-out came from, else raise DomainError."""
    if not _SOURCE.match(source):
        raise DomainError(
            f"an opt-out's source is api, import or inbound:<keyword>, not {source!r}"
        )
    return source


@dataclass(frozen=True)
class OptOutEntry:
    """One phone on the opt-out list: where it came from, when, and a note."""

    phone: str
    source: str
    at: datetime
    note: str


class OptOut(Aggregate):
    """One phone's opt-out, and its removals and renewals, on the record."""

    TOPIC = "waha_campaigns:OptOut"
    class_version = 1

    class Event(Aggregate.Event):
        """Base of the opt-out's events."""

        TOPIC = "waha_campaigns:OptOut.Event"

    class Created(Event, Aggregate.Created):
        """Base of the opt-out's creation event."""

        TOPIC = "waha_campaigns:OptOut.Created"

    class OptedOut(Created):
        """`phone` asked for no more messages (the first time): `source` says how we learnt it."""

        TOPIC = "waha_campaigns:OptOut.OptedOut"
        class_version = 1
        phone: str
        source: str
        note: str
        at: datetime

    class OptedOutAgain(Event):
        """The phone, once removed from the list, is on it again."""

        TOPIC = "waha_campaigns:OptOut.OptedOutAgain"
        class_version = 1
        source: str
        note: str
        at: datetime

    class OptOutRemoved(Event):
        """The phone is off the list: campaigns may message it again."""

        TOPIC = "waha_campaigns:OptOut.OptOutRemoved"
        class_version = 1
        note: str
        at: datetime

    @staticmethod
    def create_id(phone: str, source: str, note: str, at: datetime) -> UUID:  # noqa: ARG004
        """Return the record's id, derived from the phone."""
        return opt_out_id(phone)

    @event(OptedOut)
    def __init__(self, *, phone: str, source: str, note: str, at: datetime) -> None:
        self.phone = phone
        self.active = True
        self.source = source
        self.note = note
        self.at = at

    @property
    def entry(self) -> OptOutEntry | None:
        """The phone's entry on the list, or None while it is off the list."""
        if not self.active:
            return None
        return OptOutEntry(self.phone, self.source, self.at, self.note)

    def opt_out_again(self, *, source: str, note: str, at: datetime) -> bool:
        """Put the phone back on the list; return False (and record nothing) if it is on it."""
        if self.active:
            return False
        self._opted_out_again(source=valid_source(source), note=note[:MAX_NOTE_LENGTH], at=at)
        return True

    def remove(self, *, note: str, at: datetime) -> bool:
        """Take the phone off the list; return False (and record nothing) if it is not on it."""
        if not self.active:
            return False
        self._removed(note=note[:MAX_NOTE_LENGTH], at=at)
        return True

    @event(OptedOutAgain)
    def _opted_out_again(self, source: str, note: str, at: datetime) -> None:
        self.active = True
        self.source = source
        self.note = note
        self.at = at

    @event(OptOutRemoved)
    def _removed(self, note: str, at: datetime) -> None:
        self.active = False
        self.at = at


def new_opt_out(*, phone: str, source: str, note: str, at: datetime) -> OptOut:
    """Return the record of a phone's first opt-out; raise DomainError for an unknown source."""
    return OptOut(phone=phone, source=valid_source(source), note=note[:MAX_NOTE_LENGTH], at=at)


def entry_of(phone: str, last_event: object) -> OptOutEntry | None:
    """Return the entry `phone`'s last event leaves it with (None: not on the list).

    The gate reads only a phone's last event: an opt-out or a removal says it all.
    """
    if isinstance(last_event, OptOut.OptedOut | OptOut.OptedOutAgain):
        return OptOutEntry(phone, last_event.source, last_event.at, last_event.note)
    return None
