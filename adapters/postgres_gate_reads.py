"""The guardrails' reads on PostgreSQL: three queries in one round trip (a psycopg pipeline).

Through the library's recorder and the read model the gates' three reads cost three round
trips and three checkouts of a pooled connection per contact; a lane waits for them before
every intent, so at zero pacing they were a fifth of the time a PostgreSQL lane spent
(bench/runner_throughput.py). Here one pooled connection sends all three at once and reads
the answers after one sync. The pipeline's one sync makes the three one implicit
transaction; under READ COMMITTED each still reads a fresh snapshot, so an opt-out recorded
meanwhile is seen, which only errs on the side of not sending. A lost connection is retried
as the library retries its own reads.

Given the runtime's connections on the event loop (adapters/postgres_on_loop.py), the same
pipeline is also awaited there (`read_on_loop`), with no hop to a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    InterfaceError,
    Notification,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg.sql import SQL, Identifier, Literal

from adapters import contacts_sql as q
from adapters.postgres_on_loop import LoopConnections
from app.gate_reads import GateRead
from domain.contacts import ChatId
from domain.session import SessionName


class PostgresGateReads:
    """The gates' reads in one pipeline on one of the library's pooled connections."""

    local = False  # a database server: read off the event loop

    def __init__(
        self, recorder: PostgresApplicationRecorder, loop: LoopConnections | None = None
    ) -> None:
        self._datastore = recorder.datastore
        self._loop = loop
        events = Identifier(recorder.datastore.schema, recorder.events_table_name)
        contacts = Identifier(recorder.datastore.schema, q.CONTACTS_TABLE)
        # Statements as text, the topics written in: psycopg caches the parsing of a text
        # query, never of a composed one, and dumps a list parameter at every call (together
        # a fifth of a lane's time on the loop, measured with py-spy).
        self._new_of = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {events} WHERE notification_id > %s AND topic = ANY({topics}) "
            "ORDER BY notification_id LIMIT %s"
        )
        self._events = events
        self._new: dict[tuple[str, ...], str] = {}
        self._opt_out = (
            SQL(
                "SELECT originator_id, originator_version, topic, state FROM {events} "
                "WHERE originator_id = %s ORDER BY originator_version DESC LIMIT 1"
            )
            .format(events=events)
            .as_string(None)
        )
        self._last_sent = (
            SQL(q.placeholders(q.LAST_SENT, "%s")).format(contacts=contacts).as_string(None)
        )

    def _new_in(self, topics: Sequence[str]) -> str:
        """Return the statement reading the log after a position, in `topics`."""
        key = tuple(topics)
        found = self._new.get(key)
        if found is None:
            composed = self._new_of.format(events=self._events, topics=Literal(list(key)))
            found = self._new[key] = composed.as_string(None)
        return found

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
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
        """Return the log after `after`, the opt-out record's last event and the last message."""
        with self._datastore.get_connection() as conn:
            with conn.pipeline():
                new = conn.execute(self._new_in(topics), (after, limit), prepare=True)
                last = conn.execute(self._opt_out, (opt_out_id,), prepare=True)
                sent = (
                    None
                    if chat_id is None
                    else conn.execute(self._last_sent, (session, chat_id), prepare=True)
                )
            rows: list[Any] = new.fetchall()
            found: Any = last.fetchone()
            message: Any = None if sent is None else sent.fetchone()
        return _answer(rows, found, message, chat_id)

    def on_this_loop(self) -> bool:
        """Return True when the runtime's connections are open on the running loop."""
        return self._loop is not None and self._loop.on_this_loop()

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
        """Return what `read` returns, the same pipeline awaited on the event loop."""
        loop = self._loop
        if loop is None:
            raise InterfaceError("no connections on the event loop")

        async def attempt() -> GateRead:
            assert loop is not None  # noqa: S101 - checked above
            async with loop.connection() as conn:
                async with conn.pipeline():
                    new = await conn.execute(self._new_in(topics), (after, limit), prepare=True)
                    last = await conn.execute(self._opt_out, (opt_out_id,), prepare=True)
                    sent = (
                        None
                        if chat_id is None
                        else await conn.execute(self._last_sent, (session, chat_id), prepare=True)
                    )
                rows: list[Any] = await new.fetchall()
                found: Any = await last.fetchone()
                message: Any = None if sent is None else await sent.fetchone()
            return _answer(rows, found, message, chat_id)

        read: GateRead = await loop.retried(attempt)
        return read


def _answer(rows: list[Any], found: Any, message: Any, chat_id: ChatId | None) -> GateRead:
    return GateRead(
        new=[_notification(row) for row in rows],
        opt_out=None if found is None else _stored(found),
        last_sent=(
            None
            if message is None
            else (message["campaign_id"], message["attempted_at"].astimezone(UTC))
        ),
        chat_asked=chat_id is not None,
    )


def _notification(row: Any) -> Notification:
    return Notification(
        id=row["notification_id"],
        originator_id=row["originator_id"],
        originator_version=row["originator_version"],
        topic=row["topic"],
        state=bytes(row["state"]),
    )


def _stored(row: Any) -> StoredEvent:
    return StoredEvent(
        originator_id=row["originator_id"],
        originator_version=row["originator_version"],
        topic=row["topic"],
        state=bytes(row["state"]),
    )
