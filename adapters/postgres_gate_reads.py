"""The guardrails' reads on PostgreSQL: their queries in one round trip.

Through the library's recorder and the read model the gates' three reads cost three round
trips and three checkouts of a pooled connection per contact; a lane waits for them before
every intent, so at zero pacing they were a fifth of the time a PostgreSQL lane spent
(bench/runner_throughput.py). Here the log's new part and the opt-out record's last event are
one statement (one snapshot); with a recontact rule the number's last message to the chat
follows in the same pipeline, read after one sync. Under READ COMMITTED that second statement
reads a fresh snapshot, so a message recorded meanwhile is seen, which only errs
on the side of not sending. A lost connection is retried as the library retries its own reads.

Given the runtime's connections on the event loop (adapters/postgres_on_loop.py), the same
statements are also awaited there (`read_on_loop`), with no hop to a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from operator import itemgetter
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
    """The gates' reads in one statement (two with a recontact rule) on one pooled connection."""

    local = False  # a database server: read off the event loop

    def __init__(
        self, recorder: PostgresApplicationRecorder, loop: LoopConnections | None = None
    ) -> None:
        self._datastore = recorder.datastore
        self._loop = loop
        self._events = Identifier(recorder.datastore.schema, recorder.events_table_name)
        contacts = Identifier(recorder.datastore.schema, q.CONTACTS_TABLE)
        # Statements as text, the topics written in: psycopg caches the parsing of a text
        # query, never of a composed one, and dumps a list parameter at every call (together
        # a fifth of a lane's time on the loop, measured with py-spy). The log's new part and
        # the opt-out record's last event are one statement, each row tagged with its part:
        # half the CPU of the two in a pipeline (measured: 72-80 vs 143-158 us a read).
        self._log_and_opt_out: dict[tuple[str, ...], str] = {}
        self._last_sent = (
            SQL(q.placeholders(q.LAST_SENT, "%s")).format(contacts=contacts).as_string(None)
        )

    def _statement(self, topics: Sequence[str]) -> str:
        """Return the statement reading the log after a position (in `topics`) and an opt-out."""
        key = tuple(topics)
        found = self._log_and_opt_out.get(key)
        if found is None:
            composed = SQL(
                "(SELECT notification_id, originator_id, originator_version, topic, state, "
                "0 AS part FROM {events} WHERE notification_id > %s AND topic = ANY({topics}) "
                "ORDER BY notification_id LIMIT %s) "
                "UNION ALL "
                "(SELECT notification_id, originator_id, originator_version, topic, state, "
                "1 AS part FROM {events} WHERE originator_id = %s "
                "ORDER BY originator_version DESC LIMIT 1)"
            ).format(events=self._events, topics=Literal(list(key)))
            found = self._log_and_opt_out[key] = composed.as_string(None)
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
        statement, values = self._statement(topics), (after, limit, opt_out_id)
        message: Any = None
        with self._datastore.get_connection() as conn:
            if chat_id is None:
                rows: list[Any] = conn.execute(statement, values, prepare=True).fetchall()
            else:
                with conn.pipeline():
                    both = conn.execute(statement, values, prepare=True)
                    sent = conn.execute(self._last_sent, (session, chat_id), prepare=True)
                rows = both.fetchall()
                message = sent.fetchone()
        return _answer(rows, message, chat_id)

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
        """Return what `read` returns, the same statements awaited on the event loop."""
        loop = self._loop
        if loop is None:
            raise InterfaceError("no connections on the event loop")
        statement, values = self._statement(topics), (after, limit, opt_out_id)

        async def attempt() -> GateRead:
            assert loop is not None  # noqa: S101 - checked above
            message: Any = None
            async with loop.connection() as conn:
                if chat_id is None:
                    found = await conn.execute(statement, values, prepare=True)
                    rows: list[Any] = await found.fetchall()
                else:
                    async with conn.pipeline():
                        both = await conn.execute(statement, values, prepare=True)
                        sent = await conn.execute(self._last_sent, (session, chat_id), prepare=True)
                    rows = await both.fetchall()
                    message = await sent.fetchone()
            return _answer(rows, message, chat_id)

        read: GateRead = await loop.retried(attempt)
        return read


def _answer(rows: list[Any], message: Any, chat_id: ChatId | None) -> GateRead:
    """Return the answer of the log-and-opt-out statement's rows and the last message's row."""
    new = sorted((row for row in rows if row["part"] == 0), key=itemgetter("notification_id"))
    opt_out = [row for row in rows if row["part"] == 1]
    return GateRead(
        new=[_notification(row) for row in new],
        opt_out=_stored(opt_out[0]) if opt_out else None,
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
