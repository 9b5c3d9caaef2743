"""The per-contact read model in the events' PostgreSQL database, beside its tracking table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

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

TRACKING_TABLE: Final = "campaign_contacts_tracking"


class PostgresContactsView(PostgresTrackingRecorder):
    """Rows and the tracking position are written in one PostgreSQL transaction."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        kwargs.setdefault("tracking_table_name", TRACKING_TABLE)
        super().__init__(datastore, **kwargs)
        schema = self.datastore.schema
        self._tables = {
            "contacts": Identifier(schema, q.CONTACTS_TABLE),
            "campaigns": Identifier(schema, q.CAMPAIGNS_TABLE),
        }
        self.sql_create_statements.extend(
            [
                self._sql(
                    "CREATE TABLE IF NOT EXISTS {campaigns} (campaign_id uuid PRIMARY KEY, "
                    "deliveries_id uuid NOT NULL UNIQUE, session text NOT NULL, "
                    "size integer NOT NULL, delivered_count integer NOT NULL DEFAULT 0, "
                    "read_count integer NOT NULL DEFAULT 0)"
                ),
                self._sql(
                    "CREATE TABLE IF NOT EXISTS {contacts} (campaign_id uuid NOT NULL, "
                    "contact_index integer NOT NULL, phone text NOT NULL, "
                    "chat_id text NOT NULL, name text, session text NOT NULL, outcome text, "
                    "error text, message_id text, message_key text, attempted_at timestamptz, "
                    "ack integer, PRIMARY KEY (campaign_id, contact_index))"
                ),
                *(self._sql(index) for index in q.INDEXES),
            ]
        )

    def _sql(self, text: str) -> Composed:
        return SQL(q.placeholders(text, "%s")).format(**self._tables)

    # -- writing --------------------------------------------------------------------------------

    def record(
        self, changes: Sequence[Change], tracking: Tracking, *, since: int | None = None
    ) -> None:
        """Apply `changes` and move the position in one transaction.

        IntegrityError if not past the recorded position (or if that is not `since`).
        """
        with self.datastore.transaction(commit=True) as c:
            if since is not None:
                # Writers of this model queue here (readers do not), so the position read
                # below stays true until the commit: two processes never apply one batch twice.
                c.execute(
                    SQL("LOCK TABLE {0} IN EXCLUSIVE MODE").format(
                        Identifier(self.datastore.schema, self.tracking_table_name)
                    )
                )
                if (self._max_tracking_id(PROJECTION_NAME, c) or 0) != since:
                    msg = f"the read model is no longer at position {since}"
                    raise IntegrityError(msg)
            self._insert_tracking(c, tracking)
            for change in changes:
                self._apply(c, change)

    def _apply(self, c: Cursor[DictRow], change: Change) -> None:
        match change:
            case CampaignAdded():
                c.execute(
                    self._sql(
                        "INSERT INTO {campaigns} (campaign_id, deliveries_id, session, size) "
                        "VALUES (?, ?, ?, ?) ON CONFLICT (campaign_id) DO NOTHING"
                    ),
                    (change.campaign_id, change.deliveries_id, change.session, change.size),
                )
            case OutcomeRecorded():
                sent = change.outcome == AttemptOutcome.SENT.value and change.message_id
                c.execute(
                    self._sql(q.SET_OUTCOME),
                    (
                        change.outcome,
                        change.error,
                        change.message_id,
                        message_key(change.message_id) if sent and change.message_id else None,
                        change.attempted_at,
                        change.campaign_id,
                        change.index,
                    ),
                )
            case AckReported():
                self._ack(c, change)

    def _ack(self, c: Cursor[DictRow], change: AckReported) -> None:
        c.execute(self._sql(q.CAMPAIGN_OF_DELIVERIES), (change.deliveries_id,))
        found = c.fetchone()
        if found is None:
            return  # not a campaign this read model lists
        campaign_id = found["campaign_id"]
        c.execute(self._sql(q.ACK_OF), (campaign_id, change.index))
        row = c.fetchone()
        if row is None or (row["ack"] is not None and row["ack"] >= change.ack):
            return  # acks arrive late and out of order: keep the highest
        c.execute(self._sql(q.SET_ACK), (change.ack, campaign_id, change.index))
        delivered, read = q.ack_counts(row["ack"], change.ack)
        if delivered or read:
            c.execute(self._sql(q.COUNT_ACK), (delivered, read, campaign_id))

    def add_contacts(self, campaign_id: UUID, session: str, rows: Sequence[ContactRow]) -> None:
        """List contacts in one short transaction; rows already listed stay as they are."""
        with self.datastore.transaction(commit=True) as c:
            c.executemany(
                self._sql(
                    "INSERT INTO {contacts} (campaign_id, contact_index, phone, chat_id, name, "
                    "session) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
                ),
                [(campaign_id, r.index, r.phone, r.chat_id, r.name, session) for r in rows],
            )

    def contacts_listed(self, campaign_id: UUID) -> int:
        """Return how many of the campaign's contacts are listed."""
        return int(self._one(q.LISTED, (campaign_id,))["listed"])

    def reset(self) -> None:
        """Drop the tables and the position, then create the tables again, empty."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(self._sql("DROP TABLE IF EXISTS {contacts}"))
            c.execute(self._sql("DROP TABLE IF EXISTS {campaigns}"))
            c.execute(
                SQL("DELETE FROM {0} WHERE application_name = %s").format(
                    Identifier(self.datastore.schema, self.tracking_table_name)
                ),
                (PROJECTION_NAME,),
            )
        self.create_table()

    # -- reading ----------------------------------------------------------------------------------

    def _one(self, sql: str, params: Sequence[Any]) -> Any:
        with self.datastore.transaction(commit=False) as c:
            c.execute(self._sql(sql), params)
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
            c.execute(self._sql(sql), (campaign_id, after_index, *values, limit))
            rows = c.fetchall()
        return [q.report_of(row, _utc(row["attempted_at"])) for row in rows]

    def campaign_size(self, campaign_id: UUID) -> int | None:
        """Return the campaign's number of contacts, or None if it is not listed."""
        row = self._one(q.SIZE_OF, (campaign_id,))
        return None if row is None else int(row["size"])

    def sent_to(self, message_id: str) -> SentContact | None:
        """Return the contact the message was sent to, if it is ours."""
        row = self._one(q.SENT_TO, (message_key(message_id),))
        return None if row is None else SentContact(row["campaign_id"], row["contact_index"])

    def last_sent(self, session: str, chat_id: str) -> tuple[UUID, datetime] | None:
        """Return the campaign and time of the latest send to the chat via the session."""
        row = self._one(q.LAST_SENT, (session, chat_id))
        if row is None:
            return None
        return row["campaign_id"], row["attempted_at"].astimezone(UTC)

    def sent_count(self, session: str, since: datetime) -> int:
        """Return how many messages the session sent at or after `since`."""
        return int(self._one(q.SENT_COUNT, (session, since))["sent"])

    def delivery_counts(self, campaign_id: UUID) -> dict[str, int]:
        """Return the campaign's messages delivered and read."""
        row = self._one(q.DELIVERY_COUNTS, (campaign_id,))
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


def _utc(at: datetime | None) -> datetime | None:
    # The server answers in its own time zone; the report speaks UTC, as the events do.
    return None if at is None else at.astimezone(UTC)
