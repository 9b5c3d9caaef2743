"""The seen-webhooks store: one contract, on memory, on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.bootstrap import creates_tables
from adapters.seen_webhooks import (
    TABLE,
    MemorySeenWebhooks,
    PostgresSeenWebhooks,
    SeenWebhooksStore,
    SqliteSeenWebhooks,
    create_table_for,
    seen_webhooks,
)
from tests.fakes.system import ManualClock

WINDOW = timedelta(hours=1)
NOW = ManualClock().now()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'campaigns.sqlite3'}"
    postgres_url: str = request.getfixturevalue("postgres_url")
    return postgres_url


@pytest.fixture
def store(url: str) -> Iterator[SeenWebhooksStore]:
    opened = seen_webhooks(url, WINDOW)
    yield opened
    opened.close()


def test_the_store_follows_the_database_url(store: SeenWebhooksStore, url: str) -> None:
    kinds = {"memory": MemorySeenWebhooks, "sqlite": SqliteSeenWebhooks}
    expected = kinds.get(url.split(":", 1)[0], PostgresSeenWebhooks)

    assert isinstance(store, expected)


def test_a_key_is_new_once(store: SeenWebhooksStore) -> None:
    assert store.first_time("id:evt_1", NOW)
    assert not store.first_time("id:evt_1", NOW + timedelta(minutes=59))
    assert store.first_time("id:evt_2", NOW)


def test_a_key_seen_longer_ago_than_the_window_is_new_again(store: SeenWebhooksStore) -> None:
    store.first_time("id:evt_1", NOW)

    assert store.first_time("id:evt_1", NOW + WINDOW + timedelta(seconds=1))
    assert not store.first_time("id:evt_1", NOW + WINDOW + timedelta(seconds=2))


def test_a_forgotten_key_is_new_again(store: SeenWebhooksStore) -> None:
    store.first_time("id:evt_1", NOW)

    store.forget("id:evt_1")

    assert store.first_time("id:evt_1", NOW)


def test_pruning_forgets_only_the_keys_seen_before(store: SeenWebhooksStore) -> None:
    store.first_time("id:old", NOW - timedelta(hours=2))
    store.first_time("id:new", NOW)

    assert store.prune(NOW - WINDOW) == 1
    assert not store.first_time("id:new", NOW)
    assert store.prune(NOW - WINDOW) == 0


def test_of_racing_writers_exactly_one_is_first(url: str) -> None:
    # Separate store objects: on a shared database, as separate processes would be.
    stores = [seen_webhooks(url, WINDOW) for _ in range(4)]
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            firsts = list(pool.map(lambda s: s.first_time("id:evt_race", NOW), stores * 5))
    finally:
        for opened in stores:
            opened.close()

    if url == "memory://":
        assert firsts.count(True) == len(stores)  # each process keeps its own memory
    else:
        assert firsts.count(True) == 1


def test_a_second_store_on_the_same_file_sees_the_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'campaigns.sqlite3'}"
    first = seen_webhooks(url, WINDOW)
    first.first_time("id:evt_1", NOW)
    first.close()

    again = seen_webhooks(url, WINDOW)

    assert not again.first_time("id:evt_1", NOW)


def test_the_table_is_left_alone_when_told(tmp_path: Path) -> None:
    path = tmp_path / "campaigns.sqlite3"

    seen_webhooks(f"sqlite:///{path}", WINDOW, create_table=False).close()

    with sqlite3.connect(path) as db:
        tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert tables == []


def test_the_table_can_be_created_alone(tmp_path: Path) -> None:
    path = tmp_path / "campaigns.sqlite3"

    create_table_for(f"sqlite:///{path}")
    create_table_for(f"sqlite:///{path}")  # again: nothing changes

    with sqlite3.connect(path) as db:
        tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert tables == [(TABLE,)]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, True),
        ({"CAMPAIGNS_CREATE_TABLE": "n"}, False),
        ({"CAMPAIGNS_CREATE_TABLE": "yes"}, True),
    ],
)
def test_tables_are_created_unless_campaigns_create_table_says_no(
    environ: dict[str, str], expected: bool
) -> None:
    assert creates_tables(environ) is expected
