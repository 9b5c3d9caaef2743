"""The per-contact read model in memory, for `memory://` stores and unit tests."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.popo import POPOTrackingRecorder

from adapters.contacts_sql import ack_counts
from app.contacts_projection import PROJECTION_NAME
from app.read_models import (
    ACKS_BY_NAME,
    PENDING,
    AckReported,
    CampaignAdded,
    Change,
    ContactRow,
    OutcomeRecorded,
    SentContact,
    delivery_name,
    message_key,
)
from app.views import ContactReport
from domain.campaign import AttemptOutcome


@dataclass(frozen=True)
class _Row:
    contact: ContactRow
    session: str
    outcome: str | None = None
    error: str | None = None
    message_id: str | None = None
    attempted_at: datetime | None = None
    ack: int | None = None


@dataclass
class _Campaign:
    deliveries_id: UUID
    session: str
    size: int
    delivered: int = 0
    read: int = 0


class POPOContactsView(POPOTrackingRecorder):
    """The same answers as the SQL tables, from dictionaries under the library's lock."""

    def __init__(self) -> None:
        super().__init__()
        self._reset()

    def _reset(self) -> None:
        self._rows: dict[UUID, dict[int, _Row]] = defaultdict(dict)
        self._campaigns: dict[UUID, _Campaign] = {}
        self._by_deliveries: dict[UUID, UUID] = {}
        self._by_message: dict[str, SentContact] = {}
        self._last_sent: dict[tuple[str, str], tuple[UUID, datetime]] = {}
        self._sent_times: dict[str, list[datetime]] = defaultdict(list)

    def record(
        self, changes: Sequence[Change], tracking: Tracking, *, since: int | None = None
    ) -> None:
        """Apply `changes` and move the position, atomically.

        IntegrityError if not past the recorded position (or if that is not `since`).
        """
        with self._database_lock:
            self._assert_tracking_uniqueness(tracking)
            if since is not None and (self.max_tracking_id(PROJECTION_NAME) or 0) != since:
                msg = f"the read model is no longer at position {since}"
                raise IntegrityError(msg)
            for change in changes:
                self._apply(change)
            self._insert_tracking(tracking)

    def _apply(self, change: Change) -> None:
        match change:
            case CampaignAdded():
                if change.campaign_id not in self._campaigns:
                    self._campaigns[change.campaign_id] = _Campaign(
                        change.deliveries_id, change.session, change.size
                    )
                    self._by_deliveries[change.deliveries_id] = change.campaign_id
            case OutcomeRecorded():
                self._outcome(change)
            case AckReported():
                self._ack(change)

    def _outcome(self, change: OutcomeRecorded) -> None:
        rows = self._rows[change.campaign_id]
        row = rows.get(change.index)
        if row is None:
            return
        rows[change.index] = replace(
            row,
            outcome=change.outcome,
            error=change.error,
            message_id=change.message_id,
            attempted_at=change.attempted_at,
        )
        if change.outcome == AttemptOutcome.SENT.value:
            if change.message_id:
                key = message_key(change.message_id)
                self._by_message[key] = SentContact(change.campaign_id, change.index)
            chat = (row.session, row.contact.chat_id)
            last = self._last_sent.get(chat)
            if last is None or last[1] <= change.attempted_at:
                self._last_sent[chat] = (change.campaign_id, change.attempted_at)
            bisect.insort(self._sent_times[row.session], change.attempted_at)

    def _ack(self, change: AckReported) -> None:
        campaign_id = self._by_deliveries.get(change.deliveries_id)
        row = None if campaign_id is None else self._rows[campaign_id].get(change.index)
        if campaign_id is None or row is None or (row.ack is not None and row.ack >= change.ack):
            return
        self._rows[campaign_id][change.index] = replace(row, ack=change.ack)
        delivered, read = ack_counts(row.ack, change.ack)
        campaign = self._campaigns[campaign_id]
        campaign.delivered += delivered
        campaign.read += read

    def add_contacts(self, campaign_id: UUID, session: str, rows: Sequence[ContactRow]) -> None:
        """List contacts; rows already listed stay as they are."""
        with self._database_lock:
            listed = self._rows[campaign_id]
            for row in rows:
                listed.setdefault(row.index, _Row(row, session))

    def contacts_listed(self, campaign_id: UUID) -> int:
        """Return how many of the campaign's contacts are listed."""
        with self._database_lock:
            return len(self._rows.get(campaign_id, {}))

    def reset(self) -> None:
        """Forget every row and the position."""
        with self._database_lock:
            self._reset()
            self._max_tracking_ids.pop(PROJECTION_NAME, None)

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
        """Return up to `limit` contacts after `after_index`, filtered, in audience order."""
        wanted_acks = None
        if delivery is not None:
            wanted_acks = {ACKS_BY_NAME[n] for n in delivery if n in ACKS_BY_NAME}
        with_pending = pending or PENDING in (outcomes or frozenset())
        with self._database_lock:
            rows = self._rows.get(campaign_id, {})
            found = []
            # Listed in audience order from 0, so the indexes are 0 … len - 1.
            for index in range(after_index + 1, len(rows)):
                row = rows.get(index)
                if row is None or not _matches(row, outcomes, with_pending, wanted_acks):
                    continue
                found.append(_report(row))
                if len(found) == limit:
                    break
            return found

    def campaign_size(self, campaign_id: UUID) -> int | None:
        """Return the campaign's number of contacts, or None if it is not listed."""
        campaign = self._campaigns.get(campaign_id)
        return None if campaign is None else campaign.size

    def sent_to(self, message_id: str) -> SentContact | None:
        """Return the contact the message was sent to, if it is ours."""
        return self._by_message.get(message_key(message_id))

    def last_sent(self, session: str, chat_id: str) -> tuple[UUID, datetime] | None:
        """Return the campaign and time of the latest send to the chat via the session."""
        return self._last_sent.get((session, chat_id))

    def sent_count(self, session: str, since: datetime) -> int:
        """Return how many messages the session sent at or after `since`."""
        with self._database_lock:
            times = self._sent_times.get(session, [])
            return len(times) - bisect.bisect_left(times, since)

    def delivery_counts(self, campaign_id: UUID) -> dict[str, int]:
        """Return the campaign's messages delivered and read."""
        campaign = self._campaigns.get(campaign_id)
        if campaign is None:
            return {"delivered": 0, "read": 0}
        return {"delivered": campaign.delivered, "read": campaign.read}

    def delivery_totals(self) -> dict[str, int]:
        """Return the messages delivered and read over every campaign."""
        with self._database_lock:
            campaigns = list(self._campaigns.values())
        return {
            "delivered": sum(c.delivered for c in campaigns),
            "read": sum(c.read for c in campaigns),
        }

    def position(self) -> int:
        """Return the log position the rows reflect."""
        return self.max_tracking_id(PROJECTION_NAME) or 0


def _matches(
    row: _Row, outcomes: frozenset[str] | None, with_pending: bool, acks: set[int] | None
) -> bool:
    if outcomes is not None or with_pending:
        named = row.outcome is not None and outcomes is not None and row.outcome in outcomes
        if not (named or (row.outcome is None and with_pending)):
            return False
    return acks is None or (row.ack is not None and row.ack in acks)


def _report(row: _Row) -> ContactReport:
    contact = row.contact
    return ContactReport(
        index=contact.index,
        chat_id=contact.chat_id,
        phone=contact.phone,
        name=contact.name,
        outcome=row.outcome,
        message_id=row.message_id,
        error=row.error,
        attempted_at=row.attempted_at,
        delivery=delivery_name(row.ack),
    )
