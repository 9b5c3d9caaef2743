"""SQLite's group-commit writes on the event loop; only the COMMIT, which waits on the disk, off it.

On the library's path each batch is a hop to a worker thread that holds the interpreter's
lock for the batch's statements and hands it back and forth with the loop around every call
into SQLite. Measured at 500 numbers (bench/lanes.py), the worker threads spent 30 % of a core
and switched context 4,800 times a second. Here the statements run on the loop, where they
take microseconds: in WAL mode SQLite writes nothing to disk before the commit. Only the
COMMIT, with its fsync (and now and then a WAL checkpoint), goes to a thread, which holds the
lock only to start and to return.

The loop never waits for the disk, nor for another writer. BEGIN IMMEDIATE takes the write
lock at once or fails (no busy timeout on the loop). When another connection is writing (the
library's, for the API's commands), the whole batch waits for it in a thread instead. Writing
everything on the loop, COMMIT included, was measured and not kept: each fsync stopped the loop,
and p99 lateness at 500 numbers rose from 31 to 61 ms.

The statements are the library's (SQLiteApplicationRecorder's insert: one INSERT per event,
its rowid the notification id, taken under the write lock, so in commit order). The snapshots
due go in the same transaction. Errors are raised as the library's (IntegrityError on a version
taken: then nothing was recorded).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar
from uuid import UUID

from eventsourcing.persistence import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.sqlite import SQLiteAggregateRecorder, SQLiteApplicationRecorder

from app.blocking import off_loop

T = TypeVar("T")
Row = tuple[str, int, str, bytes]

# As the library maps sqlite3's errors to its own (eventsourcing.sqlite.SQLiteTransaction).
_ERRORS: Final[tuple[tuple[type[sqlite3.Error], type[PersistenceError]], ...]] = (
    (sqlite3.InterfaceError, InterfaceError),
    (sqlite3.DataError, DataError),
    (sqlite3.OperationalError, OperationalError),
    (sqlite3.IntegrityError, IntegrityError),
    (sqlite3.InternalError, InternalError),
    (sqlite3.ProgrammingError, ProgrammingError),
    (sqlite3.NotSupportedError, NotSupportedError),
    (sqlite3.DatabaseError, DatabaseError),
)


def library_error(error: sqlite3.Error) -> PersistenceError:
    """Return sqlite3's `error` as the library's persistence error of the same kind."""
    for raised, ours in _ERRORS:
        if isinstance(error, raised):
            return ours(error)
    return PersistenceError(error)


def _row(event: StoredEvent) -> Row:
    # As the library's insert: UUID ids as hex text, text ids as they are.
    originator_id = event.originator_id
    identifier = originator_id.hex if isinstance(originator_id, UUID) else str(originator_id)
    return (identifier, event.originator_version, event.topic, event.state)


class SQLiteLoopWriter:
    """The group commit's writes on the event loop (app/committer.py's `LoopWriter`)."""

    def __init__(
        self,
        path: str,
        recorder: SQLiteApplicationRecorder,
        snapshots: SQLiteAggregateRecorder | None,
        *,
        lock_timeout_seconds: float,
    ) -> None:
        self._path = path
        self._insert_events = recorder.insert_events_statement
        self._insert_snapshots = None if snapshots is None else snapshots.insert_events_statement
        self._lock_timeout_ms = int(lock_timeout_seconds * 1000)
        self._connection: sqlite3.Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # The thread that holds the connection (a COMMIT, a write waiting for the lock): the
        # next write waits for it, even when the one that started it was cancelled.
        self._in_thread: asyncio.Future[Any] | None = None

    def open(self) -> None:
        """Connect, on the running loop: writes go through here on this loop from now on."""
        # No busy timeout: on the loop a write takes the lock at once or waits in a thread.
        # check_same_thread=False: the COMMIT runs in a worker thread, one at a time.
        self._connection = sqlite3.connect(
            self._path, timeout=0, isolation_level=None, check_same_thread=False
        )
        self._loop = asyncio.get_running_loop()

    async def close(self) -> None:
        """Wait for a COMMIT in flight, then disconnect (what was not committed is rolled back)."""
        await self._settled()
        if self._connection is not None:
            self._connection.close()
        self._connection = None
        self._loop = None

    def on_this_loop(self) -> bool:
        """Return True when open on the running loop."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            return False
        return self._connection is not None and running is self._loop

    async def insert(
        self, events: Sequence[StoredEvent], snapshots: Sequence[StoredEvent]
    ) -> Sequence[int]:
        """Record `events` and `snapshots` in one transaction; return the events' positions."""
        if not events:
            return []
        connection = self._connection
        assert connection is not None  # noqa: S101 - on_this_loop said so
        await self._settled()
        rows = [_row(event) for event in events]
        snapshot_rows = [] if self._insert_snapshots is None else [_row(s) for s in snapshots]
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise library_error(error) from error
            # Another connection writes: wait for it off the loop, and write there.
            return await self._in_a_thread(self._write_waiting, connection, rows, snapshot_rows)
        try:
            positions = self._statements(connection, rows, snapshot_rows)
        except BaseException:
            connection.rollback()
            raise
        await self._in_a_thread(self._commit, connection)
        return positions

    def _statements(
        self, connection: sqlite3.Connection, rows: list[Row], snapshot_rows: list[Row]
    ) -> list[int]:
        """Run the inserts in the open transaction; return the events' notification ids."""
        positions: list[int] = []
        try:
            cursor = connection.cursor()
            for row in rows:
                cursor.execute(self._insert_events, row)
                positions.append(int(cursor.lastrowid or 0))
            if self._insert_snapshots is not None and snapshot_rows:
                cursor.executemany(self._insert_snapshots, snapshot_rows)
        except sqlite3.Error as error:
            raise library_error(error) from error
        return positions

    @staticmethod
    def _commit(connection: sqlite3.Connection) -> None:
        try:
            connection.execute("COMMIT")
        except sqlite3.Error as error:
            if connection.in_transaction:
                connection.rollback()
            raise library_error(error) from error

    def _write_waiting(
        self, connection: sqlite3.Connection, rows: list[Row], snapshot_rows: list[Row]
    ) -> list[int]:
        """Write all of it in a thread, waiting up to the library's lock timeout for the lock."""
        try:
            connection.execute(f"PRAGMA busy_timeout = {self._lock_timeout_ms}")
            try:
                connection.execute("BEGIN IMMEDIATE")
            finally:
                connection.execute("PRAGMA busy_timeout = 0")
        except sqlite3.Error as error:
            raise library_error(error) from error
        try:
            positions = self._statements(connection, rows, snapshot_rows)
        except BaseException:
            connection.rollback()
            raise
        self._commit(connection)
        return positions

    async def _in_a_thread(self, func: Callable[..., T], *args: object) -> T:
        # Shielded: a cancelled caller must not let the next write use the connection while
        # the thread still does.
        task = asyncio.ensure_future(off_loop(func, *args))
        self._in_thread = task
        return await asyncio.shield(task)

    async def _settled(self) -> None:
        """Wait until no thread uses the connection (its outcome was told to its caller)."""
        pending = self._in_thread
        if pending is not None and not pending.done():
            await asyncio.wait([pending])
            if not pending.cancelled():
                pending.exception()  # its caller was cancelled: nobody else would read it
