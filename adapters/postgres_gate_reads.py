"""The guardrails' reads on PostgreSQL: their queries in one round trip.

Through the library's recorder and the read model the gates' three reads cost three round
trips and three checkouts of a pooled connection per contact; a lane waits for them before
every intent, so at zero pacing they were a fifth of the time a PostgreSQL lane spent
(bench/runner_throughput.py). In a worker thread (`read`) the log's new part and the opt-out
record's last event are one statement (one snapshot); with a recontact rule the number's last
message to the chat follows in the same pipeline, read after one sync. Under READ COMMITTED
that second statement reads a fresh snapshot, so a message recorded meanwhile is seen, which
only errs on the side of not sending. A lost connection is retried as the library retries its
own reads.

Given the runtime's connections on the event loop (adapters/postgres_on_loop.py), the reads are
awaited there (`read_on_loop`), with no hop to a worker thread, and the reads the lanes ask for
while one is under way go together in the next: one statement for them all (the log's new part
once, each contact's opt-out record and last message beside it), as the group commit batches
writes. There the last message is read in the same snapshot as the log; each read starts after
it was asked for, so none is older than it would be alone.
"""

from __future__ import annotations

import asyncio
import bisect
from asyncio import FIRST_COMPLETED
from collections.abc import Sequence
from dataclasses import dataclass, field
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

# The parts of the batch statement's rows (its `part` column).
_LOG, _OPT_OUT, _LAST_SENT = 0, 1, 2


@dataclass
class _Asked:
    """One lane's read, waiting for a batch to answer it."""

    after: int
    topics: tuple[str, ...]
    limit: int
    opt_out_id: UUID
    session: SessionName
    chat_id: ChatId | None
    answer: asyncio.Future[GateRead] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class PostgresGateReads:
    """The gates' reads, one statement for every lane reading at the same moment on the loop.

    In a thread: one statement (two with a recontact rule) on one pooled connection.
    """

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
        self._contacts = contacts
        self._id_type = Identifier(recorder.datastore.originator_id_type)
        self._batched: dict[tuple[str, ...], str] = {}
        # The reads asked for on the loop and not yet under way, and the one under way (done
        # when it is answered): while it is, the next reads wait and then go together.
        self._waiting: list[_Asked] = []
        self._reading: asyncio.Future[None] | None = None

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

    def _batch_statement(self, topics: tuple[str, ...]) -> str:
        """Return the statement reading the log's new part and every asked contact's records.

        Its parameters: the position, the page's size, the opt-out records' ids, then the
        sessions and chats of the last messages asked for. Rows are tagged with their part
        (0 the log, 1 an opt-out record's last event, 2 a last message with its ask's
        ordinal among those asking about a chat).
        """
        found = self._batched.get(topics)
        if found is None:
            composed = SQL(
                "(SELECT notification_id, originator_id, originator_version, topic, state, "
                "0 AS part, NULL::bigint AS asked, NULL::uuid AS campaign_id, "
                "NULL::timestamptz AS attempted_at FROM {events} "
                "WHERE notification_id > %s AND topic = ANY({topics}) "
                "ORDER BY notification_id LIMIT %s) "
                "UNION ALL "
                "(SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, "
                "e.state, 1, NULL, NULL, NULL FROM unnest(%s::{id_type}[]) AS ids(id) "
                "CROSS JOIN LATERAL (SELECT * FROM {events} WHERE originator_id = ids.id "
                "ORDER BY originator_version DESC LIMIT 1) AS e) "
                "UNION ALL "
                "(SELECT NULL, NULL, NULL, NULL, NULL, 2, chats.asked, m.campaign_id, "
                "m.attempted_at FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY "
                "AS chats(session, chat_id, asked) CROSS JOIN LATERAL (SELECT campaign_id, "
                "attempted_at FROM {contacts} WHERE session = chats.session "
                "AND chat_id = chats.chat_id AND outcome = 'sent' "
                "ORDER BY attempted_at DESC LIMIT 1) AS m)"
            ).format(
                events=self._events,
                topics=Literal(list(topics)),
                id_type=self._id_type,
                contacts=self._contacts,
            )
            found = self._batched[topics] = composed.as_string(None)
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
        """Return what `read` returns, read on the event loop with the other lanes' reads.

        The first to find no read under way reads for every lane waiting (itself among
        them); the others wait for that read's answer, or for it to end and then lead the
        next. A lead cancelled midway leaves the others' reads to the next lead.
        """
        if self._loop is None:
            raise InterfaceError("no connections on the event loop")
        asked = _Asked(after, tuple(topics), limit, opt_out_id, session, chat_id)
        self._waiting.append(asked)
        while not asked.answer.done():
            reading = self._reading
            if reading is not None:
                # Woken when answered, or when that read ends (to read next). (`wait`, as a
                # cancelled waiter must not cancel the read it waits for.)
                try:
                    await asyncio.wait((reading, asked.answer), return_when=FIRST_COMPLETED)
                except asyncio.CancelledError:
                    asked.answer.cancel()  # no batch reads for it now
                    raise
                continue
            batch, self._waiting = self._waiting, []
            self._reading = asyncio.get_running_loop().create_future()
            try:
                await self._read_batch(batch)
            except asyncio.CancelledError:
                asked.answer.cancel()
                self._waiting[:0] = [a for a in batch if not a.answer.done()]
                raise
            except Exception as error:  # the store failed them all, as each would have alone
                for other in batch:
                    if other is not asked and not other.answer.done():
                        other.answer.set_exception(error)
                raise
            finally:
                reading, self._reading = self._reading, None
                reading.set_result(None)
        return asked.answer.result()

    async def _read_batch(self, batch: list[_Asked]) -> None:
        """Answer every read of `batch`: one statement for each set of topics and page size."""
        groups: dict[tuple[tuple[str, ...], int], list[_Asked]] = {}
        for asked in batch:
            if not asked.answer.done():  # a read cancelled while it waited is not read
                groups.setdefault((asked.topics, asked.limit), []).append(asked)
        for (topics, limit), group in groups.items():
            rows = await self._rows(topics, limit, group)
            for asked, answered in zip(group, _answers(rows, group, limit), strict=True):
                if asked.answer.done():  # cancelled while it waited
                    continue
                # None: the page was full before its position, so it is read alone.
                answer = answered or _answer(*await self._alone(asked), asked.chat_id)
                if not asked.answer.done():  # unless cancelled meanwhile
                    asked.answer.set_result(answer)

    async def _rows(self, topics: tuple[str, ...], limit: int, group: list[_Asked]) -> list[Any]:
        """Return the rows of one statement reading for all of `group` (retried if lost)."""
        loop = self._loop
        if loop is None:
            raise InterfaceError("no connections on the event loop")
        chats = [a for a in group if a.chat_id is not None]
        values = (
            min(a.after for a in group),
            limit,
            [a.opt_out_id for a in group],
            [str(a.session) for a in chats],
            [str(a.chat_id) for a in chats],
        )
        statement = self._batch_statement(topics)

        async def attempt() -> list[Any]:
            async with loop.connection() as conn:
                found = await conn.execute(statement, values, prepare=True)
                return await found.fetchall()

        rows: list[Any] = await loop.retried(attempt)
        return rows

    async def _alone(self, asked: _Asked) -> tuple[list[Any], Any]:
        """Return one read's rows and last message as `read` reads them, on the loop."""
        loop = self._loop
        if loop is None:
            raise InterfaceError("no connections on the event loop")
        statement = self._statement(asked.topics)
        values = (asked.after, asked.limit, asked.opt_out_id)

        async def attempt() -> tuple[list[Any], Any]:
            async with loop.connection() as conn:
                if asked.chat_id is None:
                    found = await conn.execute(statement, values, prepare=True)
                    return await found.fetchall(), None
                async with conn.pipeline():
                    found = await conn.execute(statement, values, prepare=True)
                    sent = await conn.execute(
                        self._last_sent, (asked.session, asked.chat_id), prepare=True
                    )
                return await found.fetchall(), await sent.fetchone()

        alone: tuple[list[Any], Any] = await loop.retried(attempt)
        return alone


def _answers(rows: list[Any], group: list[_Asked], limit: int) -> list[GateRead | None]:
    """Return each read's answer from one batch's rows (None: read it alone, see below).

    The log's part was read from the lowest position asked for. When it fills its page, a
    read from a later position cannot tell whether more follows its share: it is read again
    alone.
    """
    logged = [
        _notification(row)
        for row in sorted(
            (row for row in rows if row["part"] == _LOG), key=itemgetter("notification_id")
        )
    ]
    positions = [n.id for n in logged]
    full = len(logged) >= limit
    lowest = min(a.after for a in group)
    opt_outs = {str(row["originator_id"]): row for row in rows if row["part"] == _OPT_OUT}
    last_sent = {row["asked"]: row for row in rows if row["part"] == _LAST_SENT}
    answers: list[GateRead | None] = []
    chat_ordinal = 0
    for asked in group:
        message: Any = None
        if asked.chat_id is not None:
            chat_ordinal += 1  # WITH ORDINALITY counts from 1
            message = last_sent.get(chat_ordinal)
        if full and asked.after > lowest:
            answers.append(None)
            continue
        answers.append(
            _gate_read(
                logged[bisect.bisect_right(positions, asked.after) :],
                opt_outs.get(str(asked.opt_out_id)),
                message,
                asked.chat_id,
            )
        )
    return answers


def _answer(rows: list[Any], message: Any, chat_id: ChatId | None) -> GateRead:
    """Return the answer of the log-and-opt-out statement's rows and the last message's row."""
    new = sorted((row for row in rows if row["part"] == _LOG), key=itemgetter("notification_id"))
    opt_out = [row for row in rows if row["part"] == _OPT_OUT]
    return _gate_read(
        [_notification(row) for row in new], opt_out[0] if opt_out else None, message, chat_id
    )


def _gate_read(
    new: list[Notification], opt_out: Any, message: Any, chat_id: ChatId | None
) -> GateRead:
    return GateRead(
        new=new,
        opt_out=None if opt_out is None else _stored(opt_out),
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
