"""The per-contact read model in the SQLite file of the events, beside the library's tracking."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, OperationalError, Tracking
from eventsourcing.sqlite import (
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteTrackingRecorder,
    SQLiteTransaction,
)

from adapters import contacts_sql as q
from app.contacts_projection import PROJECTION_NAME
from app.read_models import (
    AckReported,
    CampaignAdded,
    Change,
    ContactRow,
    OutcomeRecorded,
    SentContact,
    message_key,
)
from app.views import ContactReport
from domain.campaign import AttemptOutcome

_TABLES = {"contacts": q.CONTACTS_TABLE, "campaigns": q.CAMPAIGNS_TABLE}


def _sql(text: str) -> str:
    return text.format(**_TABLES)


class _WriteLockFirst(SQLiteTransaction):
    """The library's transaction, but BEGIN IMMEDIATE: the write lock is taken at once.

    A plain (deferred) BEGIN that reads before it writes holds a snapshot when it asks for
    the lock, and SQLite then refuses at once ("database is locked") if another connection
    writes meanwhile, ignoring the busy timeout. Taken at BEGIN, the lock is waited for.
    """

    def __enter__(self) -> SQLiteCursor:
        cursor = self.connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            cursor.sqlite_cursor.close()
            raise OperationalError(error) from error  # as the library's own errors are
        return cursor


@contextmanager
def _write_transaction(datastore: SQLiteDatastore) -> Iterator[SQLiteCursor]:
    with (
        datastore.get_connection(commit=True) as connection,
        _WriteLockFirst(connection, commit=True) as cursor,
        cursor,
    ):
        yield cursor


class SQLiteContactsView(SQLiteTrackingRecorder):
    """Rows and the tracking position are written in one SQLite transaction."""

    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)

    def construct_create_table_statements(self) -> list[str]:
        """Return the library's tracking table, then the read model's tables and indexes."""
        return [
            *super().construct_create_table_statements(),
            _sql(
                "CREATE TABLE IF NOT EXISTS {campaigns} (campaign_id TEXT PRIMARY KEY, "
                "deliveries_id TEXT NOT NULL UNIQUE, session TEXT NOT NULL, "
                "size INTEGER NOT NULL, delivered_count INTEGER NOT NULL DEFAULT 0, "
                "read_count INTEGER NOT NULL DEFAULT 0)"
            ),
            _sql(
                "CREATE TABLE IF NOT EXISTS {contacts} (campaign_id TEXT NOT NULL, "
                "contact_index INTEGER NOT NULL, phone TEXT NOT NULL, chat_id TEXT NOT NULL, "
                "name TEXT, session TEXT NOT NULL, outcome TEXT, error TEXT, message_id TEXT, "
                "message_key TEXT, attempted_at INTEGER, ack INTEGER, "
                "PRIMARY KEY (campaign_id, contact_index)) WITHOUT ROWID"
            ),
            *(_sql(index) for index in q.INDEXES),
        ]

    # -- writing --------------------------------------------------------------------------------

    def record(
        self, changes: Sequence[Change], tracking: Tracking, *, since: int | None = None
    ) -> None:
        """Apply `changes` and move the position in one transaction.

        IntegrityError if not past the recorded position (or if that is not `since`).
        """
        # The write lock first, waited for up to the busy timeout (SQLITE_LOCK_TIMEOUT): the
        # check then holds until the commit, and a busy store delays the batch instead of
        # failing it at once.
        with _write_transaction(self.datastore) as c:
            if since is not None and (self._max_tracking_id(PROJECTION_NAME, c) or 0) != since:
                msg = f"the read model is no longer at position {since}"
                raise IntegrityError(msg)
            # Tracking first: it refuses a batch already applied.
            self._insert_tracking(c, tracking)
            for change in changes:
                self._apply(c, change)

    def _apply(self, c: SQLiteCursor, change: Change) -> None:
        match change:
            case CampaignAdded():
                c.execute(
                    _sql(
                        "INSERT INTO {campaigns} (campaign_id, deliveries_id, session, size) "
                        "VALUES (?, ?, ?, ?) ON CONFLICT (campaign_id) DO NOTHING"
                    ),
                    (
                        str(change.campaign_id),
                        str(change.deliveries_id),
                        change.session,
                        change.size,
                    ),
                )
            case OutcomeRecorded():
                sent = change.outcome == AttemptOutcome.SENT.value and change.message_id
                c.execute(
                    _sql(q.SET_OUTCOME),
                    (
                        change.outcome,
                        change.error,
                        change.message_id,
                        message_key(change.message_id) if sent and change.message_id else None,
                        q.micros(change.attempted_at),
                        str(change.campaign_id),
                        change.index,
                    ),
                )
            case AckReported():
                self._ack(c, change)

    def _ack(self, c: SQLiteCursor, change: AckReported) -> None:
        c.execute(_sql(q.CAMPAIGN_OF_DELIVERIES), (str(change.deliveries_id),))
        found = c.fetchone()
        if found is None:
            return  # not a campaign this read model lists
        campaign_id = found["campaign_id"]
        c.execute(_sql(q.ACK_OF), (campaign_id, change.index))
        row = c.fetchone()
        if row is None or (row["ack"] is not None and row["ack"] >= change.ack):
            return  # acks arrive late and out of order: keep the highest
        c.execute(_sql(q.SET_ACK), (change.ack, campaign_id, change.index))
        delivered, read = q.ack_counts(row["ack"], change.ack)
        if delivered or read:
            c.execute(_sql(q.COUNT_ACK), (delivered, read, campaign_id))

    def add_contacts(self, campaign_id: UUID, session: str, rows: Sequence[ContactRow]) -> None:
        """List contacts in one short transaction; rows already listed stay as they are."""
        with self.datastore.transaction(commit=True) as c:
            c.executemany(
                _sql(
                    "INSERT INTO {contacts} (campaign_id, contact_index, phone, chat_id, name, "
                    "session) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
                ),
                [(str(campaign_id), r.index, r.phone, r.chat_id, r.name, session) for r in rows],
            )

    def contacts_listed(self, campaign_id: UUID) -> int:
        """Return how many of the campaign's contacts are listed."""
        return int(self._one(q.LISTED, (str(campaign_id),))["listed"])

    def reset(self) -> None:
        """Drop the tables and the position, then create the tables again, empty."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(_sql("DROP TABLE IF EXISTS {contacts}"))
            c.execute(_sql("DROP TABLE IF EXISTS {campaigns}"))
            c.execute("DELETE FROM tracking WHERE application_name = ?", (PROJECTION_NAME,))
        self.create_table()

    # -- reading ----------------------------------------------------------------------------------

    def _one(self, sql: str, params: Sequence[Any]) -> Any:
        with self.datastore.transaction(commit=False) as c:
            c.execute(_sql(sql), params)
            return c.fetchone()

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
        sql, values = q.page_query(outcomes=outcomes, pending=pending, delivery=delivery)
        with self.datastore.transaction(commit=False) as c:
            c.execute(_sql(sql), (str(campaign_id), after_index, *values, limit))
            rows = c.fetchall()
        return [q.report_of(row, _time(row["attempted_at"])) for row in rows]

    def campaign_size(self, campaign_id: UUID) -> int | None:
        """Return the campaign's number of contacts, or None if it is not listed."""
        row = self._one(q.SIZE_OF, (str(campaign_id),))
        return None if row is None else int(row["size"])

    def sent_to(self, message_id: str) -> SentContact | None:
        """Return the contact the message was sent to, if it is ours."""
        row = self._one(q.SENT_TO, (message_key(message_id),))
        return None if row is None else SentContact(UUID(row["campaign_id"]), row["contact_index"])

    def last_sent(self, session: str, chat_id: str) -> tuple[UUID, datetime] | None:
        """Return the campaign and time of the latest send to the chat via the session."""
        row = self._one(q.LAST_SENT, (session, chat_id))
        if row is None:
            return None
        return UUID(row["campaign_id"]), q.from_micros(row["attempted_at"])

    def sent_count(self, session: str, since: datetime) -> int:
        """Return how many messages the session sent at or after `since`."""
        return int(self._one(q.SENT_COUNT, (session, q.micros(since)))["sent"])

    def delivery_counts(self, campaign_id: UUID) -> dict[str, int]:
        """Return the campaign's messages delivered and read."""
        row = self._one(q.DELIVERY_COUNTS, (str(campaign_id),))
        if row is None:
            return {"delivered": 0, "read": 0}
        return {"delivered": int(row["delivered_count"]), "read": int(row["read_count"])}

    def delivery_totals(self) -> dict[str, int]:
        """Return the messages delivered and read over every campaign."""
        row = self._one(q.DELIVERY_TOTALS, ())
        return {"delivered": int(row["delivered_count"]), "read": int(row["read_count"])}

    def position(self) -> int:
        """Return the log position the rows reflect."""
        return self.max_tracking_id(PROJECTION_NAME) or 0


def _time(micros: int | None) -> datetime | None:
    return None if micros is None else q.from_micros(micros)
