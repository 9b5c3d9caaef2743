"""The guardrails' reads on a SQLite store: one read transaction of its own per contact.

The library's read transactions pass through its connection pool, about 0.15 ms each here;
the gates need three reads per contact. This reader keeps a read-only connection per worker
thread and answers all three in one transaction (one consistent snapshot), in tens of
microseconds. It reads only: the library and the read model write the same file.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent

from adapters.contacts_sql import CONTACTS_TABLE, LAST_SENT, from_micros
from app.gate_reads import GateRead
from domain.contacts import ChatId
from domain.session import SessionName

_BUSY_TIMEOUT_SECONDS: Final = 5.0


class SQLiteGateReads:
    """The gates' reads in one transaction of a read-only connection of this thread."""

    local = True  # a file on this machine, read in tens of microseconds

    def __init__(
        self,
        path: Path,
        events_table: str,
        convert_id: Callable[[str], UUID | str],
        busy_timeout: float = _BUSY_TIMEOUT_SECONDS,
    ) -> None:
        self._uri = f"{path.resolve().as_uri()}?mode=ro"
        self.busy_timeout = busy_timeout  # the store's SQLITE_LOCK_TIMEOUT, as the library's
        self._events = events_table
        self._convert = convert_id
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        found: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if found is None:
            # Used by its thread alone; closed by `close`, from whichever thread that is.
            found = sqlite3.connect(
                self._uri,
                uri=True,
                isolation_level=None,
                check_same_thread=False,
                timeout=self.busy_timeout,
            )
            found.execute("PRAGMA query_only = ON")
            self._local.connection = found
            with self._lock:
                self._opened.append(found)
        return found

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
        connection = self._connection()
        marks = ",".join("?" * len(topics))
        connection.execute("BEGIN")
        try:
            rows = connection.execute(
                "SELECT rowid, originator_id, originator_version, topic, state "  # noqa: S608 - fixed names
                f"FROM {self._events} WHERE rowid > ? AND topic IN ({marks}) "
                "ORDER BY rowid LIMIT ?",
                (after, *topics, limit),
            ).fetchall()
            last = connection.execute(
                "SELECT originator_id, originator_version, topic, state "  # noqa: S608 - fixed names
                f"FROM {self._events} WHERE originator_id = ? "
                "ORDER BY originator_version DESC LIMIT 1",
                (opt_out_id.hex,),
            ).fetchone()
            sent = None
            if chat_id is not None:
                sent = connection.execute(
                    LAST_SENT.format(contacts=CONTACTS_TABLE), (session, chat_id)
                ).fetchone()
        finally:
            connection.execute("ROLLBACK")
        return GateRead(
            new=[self._notification(row) for row in rows],
            opt_out=None if last is None else self._stored(last),
            last_sent=None if sent is None else (UUID(str(sent[0])), _time(sent[1])),
            chat_asked=chat_id is not None,
        )

    def _notification(self, row: Any) -> Notification:
        return Notification(
            id=row[0],
            originator_id=self._convert(row[1]),
            originator_version=row[2],
            topic=row[3],
            state=row[4],
        )

    def _stored(self, row: Any) -> StoredEvent:
        return StoredEvent(
            originator_id=self._convert(row[0]),
            originator_version=row[1],
            topic=row[2],
            state=row[3],
        )

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()


def _time(micros: int) -> datetime:
    return from_micros(int(micros))
