"""The opt-out list as the console pages it: newest first, searchable, kept current from the log.

The application's `OptOutBook` answers one phone at a time (the gate's question) and pages the
list in the order phones got on it, loading each record. A page of the console searches the
whole list for part of a number or a note, so this read model follows the store's log for the
opt-out events (few: one or two per person) and keeps the phones on the list in memory.
Changes never go through here: the pages add and remove through `OptOutBook`, as the API does.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from uuid import UUID

from adapters.console.records import fold_recorded
from app.campaigns import CampaignsApp
from app.log_follower import Followed
from domain.opt_out import OptOut, OptOutEntry

OPT_OUT_TOPICS: Final = frozenset(
    {OptOut.OptedOut.TOPIC, OptOut.OptedOutAgain.TOPIC, OptOut.OptOutRemoved.TOPIC}
)
# What people type when they look a number up: digits and the signs phones are written with.
_PHONE_LIKE: Final = re.compile(r"^[\d\s+().\-/]+$")
_NOT_DIGITS: Final = re.compile(r"\D")


@dataclass(frozen=True)
class ListedOptOut:
    """A phone on the list and where its listing sits in the log (later: newer)."""

    position: int
    entry: OptOutEntry

    def matches(self, search: Search) -> bool:
        """Whether `search` finds this entry."""
        entry = self.entry
        if search.digits is not None:
            return search.digits in _NOT_DIGITS.sub("", entry.phone)
        return any(search.text in t.casefold() for t in (entry.phone, entry.source, entry.note))


@dataclass(frozen=True)
class Search:
    """What a search compares: part of a number (its digits), else part of any text, folded."""

    text: str
    digits: str | None = None

    @classmethod
    def of(cls, query: str) -> Search:
        """Read what was typed: "+49 151 2345" finds +491512345…; "stop" finds STOP replies.

        Leading zeros are a trunk or an international prefix ("0151 …", "0049 …"), never part
        of a number in E.164, so they are left out of the digits compared.
        """
        cleaned = query.strip()
        digits = _NOT_DIGITS.sub("", cleaned)
        if digits and _PHONE_LIKE.match(cleaned):
            return cls(cleaned, digits.lstrip("0") or digits)
        return cls(cleaned.casefold())

    def __bool__(self) -> bool:
        return bool(self.text)


@dataclass(frozen=True)
class OptOutSlice:
    """One page of the (searched) list, newest first."""

    items: list[ListedOptOut]
    matching: int  # entries the search finds (every entry without a search)
    total: int  # entries on the list


class OptOutList:
    """Every phone on the opt-out list, kept current by the log follower.

    Blocking (it reads the store when it starts): the follower calls it off the event loop.
    """

    topics = OPT_OUT_TOPICS

    def __init__(self, campaigns: CampaignsApp) -> None:
        self._campaigns = campaigns
        self._phones: dict[UUID, str] = {}
        # In the order of their listing (a phone put back on the list moves to the end).
        self._listed: dict[UUID, ListedOptOut] = {}
        self._position: int | None = None
        self._lock = threading.Lock()

    # -- the follower's subscriber ------------------------------------------------------------

    def start(self) -> int:
        """Read the opt-outs recorded so far (first time only); return the position reached."""
        if self._position is None:
            self._position = fold_recorded(self._campaigns, OPT_OUT_TOPICS, self._fold)
        return self._position

    def apply(self, batch: Sequence[Followed], reached: int) -> None:
        """Fold the new opt-outs and removals in."""
        for followed in batch:
            self._fold(followed)
        self._position = reached

    def _fold(self, followed: Followed) -> None:
        event = followed.event
        record_id = event.originator_id
        with self._lock:
            if isinstance(event, OptOut.OptedOut):
                self._phones[record_id] = event.phone
                self._list(record_id, followed.position, event)
            elif isinstance(event, OptOut.OptedOutAgain):
                self._list(record_id, followed.position, event)
            elif isinstance(event, OptOut.OptOutRemoved):
                self._listed.pop(record_id, None)

    def _list(
        self, record_id: UUID, position: int, event: OptOut.OptedOut | OptOut.OptedOutAgain
    ) -> None:
        phone = self._phones.get(record_id)
        if phone is None:
            return  # its first event is not in the log this model read: nothing to show
        self._listed.pop(record_id, None)
        self._listed[record_id] = ListedOptOut(
            position, OptOutEntry(phone, event.source, event.at, event.note)
        )

    # -- what the pages ask -------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._listed)

    def search(self, query: str, *, offset: int, limit: int) -> OptOutSlice:
        """Return up to `limit` entries after the first `offset` that `query` finds, newest first.

        An empty query finds every entry.
        """
        with self._lock:
            everything = list(self._listed.values())
        everything.reverse()
        search = Search.of(query)
        found = [e for e in everything if e.matches(search)] if search else everything
        return OptOutSlice(found[offset : offset + limit], len(found), len(everything))

    def oldest_first(self, query: str = "") -> list[OptOutEntry]:
        """Return every entry `query` finds in the order phones got on the list (for export)."""
        with self._lock:
            everything = list(self._listed.values())
        search = Search.of(query)
        return [e.entry for e in everything if not search or e.matches(search)]
