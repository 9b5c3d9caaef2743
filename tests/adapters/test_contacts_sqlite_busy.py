"""The SQLite read model beside a writer of another connection: it waits for the lock, bounded."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from eventsourcing.persistence import OperationalError, Tracking
from eventsourcing.sqlite import SQLiteDatastore

from adapters.contacts_sqlite import SQLiteContactsView
from app.contacts_projection import PROJECTION_NAME
from app.read_models import CampaignAdded
from tests.adapters.sqlite_locks import write_locked

BUSY_TIMEOUT = 1  # seconds: the shortest the library takes (SQLITE_LOCK_TIMEOUT, 5 by default)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "campaigns.sqlite3"


@pytest.fixture
def view(path: Path) -> Iterator[SQLiteContactsView]:
    datastore = SQLiteDatastore(str(path), lock_timeout=BUSY_TIMEOUT)
    made = SQLiteContactsView(datastore)
    made.create_table()
    yield made
    datastore.close()


def test_a_batch_waits_for_the_write_lock_then_is_refused_whole(
    path: Path, view: SQLiteContactsView
) -> None:
    campaign_id = uuid4()
    batch = [CampaignAdded(campaign_id, uuid4(), "default", 3)]

    with write_locked(path):
        started = time.monotonic()
        # `since` reads before the write: with a plain BEGIN, SQLite refused it at once.
        with pytest.raises(OperationalError, match="database is locked"):
            view.record(batch, Tracking(PROJECTION_NAME, 5), since=0)
        waited = time.monotonic() - started

    assert waited >= BUSY_TIMEOUT * 0.9  # the busy timeout (sleeps may overshoot, never fall short)
    assert view.position() == 0
    assert view.campaign_size(campaign_id) is None


def test_a_batch_is_recorded_once_the_lock_is_released(
    path: Path, view: SQLiteContactsView
) -> None:
    campaign_id = uuid4()
    with write_locked(path):
        # WAL: readers are never held up by a writer; only writers wait for each other.
        assert view.page(campaign_id, limit=10) == []
        assert view.position() == 0

    view.record(
        [CampaignAdded(campaign_id, uuid4(), "default", 3)], Tracking(PROJECTION_NAME, 5), since=0
    )

    assert view.position() == 5
    assert view.campaign_size(campaign_id) == 3
