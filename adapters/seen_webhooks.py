"""The webhooks acted on lately, kept in the event store's database (or in memory for memory://).

Each adapter owns its connections: the event store's recorder is the library's, and this
table is not an event store. On SQLite it shares the database file (and its WAL); on
PostgreSQL, the database and schema of CAMPAIGNS_DATABASE_URL.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from adapters.persistence import persistence_environment

TABLE: Final = "seen_webhooks"
# A writer waits this long for another process's transaction on the SQLite file.
_SQLITE_BUSY_SECONDS: Final = 5.0


def _epoch(moment: datetime) -> float:
    return moment.astimezone(UTC).timestamp()


class MemorySeenWebhooks:
    """The keys in this process only: for memory:// stores, which a restart forgets anyway."""

    def __init__(self, window: timedelta) -> None:
        self._window = window
        self._seen: OrderedDict[str, datetime] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, key: str, seen_at: datetime) -> bool:
        """Record `key`; return whether it was unseen within the window."""
        with self._lock:
            before = self._seen.get(key)
            if before is not None and before >= seen_at - self._window:
                return False
            self._seen[key] = seen_at
            self._seen.move_to_end(key)
            return True

    def forget(self, key: str) -> None:
        """Forget `key`."""
        with self._lock:
            self._seen.pop(key, None)

    def prune(self, before: datetime) -> int:
        """Forget the keys seen before `before` (oldest first, as they were recorded)."""
        pruned = 0
        with self._lock:
            while self._seen and next(iter(self._seen.values())) < before:
                self._seen.popitem(last=False)
                pruned += 1
        return pruned

    def close(self) -> None:
        """Nothing to close."""


class SqliteSeenWebhooks:
    """The keys in a table of the SQLite event store's file, one short connection per call."""

    def __init__(
        self, path: Path, window: timedelta, busy_timeout: float = _SQLITE_BUSY_SECONDS
    ) -> None:
        self._path = path
        self._window = window
        self._busy_timeout = busy_timeout  # the store's SQLITE_LOCK_TIMEOUT, as the library's

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        # A connection per call: calls come from worker threads, and opening one is cheap.
        connection = sqlite3.connect(self._path, timeout=self._busy_timeout)
        with contextlib.closing(connection) as db, db:
            yield db

    def create_table(self) -> None:
        """Create the table if it is missing."""
        with self._transaction() as db:
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (key TEXT PRIMARY KEY, seen_at REAL NOT NULL)"
            )
            db.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_seen_at ON {TABLE} (seen_at)")

    def first_time(self, key: str, seen_at: datetime) -> bool:
        """Record `key`; return whether it was unseen within the window (one writer wins)."""
        now = _epoch(seen_at)
        with self._transaction() as db:
            inserted = db.execute(
                f"INSERT INTO {TABLE} (key, seen_at) VALUES (?, ?) "  # noqa: S608 - a constant
                f"ON CONFLICT (key) DO UPDATE SET seen_at = excluded.seen_at "
                f"WHERE {TABLE}.seen_at < ?",
                (key, now, now - self._window.total_seconds()),
            )
            return inserted.rowcount == 1

    def forget(self, key: str) -> None:
        """Forget `key`."""
        with self._transaction() as db:
            db.execute(f"DELETE FROM {TABLE} WHERE key = ?", (key,))  # noqa: S608 - a constant

    def prune(self, before: datetime) -> int:
        """Forget the keys seen before `before`."""
        with self._transaction() as db:
            deleted = db.execute(
                f"DELETE FROM {TABLE} WHERE seen_at < ?",  # noqa: S608 - a constant
                (_epoch(before),),
            )
            return deleted.rowcount

    def close(self) -> None:
        """Nothing stays open between calls."""


class PostgresSeenWebhooks:
    """The keys in a table of the PostgreSQL event store's database, over a small pool."""

    def __init__(self, env: Mapping[str, str], window: timedelta) -> None:
        self._window = window
        schema = env.get("POSTGRES_SCHEMA")
        self._table = sql.Identifier(schema, TABLE) if schema else sql.Identifier(TABLE)
        self._index = sql.Identifier(f"{TABLE}_seen_at")
        self._pool: ConnectionPool[psycopg.Connection[tuple[object, ...]]] = ConnectionPool(
            kwargs={
                "dbname": env["POSTGRES_DBNAME"],
                "host": env["POSTGRES_HOST"],
                "port": env["POSTGRES_PORT"],
                "user": env["POSTGRES_USER"],
                "password": env["POSTGRES_PASSWORD"],
                "connect_timeout": int(float(env.get("POSTGRES_CONNECT_TIMEOUT", "5"))),
            },
            min_size=0,
            max_size=2,
            open=True,
            name="seen-webhooks",
        )

    def create_table(self) -> None:
        """Create the table if it is missing."""
        with self._pool.connection() as db:
            db.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} "
                    "(key TEXT PRIMARY KEY, seen_at TIMESTAMPTZ NOT NULL)"
                ).format(self._table)
            )
            db.execute(
                sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (seen_at)").format(
                    self._index, self._table
                )
            )

    def first_time(self, key: str, seen_at: datetime) -> bool:
        """Record `key`; return whether it was unseen within the window (one writer wins)."""
        statement = sql.SQL(
            "INSERT INTO {table} AS seen (key, seen_at) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET seen_at = excluded.seen_at WHERE seen.seen_at < %s"
        ).format(table=self._table)
        with self._pool.connection() as db:
            cursor = db.execute(statement, (key, seen_at, seen_at - self._window))
            return cursor.rowcount == 1

    def forget(self, key: str) -> None:
        """Forget `key`."""
        with self._pool.connection() as db:
            db.execute(sql.SQL("DELETE FROM {} WHERE key = %s").format(self._table), (key,))

    def prune(self, before: datetime) -> int:
        """Forget the keys seen before `before`."""
        with self._pool.connection() as db:
            cursor = db.execute(
                sql.SQL("DELETE FROM {} WHERE seen_at < %s").format(self._table), (before,)
            )
            return cursor.rowcount

    def close(self) -> None:
        """Close the pool's connections."""
        self._pool.close()


SeenWebhooksStore = MemorySeenWebhooks | SqliteSeenWebhooks | PostgresSeenWebhooks


def seen_webhooks(
    url: str,
    window: timedelta,
    *,
    create_table: bool = True,
    busy_timeout: float = _SQLITE_BUSY_SECONDS,
) -> SeenWebhooksStore:
    """Return the seen-webhooks store beside the event store at `url`; create its table if told.

    `busy_timeout`: how long a SQLite write waits for another writer's lock (the event store's
    SQLITE_LOCK_TIMEOUT). `create_table_for(url)` does the creation alone, for a command that
    prepares a database.
    """
    env = persistence_environment(url)
    store: SeenWebhooksStore
    if "SQLITE_DBNAME" in env:
        store = SqliteSeenWebhooks(Path(env["SQLITE_DBNAME"]), window, busy_timeout)
    elif "POSTGRES_DBNAME" in env:
        store = PostgresSeenWebhooks(env, window)
    else:
        return MemorySeenWebhooks(window)
    if create_table:
        try:
            store.create_table()
        except BaseException:
            store.close()
            raise
    return store


def create_table_for(url: str) -> None:
    """Create the seen-webhooks table in the store at `url` (nothing to do for memory://)."""
    seen_webhooks(url, timedelta(0), create_table=True).close()
