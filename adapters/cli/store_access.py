"""The event store opened read-only for the audit commands, and their errors at the edge."""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

from eventsourcing.domain import EventSourcingError
from eventsourcing.persistence import PersistenceError
from eventsourcing.utils import TopicError

from adapters import bootstrap
from adapters.cli.arguments import ExitCode, database_url
from adapters.cli.output import fail, reader_left
from adapters.persistence import (
    DatabaseUrlError,
    StoreUnavailableError,
    check_postgres,
    persistence_environment,
    redacted,
)
from app.audit import NoStateThenError, ReplayError
from app.campaigns import CampaignsApp
from app.errors import AppError, CampaignNotFoundError

EVENTS_TABLE = "stored_events"


class DatabaseMissingError(Exception):
    """The database named does not exist, or holds no event store."""


@contextlib.contextmanager
def read_only_campaigns(url: str) -> Iterator[CampaignsApp]:
    """Open the campaigns on `url` without creating tables, files or folders, and close them.

    SQLite files are opened with mode=ro, so nothing can be written; on PostgreSQL the
    application is only ever asked to read.
    """
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        try:
            found = path.is_file()
        except OSError as error:  # a name too long, a folder we may not enter
            raise DatabaseMissingError(f"cannot read {path}: {error.strerror}") from None
        if not found:
            raise DatabaseMissingError(f"the SQLite database {path} does not exist")
        _check_sqlite_store(path)
    try:
        env = persistence_environment(url, create_dirs=False)
    except DatabaseUrlError:
        raise
    except ValueError as error:  # urllib's own complaint; it never quotes the password
        raise DatabaseUrlError(f"the database URL cannot be read: {error}") from None
    if "POSTGRES_DBNAME" in env:
        try:  # at once, naming a database that does not exist, not after the pool's timeout
            check_postgres(env)
        except StoreUnavailableError as error:
            raise DatabaseMissingError(str(error)) from None
    # The app-prefixed key wins over an unprefixed one from the process environment.
    env["CAMPAIGNS_CREATE_TABLE"] = "n"
    if "SQLITE_DBNAME" in env:
        env["CAMPAIGNS_SQLITE_DBNAME"] = Path(env["SQLITE_DBNAME"]).resolve().as_uri() + "?mode=ro"
    # No cache: each command reads each campaign once, and a cache would deep-copy it.
    env.pop("AGGREGATE_CACHE_MAXSIZE", None)
    with bootstrap.read_only_campaigns(env) as app:
        yield app


def _check_sqlite_store(path: Path) -> None:
    # The library would try to switch a non-WAL file to WAL and fail with "readonly database",
    # which names the wrong problem; look for the events table first.
    try:
        with contextlib.closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        ) as db:
            found = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (EVENTS_TABLE,)
            ).fetchone()
    except sqlite3.DatabaseError as error:
        raise DatabaseMissingError(f"{path} is not a readable SQLite database: {error}") from None
    if found is None:
        raise DatabaseMissingError(f"{path} holds no campaigns event store (no {EVENTS_TABLE})")


def run_on_store(args: argparse.Namespace, action: Callable[[CampaignsApp], int]) -> int:
    """Run `action` on the read-only store named by the arguments; map failures to exit codes."""
    url = database_url(args)
    try:
        with read_only_campaigns(url) as app:
            return action(app)
    except BrokenPipeError:
        return reader_left()
    except (
        AppError,
        DatabaseMissingError,
        DatabaseUrlError,
        EventSourcingError,
        TopicError,
    ) as error:
        return fail(*_failure(error, url))


_CODES: Final = (
    (DatabaseMissingError, ExitCode.UNAVAILABLE),
    (DatabaseUrlError, ExitCode.USAGE),
    (CampaignNotFoundError, ExitCode.NOT_FOUND),
    (NoStateThenError, ExitCode.USAGE),
)


def _failure(error: Exception, url: str) -> tuple[str, ExitCode]:
    first_line = (str(error).splitlines() or [type(error).__name__])[0]
    for kind, code in _CODES:
        if isinstance(error, kind):
            return first_line, code
    if isinstance(error, ReplayError):
        return f"the log cannot be replayed: {first_line}; run verify", ExitCode.FAILED
    if isinstance(error, PersistenceError):
        where = redacted(url)
        return f"cannot read the event store at {where}: {first_line}", ExitCode.UNAVAILABLE
    if isinstance(error, EventSourcingError | TopicError):
        # An event the library cannot decode: the log itself is broken, which verify names.
        return f"the log cannot be read: {first_line}; run verify", ExitCode.FAILED
    raise error
