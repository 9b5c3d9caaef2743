"""Every table the service keeps beside its events, created once, however many start at once.

The event store, its snapshots, the per-contact read model, the webhooks seen lately and the
lanes' leases. On PostgreSQL the library re-runs its schema statements at every start, and two
processes doing that at the same moment can fail ("tuple concurrently updated"): the creation
takes a session-level advisory lock, so concurrent starts take turns instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Final

import psycopg

from adapters.leases import PostgresLaneLeases
from adapters.persistence import postgres_conninfo
from adapters.read_model import create_read_model_tables
from adapters.seen_webhooks import create_table_for
from app.campaigns import CampaignsApp

# One key for "the schema is being made": any number that our other locks do not use.
_SCHEMA_LOCK_KEY: Final = 0x57434442  # "WCDB"


def is_postgres(url: str) -> bool:
    """Whether `url` names a PostgreSQL store."""
    return url.startswith(("postgresql://", "postgres://"))


@contextlib.contextmanager
def schema_lock(url: str) -> Iterator[None]:
    """Hold the schema lock on a PostgreSQL store for the block (nothing to hold elsewhere)."""
    if not is_postgres(url):
        yield
        return
    with psycopg.connect(postgres_conninfo(url), autocommit=True, connect_timeout=5) as db:
        db.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK_KEY,))
        try:
            yield
        finally:
            db.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK_KEY,))


def create_tables(campaigns: CampaignsApp, url: str) -> list[str]:
    """Create every missing table of the store at `url`; return what was made sure of.

    `campaigns` must have been opened without creating its tables (CREATE_TABLE=n).
    """
    made: list[str] = []
    if url.startswith("memory://"):
        return made  # an in-memory store has nothing to create
    with schema_lock(url):
        campaigns.recorder.create_table()  # type: ignore[attr-defined]
        made.append("events")
        if campaigns.snapshots is not None:
            campaigns.snapshots.recorder.create_table()  # type: ignore[attr-defined]
            made.append("snapshots")
        create_read_model_tables(campaigns)
        made.append("read model")
        create_table_for(url)
        made.append("seen webhooks")
        if is_postgres(url):
            leases = PostgresLaneLeases(postgres_conninfo(url))
            try:
                leases.create_table()
            finally:
                leases.close()
            made.append("lane leases")
    return made
