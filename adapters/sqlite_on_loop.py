"""SQLite's group-commit writes on the event loop; only the COMMIT, which waits on the disk, off it.

On the library's path each batch is a hop to a worker thread that holds the interpreter's
lock for the batch's statements and hands it back and forth with the loop around every call
into SQLite. Measured at 500 numbers (bench/lanes.py), the worker threads spent 30 % of a core
and switched context 4,800 times a second. Here the statements run on the loop, where they
take microseconds: in WAL mode SQLite writes a transaction's pages at its commit (the page
cache is kept from spilling them earlier). Only the COMMIT, with its fsync (and now and then
a WAL checkpoint), goes to a thread of the writer's own, which holds the interpreter's lock
only to start and to return. Its own: a COMMIT holds the store's write lock, so it must never
queue behind the other work of the shared worker threads, some of which wait for that lock.

The loop does not wait for another writer either. In this process the library's writers take
turns on its pool's writer lock; the batch takes that lock too, and when it is held the whole
batch waits for it in the writer's thread, so the library's writers (the API's commands, the
webhooks) get their turns. BEGIN IMMEDIATE then takes SQLite's write lock at once or fails (no
busy timeout on the loop); when another process writes, the batch waits for it in the thread.
Writing everything on the loop, COMMIT included, was measured and not kept: each fsync stopped
the loop, and p99 lateness at 500 numbers rose from 31 to 61 ms.

The statements are the library's (SQLiteApplicationRecorder's insert: one INSERT per event,
its rowid the notification id, taken under the write lock, so in commit order). The snapshots
due go in the same transaction. Errors are raised as the library's (IntegrityError on a version
taken: then nothing was recorded). A caller cancelled while its COMMIT runs is not told how it
ended: the COMMIT goes on, and the lanes reload what they hold before they send again.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, TypeVar
from uuid import UUID

from eventsourcing.persistence import (
    InterfaceError,
    OperationalError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.sqlite import SQLiteAggregateRecorder, SQLiteApplicationRecorder

from adapters.store_errors import library_error

T = TypeVar("T")
Row = tuple[str, int, str, bytes]

_BUSY: Final = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _row(event: StoredEvent) -> Row:
    # As the library's insert: UUID ids as hex text, text ids as they are.
    originator_id = event.originator_id
    identifier = originator_id.hex if isinstance(originator_id, UUID) else str(originator_id)
    return (identifier, event.originator_version, event.topic, event.state)


def _position(cursor: sqlite3.Cursor) -> int:
    """Return the notification id the last insert was given (its rowid)."""
    if cursor.lastrowid is None:
        raise ProgrammingError("an event was inserted without a notification id")
    return cursor.lastrowid


class SQLiteLoopWriter:
    """The group commit's writes on the event loop (app/committer.py's `LoopWriter`)."""

    def __init__(
        self,
        path: str,
        recorder: SQLiteApplicationRecorder,
        snapshots: SQLiteAggregateRecorder | None,
        *,
        writers: threading.Lock,
        lock_timeout_seconds: float,
    ) -> None:
        """`writers`: the lock the library's writers in this process take turns on."""
        self._path = path
        self._insert_events = recorder.insert_events_statement
        self._insert_snapshots = None if snapshots is None else snapshots.insert_events_statement
        self._writers = writers
        self._lock_timeout = lock_timeout_seconds
        self._connection: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # The thread's work on the connection (a COMMIT, a write waiting for a lock): the next
        # write waits for it, even when the caller that started it was cancelled.
        self._in_thread: asyncio.Future[Any] | None = None

    def open(self) -> bool:
        """Connect, on the running loop; return False (and stay closed) unless the file is in WAL.

        Outside WAL mode a COMMIT would wait for readers and the statements could write the
        database file from the loop: the library's path is kept then.
        """
        # As the library connects (uri=True), but without a busy timeout: on the loop a write
        # takes the lock at once or waits in the thread. check_same_thread=False: the COMMIT
        # runs in the writer's thread, never while the loop uses the connection.
        connection = sqlite3.connect(
            self._path, uri=True, timeout=0, isolation_level=None, check_same_thread=False
        )
        if str(connection.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
            connection.close()
            return False
        # The transaction's pages stay in memory until the COMMIT writes them, in the thread.
        connection.execute("PRAGMA cache_spill = OFF")
        self._connection = connection
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-commit")
        self._loop = asyncio.get_running_loop()
        return True

    async def close(self) -> None:
        """Wait for the thread's work, then disconnect there (the last close checkpoints)."""
        await self._settled()
        connection, executor = self._connection, self._executor
        self._connection, self._loop = None, None
        if connection is not None and executor is not None:
            await asyncio.get_running_loop().run_in_executor(executor, connection.close)
        if executor is not None:
            executor.shutdown(wait=False)
        self._executor = None

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
        await self._settled()
        rows = [_row(event) for event in events]
        snapshot_rows = [] if self._insert_snapshots is None else [_row(s) for s in snapshots]
        connection = self._connection
        if connection is None:
            raise InterfaceError("the group commit's SQLite connection is closed")
        if not self._writers.acquire(blocking=False):
            # A writer of the library's has its turn: wait for it in the thread.
            return await self._in_a_thread(self._write_waiting, connection, rows, snapshot_rows)
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            self._writers.release()
            if error.sqlite_errorcode & 0xFF not in _BUSY:
                raise library_error(error, sqlite3) from error
            # Another process writes: wait for it in the thread.
            return await self._in_a_thread(self._write_waiting, connection, rows, snapshot_rows)
        positions = self._statements(connection, rows, snapshot_rows)
        await self._in_a_thread(self._commit, connection)
        return positions

    def _statements(
        self, connection: sqlite3.Connection, rows: list[Row], snapshot_rows: list[Row]
    ) -> list[int]:
        """Run the inserts in the open transaction; return the events' notification ids.

        On a failure the transaction is rolled back and the other writers get their turn.
        """
        positions: list[int] = []
        try:
            cursor = connection.cursor()
            for row in rows:
                cursor.execute(self._insert_events, row)
                positions.append(_position(cursor))
            if self._insert_snapshots is not None and snapshot_rows:
                cursor.executemany(self._insert_snapshots, snapshot_rows)
        except BaseException as error:
            self._abandon(connection)
            self._writers.release()
            if isinstance(error, sqlite3.Error):
                raise library_error(error, sqlite3) from error
            raise
        return positions

    def _commit(self, connection: sqlite3.Connection) -> None:
        """COMMIT (in the thread), then let the other writers have their turn."""
        try:
            connection.execute("COMMIT")
        except sqlite3.Error as error:
            self._abandon(connection)
            raise library_error(error, sqlite3) from error
        finally:
            self._writers.release()

    def _abandon(self, connection: sqlite3.Connection) -> None:
        """Roll back; if even that fails, close, so that no lock is held (the library writes on)."""
        try:
            if connection.in_transaction:
                connection.rollback()
        except sqlite3.Error:
            connection.close()
            self._connection = None

    def _write_waiting(
        self, connection: sqlite3.Connection, rows: list[Row], snapshot_rows: list[Row]
    ) -> list[int]:
        """Write all of it in the thread, waiting up to the library's lock timeout for the locks."""
        if not self._writers.acquire(timeout=self._lock_timeout):
            raise OperationalError("timed out waiting for the store's other writer")
        try:
            connection.execute(f"PRAGMA busy_timeout = {int(self._lock_timeout * 1000)}")
            try:
                connection.execute("BEGIN IMMEDIATE")
            finally:
                connection.execute("PRAGMA busy_timeout = 0")
        except sqlite3.Error as error:
            self._abandon(connection)
            self._writers.release()
            raise library_error(error, sqlite3) from error
        positions = self._statements(connection, rows, snapshot_rows)
        self._commit(connection)
        return positions

    async def _in_a_thread(self, func: Callable[..., T], *args: object) -> T:
        # Shielded: a cancelled caller must not let the next write use the connection while
        # the thread still does.
        loop = asyncio.get_running_loop()
        work = loop.run_in_executor(self._executor, func, *args)
        self._in_thread = work
        return await asyncio.shield(work)

    async def _settled(self) -> None:
        """Wait until the thread is done with the connection (its caller was told, or cancelled)."""
        while (pending := self._in_thread) is not None and not pending.done():
            await asyncio.wait([pending])
            if not pending.cancelled():
                pending.exception()  # its caller may be gone: nobody else would read it
