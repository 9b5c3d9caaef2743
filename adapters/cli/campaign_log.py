"""One campaign's stored events with their log positions, one indexed query per page.

The library's recorders read one aggregate's events without their positions, or the whole
log with them; an export of one campaign needs both, and must not read every other
campaign's events to get them. These readers ask the SQL stores for exactly that, by the
events table's own (originator_id, originator_version) key.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Notification
from eventsourcing.sqlite import SQLiteApplicationRecorder

from app.audit import PAGE_SIZE, CampaignLog

if TYPE_CHECKING:
    from eventsourcing.postgres import PostgresApplicationRecorder

_SQLITE_SELECT: Final = (
    "SELECT rowid, originator_version, topic, state FROM {table} "
    "WHERE originator_id = ? AND originator_version > ? ORDER BY originator_version LIMIT ?"
)


class SqliteCampaignLog:
    """Reads a campaign's events with their rowids (SQLite's notification ids)."""

    def __init__(self, recorder: SQLiteApplicationRecorder, page_size: int = PAGE_SIZE) -> None:
        self._recorder = recorder
        self._page_size = page_size
        self._statement = _SQLITE_SELECT.format(table=recorder.events_table_name)

    def read(self, campaign_id: UUID) -> Iterator[Notification]:
        """Yield the campaign's stored events in version order, with their positions."""
        after = 0
        while page := self._page(campaign_id, after):
            yield from page
            after = page[-1].originator_version

    def _page(self, campaign_id: UUID, after: int) -> list[Notification]:
        with self._recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(self._statement, (campaign_id.hex, after, self._page_size))
            rows: Sequence[Any] = cursor.fetchall()
        return [
            Notification(
                id=row["rowid"],
                originator_id=campaign_id,
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=row["state"],
            )
            for row in rows
        ]


class PostgresCampaignLog:
    """Reads a campaign's events with their notification_id column."""

    def __init__(self, recorder: PostgresApplicationRecorder, page_size: int = PAGE_SIZE) -> None:
        from psycopg.sql import SQL, Identifier  # noqa: PLC0415 - only PostgreSQL stores need it

        self._recorder = recorder
        self._page_size = page_size
        self._statement = SQL(
            "SELECT notification_id, originator_version, topic, state FROM {schema}.{table} "
            "WHERE originator_id = %s AND originator_version > %s "
            "ORDER BY originator_version LIMIT %s"
        ).format(
            schema=Identifier(recorder.datastore.schema),
            table=Identifier(recorder.events_table_name),
        )

    def read(self, campaign_id: UUID) -> Iterator[Notification]:
        """Yield the campaign's stored events in version order, with their positions."""
        after = 0
        while page := self._page(campaign_id, after):
            yield from page
            after = page[-1].originator_version

    def _page(self, campaign_id: UUID, after: int) -> list[Notification]:
        with self._recorder.datastore.get_connection() as connection, connection.cursor() as cursor:
            cursor.execute(self._statement, (campaign_id, after, self._page_size), prepare=True)
            rows = cursor.fetchall()
        return [
            Notification(
                id=row["notification_id"],
                originator_id=campaign_id,
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
            for row in rows
        ]


def campaign_log_for(recorder: ApplicationRecorder) -> CampaignLog | None:
    """Return the fast reader for this store, or None where the audit's own scan must do."""
    if isinstance(recorder, SQLiteApplicationRecorder):
        return SqliteCampaignLog(recorder)
    from eventsourcing.postgres import (  # noqa: PLC0415 - psycopg loads only when needed
        PostgresApplicationRecorder,
    )

    if isinstance(recorder, PostgresApplicationRecorder):
        return PostgresCampaignLog(recorder)
    return None
