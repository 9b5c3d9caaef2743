"""What the guardrails read from the store before each send, in one call (a port).

Every contact's gates need the log since their last look (the number's sends, settings and
opt-out changes), the contact's opt-out record and, with a recontact rule, the number's last
message to the chat. On SQLite one read transaction of the library costs about 0.15 ms, so
asking three times per contact would cost more than the gates' budget: an adapter may answer
all three in one transaction of its own (adapters/sqlite_gate_reads.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent

from app.campaigns import CampaignsApp
from app.read_models import CampaignContacts
from domain.contacts import ChatId
from domain.session import SessionName


@dataclass(frozen=True)
class GateRead:
    """One look at the store for one contact's gates."""

    new: Sequence[Notification]  # the log after the position asked for, in the topics asked
    opt_out: StoredEvent | None  # the last event of the contact's opt-out record, if any
    # The read model's last message to the chat through the session: (campaign, when).
    last_sent: tuple[UUID, datetime] | None
    chat_asked: bool = True  # False: no chat was asked about, so `last_sent` says nothing


class GateReads(Protocol):
    """Reads for the gates; blocking (call off the event loop unless `local`)."""

    # True when the reads come from a local file in tens of microseconds: cheaper on the event
    # loop than the hop to a worker thread.
    local: bool

    def read(
        self,
        *,
        after: int,
        topics: Sequence[str],
        limit: int,
        opt_out_id: UUID,
        session: SessionName,
        chat_id: ChatId | None,
    ) -> GateRead:
        """Return the log after `after`, the opt-out record's last event, the last message.

        At most `limit` notifications; the last message to the chat through the session only
        when `chat_id` is given.
        """
        ...


class LoopGateReads(Protocol):
    """The same reads awaited on the event loop (a store with an async driver): no worker thread.

    On this 2-core VM a hop to a worker thread cost about 0.3 ms of CPU per read, more than the
    read itself (measured against psycopg's async driver: 0.12 ms).
    """

    def on_this_loop(self) -> bool:
        """Return True when it can read on the running event loop (open, and opened on it)."""
        ...

    async def read_on_loop(
        self,
        *,
        after: int,
        topics: Sequence[str],
        limit: int,
        opt_out_id: UUID,
        session: SessionName,
        chat_id: ChatId | None,
    ) -> GateRead:
        """Return what `GateReads.read` returns, awaited on the loop."""
        ...


class StoreGateReads:
    """The gates' reads through the library's recorder and the read model: any store."""

    local = False  # a database server, or the library's pool: each read may take a while

    def __init__(self, campaigns: CampaignsApp, contacts: CampaignContacts) -> None:
        self._campaigns = campaigns
        self._contacts = contacts

    def read(
        self,
        *,
        after: int,
        topics: Sequence[str],
        limit: int,
        opt_out_id: UUID,
        session: SessionName,
        chat_id: ChatId | None,
    ) -> GateRead:
        """Return what the gates need, in up to three reads of the store."""
        recorder = self._campaigns.recorder
        new = recorder.select_notifications(
            start=after, limit=limit, topics=topics, inclusive_of_start=False
        )
        found = recorder.select_events(opt_out_id, desc=True, limit=1)
        last = None if chat_id is None else self._contacts.last_sent(session, chat_id)
        return GateRead(new, found[0] if found else None, last, chat_id is not None)
