"""PostgreSQL on the event loop: the group commit's writes and the gates' reads, no worker thread.

The library's recorder is synchronous, so each of its writes and reads is a hop to a worker
thread. On this 2-core VM a hop, with the lock handoffs between the loop and the thread, cost
about 0.3 ms of CPU, and a lane makes two or three of them per message: measured with ten
lanes at zero pacing, a PostgreSQL lane cost 1.8 ms of CPU per message where a SQLite one
cost 1.0 (bench/runner_throughput.py). psycopg's async driver makes the same round trips as
awaits on the loop: 0.12 ms of CPU for the gates' pipelined reads instead of 0.43.

The write is the library's own, statement for statement (PostgresApplicationRecorder's
insert_events): the table lock that keeps notification ids in commit order, the notify, the
insert of every event with its notification id returned. The snapshots due with the events go
in the same transaction. Those statements are the body of a function of ours in the store
(created once, its name carrying a digest of its text), so a batch is one statement in one
implicit transaction: sent as five or six in one pipeline, each statement cost the loop about
as much CPU as the whole call (psycopg's execute, measured with py-spy). Where the store's
user may not create a function, the same statements go in one pipeline. Errors are raised as
the library's (IntegrityError on a version taken), and a lost connection is retried as the
library retries its own.

The connections are opened by the runtime on its loop (adapters/bootstrap.py's `running`) and
closed when it stops; elsewhere (a command, a test's own loop) the callers keep to the library's
path.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final, TypeVar
from uuid import UUID

import psycopg
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder
from psycopg import errors as pg_errors
from psycopg.rows import DictRow, dict_row
from psycopg.sql import SQL, Composable, Identifier, Literal
from psycopg.types.composite import register_composite
from psycopg_pool import AsyncConnectionPool

from adapters.store_errors import library_error
from app.ports import Sleeper

# As the library retries its own reads and writes after a lost connection.
_ATTEMPTS: Final = 10
_WAIT_SECONDS: Final = 0.2
# At most this many per process: one for the group commit (it writes one batch at a time),
# the rest for the lanes' reads, each one round trip.
_CONNECTIONS: Final = 4

AsyncConnection = psycopg.AsyncConnection[DictRow]
T = TypeVar("T")

_log = logging.getLogger("waha_campaigns.store")


class LoopConnections:
    """Async connections to the store, opened on one event loop: one kept for the writes.

    The group commit's one connection is its own, so no batch (which every sending lane
    awaits) queues behind the lanes' reads on the others.
    """

    def __init__(
        self, conninfo: str, recorder: PostgresApplicationRecorder, sleeper: Sleeper
    ) -> None:
        self._conninfo = conninfo
        self._datastore = recorder.datastore
        self._sleeper = sleeper
        self._writes: AsyncConnectionPool[AsyncConnection] | None = None
        self._reads: AsyncConnectionPool[AsyncConnection] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def open(self) -> None:
        """Open the pools on the running loop (their connections are made in the background)."""
        if self._loop is not None:
            raise RuntimeError("the store's connections on the event loop are open already")
        self._writes = self._pool(1, 1, "writes")
        self._reads = self._pool(1, _CONNECTIONS - 1, "reads")
        await self._writes.open(wait=False)
        await self._reads.open(wait=False)
        self._loop = asyncio.get_running_loop()

    def _pool(self, least: int, most: int, name: str) -> AsyncConnectionPool[AsyncConnection]:
        datastore = self._datastore
        idle = SQL("SET idle_in_transaction_session_timeout = '{0}ms'").format(
            int(datastore.idle_in_transaction_session_timeout * 1000)
        )

        async def configure(conn: AsyncConnection) -> None:
            await conn.set_autocommit(True)  # as the library's: a transaction only when asked
            await conn.execute(idle)
            for info in datastore.psycopg_type_adapters.values():
                register_composite(info, conn)  # the library's stored-event type

        return AsyncConnectionPool(
            self._conninfo,
            connection_class=psycopg.AsyncConnection[DictRow],
            kwargs={"row_factory": dict_row},
            min_size=least,
            max_size=most,
            configure=configure,
            timeout=float(datastore.pool.timeout),
            name=f"waha-campaigns-{name}",
            open=False,
        )

    async def close(self) -> None:
        """Close the pools (on the loop they were opened on)."""
        pools, self._writes, self._reads, self._loop = (self._writes, self._reads), None, None, None
        for pool in pools:
            if pool is not None:
                await pool.close()

    def on_this_loop(self) -> bool:
        """Return True when the pools are open on the running loop."""
        try:
            return self._loop is not None and self._loop is asyncio.get_running_loop()
        except RuntimeError:  # no running loop
            return False

    @asynccontextmanager
    async def connection(self, *, writes: bool = False) -> AsyncIterator[AsyncConnection]:
        """Lend a connection (the writes' own one if asked); psycopg's errors as the library's."""
        pool = self._writes if writes else self._reads
        if pool is None:
            raise InterfaceError("the store's connections on the event loop are closed")
        try:
            async with pool.connection() as conn:
                yield conn
        except psycopg.Error as error:
            raise library_error(error, psycopg) from error

    async def retried(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Return `await attempt()`, tried again after a lost connection, as the library does."""
        for tries in range(1, _ATTEMPTS + 1):
            try:
                return await attempt()
            except (InterfaceError, OperationalError):
                if tries == _ATTEMPTS or self._loop is None:  # closed: no use trying again
                    raise
                await self._sleeper.sleep(_WAIT_SECONDS)
        raise AssertionError("unreachable")  # pragma: no cover


class PostgresLoopWriter:
    """The group commit's writes on the event loop (app/committer.py's `LoopWriter`)."""

    def __init__(
        self,
        connections: LoopConnections,
        recorder: PostgresApplicationRecorder,
        snapshots: PostgresAggregateRecorder | None,
    ) -> None:
        self._connections = connections
        self._recorder = recorder
        self._snapshots = snapshots
        # The library's statements as text: psycopg caches the parsing of a text query, never
        # of a composed one (measured: an eighth of a lane's time on the loop).
        self._lock = [_text(statement) for statement in recorder.lock_table_statements]
        self._notify = SQL("NOTIFY {0}").format(Identifier(recorder.channel_name)).as_string(None)
        self._insert_events = _binary(_text(recorder.insert_events_statement))
        self._insert_snapshots = (
            None if snapshots is None else _binary(_text(snapshots.insert_events_statement))
        )
        self._function = _InsertFunction(recorder, snapshots)
        # None until the first write asks the store whether the function is there (or made).
        self._by_function: bool | None = None
        self._select_recorded = (
            SQL(
                "SELECT originator_id, originator_version, topic, state, notification_id "
                "FROM {events} WHERE (originator_id, originator_version) IN "
                "(SELECT * FROM unnest(%s::uuid[], %s::bigint[]))"
            )
            .format(events=Identifier(recorder.datastore.schema, recorder.events_table_name))
            .as_string(None)
        )

    def on_this_loop(self) -> bool:
        """Return True when the connections are open on the running loop."""
        return self._connections.on_this_loop()

    async def insert(
        self, events: Sequence[StoredEvent], snapshots: Sequence[StoredEvent]
    ) -> Sequence[int]:
        """Record `events` and `snapshots` in one transaction; return the events' positions.

        After a lost connection the write is tried again, as the library does. The lost one
        may have committed before its answer was lost: then the new try finds its versions
        taken, and they are ours, not a conflict, when the store holds these very events.
        """
        if not events:
            return []
        lost = False

        async def attempt() -> Sequence[int]:
            nonlocal lost
            try:
                return await self._insert(events, snapshots)
            except IntegrityError:
                if lost:
                    found = await self._recorded_already(events)
                    if found is not None:
                        return found
                raise
            except (InterfaceError, OperationalError):
                lost = True
                raise

        return await self._connections.retried(attempt)

    async def _insert(
        self, events: Sequence[StoredEvent], snapshots: Sequence[StoredEvent]
    ) -> Sequence[int]:
        recorder = self._recorder
        rows = [_row(recorder, e) for e in events]
        snapshot_rows = (
            [] if self._snapshots is None else [_row(self._snapshots, s) for s in snapshots]
        )
        # A failed or interrupted transaction is rolled back as the connection goes back to
        # its pool (psycopg_pool lends it as `async with conn`).
        async with self._connections.connection(writes=True) as conn:
            positions = await self._transaction(conn, rows, snapshot_rows)
        if len(positions) != len(events):
            raise ProgrammingError(f"got {len(positions)} positions for {len(events)} events")
        return positions

    async def _transaction(
        self, conn: AsyncConnection, rows: list[Any], snapshot_rows: list[Any]
    ) -> list[int]:
        """Write the batch in one transaction: one call of our function, else one pipeline."""
        if self._by_function is None:
            self._by_function = await self._function.ensure(conn)
        if self._by_function:
            try:
                return await self._function.call(conn, rows, snapshot_rows)
            except (pg_errors.UndefinedFunction, pg_errors.InsufficientPrivilege):
                # Dropped, or no longer ours to call, since it was found: nothing was written
                # (the call's transaction rolled back). Look again, or write in a pipeline.
                self._by_function = await self._function.ensure(conn)
                if self._by_function:
                    return await self._function.call(conn, rows, snapshot_rows)
        return await self._pipeline(conn, rows, snapshot_rows)

    async def _pipeline(
        self, conn: AsyncConnection, rows: list[Any], snapshot_rows: list[Any]
    ) -> list[int]:
        """Send the whole transaction in one pipeline; read its answers after its one sync.

        The statements are the library's insert_events' (the table lock that keeps
        notification ids in commit order, the notify, the insert), between a BEGIN and a
        COMMIT of their own: one round trip, where the library's pipeline syncs twice. A
        failed statement makes the server skip the rest up to the sync, the COMMIT included.
        """
        async with conn.pipeline():
            control = conn.cursor()
            await control.execute("BEGIN")
            for statement in self._lock:
                await control.execute(statement, prepare=True)
            await control.execute(self._notify)
            inserted = conn.cursor()
            await inserted.execute(self._insert_events, (rows,), prepare=True)
            if snapshot_rows and self._insert_snapshots is not None:
                await conn.cursor().execute(self._insert_snapshots, (snapshot_rows,), prepare=True)
            await control.execute("COMMIT")
        # Leaving the pipeline synced and read every answer, the commit's too (or raised the
        # first error): the events are durable.
        return [row["notification_id"] for row in await inserted.fetchall()]

    async def _recorded_already(self, events: Sequence[StoredEvent]) -> list[int] | None:
        """Return the positions of `events` if the store holds exactly them, else None."""
        async with self._connections.connection(writes=True) as conn:
            found = await conn.execute(
                self._select_recorded,
                (
                    [e.originator_id for e in events],
                    [e.originator_version for e in events],
                ),
            )
            rows = await found.fetchall()
        held = {(UUID(str(row["originator_id"])), row["originator_version"]): row for row in rows}
        positions = []
        for event in events:
            row = held.get((UUID(str(event.originator_id)), event.originator_version))
            if row is None or row["topic"] != event.topic or bytes(row["state"]) != event.state:
                return None
            positions.append(row["notification_id"])
        return positions


class _InsertFunction:
    """The library's insert_events statements as one function of ours in the store.

    Called in the connection's autocommit mode, the call is one implicit transaction: its
    answer comes after the commit (psycopg reads every result up to the server's
    ReadyForQuery), so the positions returned are durable, as after the pipeline's COMMIT.
    """

    def __init__(
        self, recorder: PostgresApplicationRecorder, snapshots: PostgresAggregateRecorder | None
    ) -> None:
        datastore = recorder.datastore
        schema = datastore.schema
        inserts = SQL("RETURN QUERY {0};").format(
            SQL(_with_argument(_text(recorder.insert_events_statement), "events"))
        )
        if snapshots is not None:
            inserts += SQL(" {0};").format(
                SQL(_with_argument(_text(snapshots.insert_events_statement), "snapshots"))
            )
        lock = _text(recorder.lock_table_statements[-1])
        if not lock.startswith("LOCK TABLE"):
            raise ProgrammingError(f"expected the library's table lock: {lock}")
        # The body as PostgreSQL keeps it (pg_proc.prosrc): a function found by our name is
        # called only if it is this very text, made by this user, run with the caller's rights.
        self._source = (
            SQL(
                "BEGIN PERFORM set_config('lock_timeout', timeout, true); "
                "{lock}; NOTIFY {channel}; {inserts} END"
            )
            .format(lock=SQL(lock), channel=Identifier(recorder.channel_name), inserts=inserts)
            .as_string(None)
        )
        array = SQL("{0}.{1}[]").format(
            Identifier(schema), Identifier(recorder.stored_event_type_name)
        )
        arguments = SQL("(events {0}, snapshots {0}, timeout text)").format(array)
        header = SQL("{0} RETURNS SETOF bigint LANGUAGE plpgsql").format(arguments)
        # Its name carries its text's digest: a process with other statements (another
        # version, other tables) makes and calls a function of its own, never replaces one
        # that a running process calls.
        digest = hashlib.sha256((header.as_string(None) + self._source).encode()).hexdigest()
        self.name = "waha_campaigns_insert_" + digest[:16]
        function = SQL("{0}.{1}").format(Identifier(schema), Identifier(self.name))
        self._create = (
            SQL("CREATE FUNCTION {0}{1} AS {2}")
            .format(function, header, Literal(self._source))
            .as_string(None)
        )
        signature = SQL("{0}({1}, {1}, text)").format(function, array).as_string(None)
        self._find = (
            SQL(
                "SELECT p.prosrc = {source} AND NOT p.prosecdef "
                "AND p.proowner = (SELECT oid FROM pg_roles WHERE rolname = current_user) "
                "AND has_function_privilege(p.oid, 'EXECUTE') AS ours "
                "FROM pg_proc p WHERE p.oid = to_regprocedure({signature})"
            )
            .format(source=Literal(self._source), signature=Literal(signature))
            .as_string(None)
        )
        # The arguments cast as declared: no other function of that name is ever chosen.
        self._call = (
            SQL("SELECT * FROM {0}(%b::{1}, %b::{1}, %s::text)")
            .format(function, array)
            .as_string(None)
        )
        self._timeout = f"{int(datastore.lock_timeout)}s"  # as the library's SET LOCAL

    async def ensure(self, conn: AsyncConnection) -> bool:
        """Make the function unless the store has it; False: write in a pipeline instead.

        A lost connection is raised (the write is tried again); any other refusal (no right
        to create a function, a function of that name that is not ours) is logged once and
        the pipeline, which needs no function, writes from then on.
        """
        try:
            for _ in range(2):  # a second look when another process made it meanwhile
                found = await conn.execute(self._find)
                row = await found.fetchone()
                if row is not None:
                    if row["ours"]:
                        return True
                    _log.warning(
                        "a function named %s in the store is not this version's own, or not "
                        "this user's to call: the group commit writes each batch as several "
                        "statements in one pipeline (more CPU per message)",
                        self.name,
                    )
                    return False
                try:
                    await conn.execute(self._create)
                except (pg_errors.DuplicateFunction, pg_errors.UniqueViolation):
                    continue
                return True
        except psycopg.OperationalError:
            raise
        except psycopg.DatabaseError as error:
            _log.warning(
                "the store refused to create the group commit's function (%s): it writes each "
                "batch as several statements in one pipeline (more CPU per message)",
                type(error).__name__,
            )
            return False
        return False  # made meanwhile, yet still not found: not ours to rely on

    async def call(
        self, conn: AsyncConnection, rows: list[Any], snapshot_rows: list[Any]
    ) -> list[int]:
        """Return the events' positions, once the batch is committed."""
        if not conn.autocommit:  # the call's implicit transaction is its commit
            raise ProgrammingError("the group commit's function is called in autocommit only")
        called = await conn.execute(self._call, (rows, snapshot_rows, self._timeout), prepare=True)
        return [row[self.name] for row in await called.fetchall()]


def _with_argument(statement: str, argument: str) -> str:
    """Return one of the library's inserts reading the function's `argument` for its `%s`."""
    if statement.count("%s") != 1:
        raise ProgrammingError(f"expected one parameter in the library's insert: {statement}")
    return statement.replace("%s", argument)


def _text(statement: object) -> str:
    """Return one of the library's statements (composed, or text already) as text."""
    return statement.as_string(None) if isinstance(statement, Composable) else str(statement)


def _binary(statement: str) -> str:
    """Return the insert with its one parameter, the array of events, sent in binary.

    As text, every event's state is escaped byte by byte into the array's literal: half the
    cost of the write's execute (measured: 244 vs 512 us for eight events on loopback).
    """
    if statement.count("%s") != 1:
        raise ProgrammingError(f"expected one parameter in the library's insert: {statement}")
    return statement.replace("%s", "%b")


def _row(recorder: PostgresAggregateRecorder, event: StoredEvent) -> Any:
    return recorder.construct_pg_stored_event(
        originator_id=event.originator_id,
        originator_version=event.originator_version,
        topic=event.topic,
        state=event.state,
    )
