"""SQLite's group-commit writes on the loop, the COMMIT in a thread: recorded as the library's.

Each test has a store file of its own. Which thread ran each statement is read with SQLite's
own trace callback on the writer's connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError
from eventsourcing.sqlite import SQLiteApplicationRecorder

from adapters.bootstrap import Services, build, loop_writer, running
from adapters.sqlite_on_loop import SQLiteLoopWriter
from app.settings import load_settings
from tests.adapters.loop_writes import (
    a_snapshot_due,
    assert_recorded_with_its_snapshot,
    started,
)
from tests.adapters.sqlite_locks import write_locked
from tests.builders import scheduled
from tests.fakes.gateway import FakeWahaGateway
from tests.fakes.system import InstantSleeper, ManualClock


def sqlite_services(tmp_path: Path, clock: ManualClock, url: str | None = None) -> Services:
    settings = load_settings(
        {},
        campaigns_database_url=url or f"sqlite:///{tmp_path / 'store.sqlite3'}",
        campaigns_media_dir=str(tmp_path / "media"),
        campaigns_snapshot_interval=3,
    )
    return build(settings, clock=clock, sleeper=InstantSleeper(clock))


@pytest.fixture
def services(tmp_path: Path, clock: ManualClock) -> Iterator[Services]:
    built = sqlite_services(tmp_path, clock)
    yield built
    built.close()


@pytest.fixture
async def writer(services: Services) -> AsyncIterator[SQLiteLoopWriter]:
    opened = loop_writer(services)
    assert isinstance(opened, SQLiteLoopWriter)
    assert opened.open()
    yield opened
    await opened.close()


def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite3"


def traced(writer: SQLiteLoopWriter) -> list[tuple[str, bool]]:
    """Record each statement the writer runs, and whether it ran on this (the loop's) thread."""
    loop_thread = threading.get_ident()
    seen: list[tuple[str, bool]] = []
    connection = writer._connection
    assert connection is not None

    def trace(statement: str) -> None:
        seen.append((statement.split(" ", maxsplit=1)[0], threading.get_ident() == loop_thread))

    connection.set_trace_callback(trace)
    return seen


async def test_a_write_is_recorded_as_the_librarys_with_its_positions_and_snapshot(
    services: Services, writer: SQLiteLoopWriter
) -> None:
    campaign, stored, snapshots = a_snapshot_due(services)
    assert snapshots

    positions = await writer.insert(stored, snapshots)

    assert_recorded_with_its_snapshot(services.campaigns, campaign, stored, positions)


async def test_the_statements_run_on_the_loop_and_only_the_commit_in_a_thread(
    services: Services, writer: SQLiteLoopWriter
) -> None:
    seen = traced(writer)
    campaign = started(services)

    await writer.insert(*services.campaigns.to_store(campaign.collect_events(), [campaign]))

    assert seen == [("BEGIN", True), ("INSERT", True), ("COMMIT", False)]


async def test_a_version_taken_fails_the_write_whole_rows_before_it_and_snapshots_included(
    services: Services, writer: SQLiteLoopWriter
) -> None:
    campaigns = services.campaigns
    fresh, stale = started(services), started(services)
    campaigns.start_campaign(stale.id)  # someone else records version 2 first
    stale.begin_attempt(
        index=0, attempt_id="a0", chat_id="4915100000000@c.us", at=services.clock.now()
    )
    # The fresh campaign's rows go in first: the conflict comes after them.
    stored, snapshots = campaigns.to_store(
        fresh.collect_events() + stale.collect_events(), [fresh, stale]
    )
    assert snapshots  # the stale one's version 3 is due one
    last = campaigns.recorder.max_notification_id()

    with pytest.raises(IntegrityError):
        await writer.insert(stored, snapshots)

    assert campaigns.recorder.max_notification_id() == last
    assert campaigns.last_version(fresh.id) == 1
    assert campaigns.snapshots is not None
    assert campaigns.snapshots.recorder.select_events(stale.id) == []
    # The connection and the writers' lock are left fit for the next write.
    again = started(services)
    await writer.insert(*campaigns.to_store(again.collect_events(), []))
    assert campaigns.last_version(again.id) == 2
    campaigns.start_campaign(scheduled(campaigns, 1))  # the library's writer gets its turn


async def test_a_store_that_refuses_a_row_records_none_of_the_batch(
    services: Services, writer: SQLiteLoopWriter
) -> None:
    campaigns = services.campaigns
    fresh, campaign = started(services), started(services)
    connection = writer._connection
    assert connection is not None
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.execute(f"PRAGMA max_page_count = {pages + 2}")  # room for a row, not for 100 kB
    events = campaign.collect_events()
    big = [replace(s, state=b"x" * 100_000) for s in campaigns.to_store(events, [])[0]]
    small = campaigns.to_store(fresh.collect_events(), [])[0]
    last = campaigns.recorder.max_notification_id()

    with pytest.raises(OperationalError, match="full"):
        await writer.insert(small + big, [])

    assert campaigns.recorder.max_notification_id() == last
    connection.execute("PRAGMA max_page_count = 1073741823")
    await writer.insert(*campaigns.to_store(events, []))
    assert campaigns.last_version(campaign.id) == 2


async def test_a_commit_that_fails_records_nothing_and_lets_go_of_the_locks(
    tmp_path: Path, services: Services, writer: SQLiteLoopWriter
) -> None:
    campaigns = services.campaigns
    campaign = started(services)
    with contextlib.closing(sqlite3.connect(store_path(tmp_path))) as admin:
        # A deferred foreign key is checked at COMMIT: every event row breaks one.
        admin.executescript(
            "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
            "CREATE TABLE child (parent INTEGER REFERENCES parent (id) "
            "DEFERRABLE INITIALLY DEFERRED);"
            "CREATE TRIGGER refuse AFTER INSERT ON stored_events "
            "BEGIN INSERT INTO child VALUES (42); END;"
        )
    connection = writer._connection
    assert connection is not None
    connection.execute("PRAGMA foreign_keys = ON")
    seen = traced(writer)
    events = campaign.collect_events()
    last = campaigns.recorder.max_notification_id()

    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        await writer.insert(*campaigns.to_store(events, []))

    assert ("COMMIT", False) in seen  # it was the COMMIT that failed, in the thread
    assert campaigns.recorder.max_notification_id() == last
    campaigns.start_campaign(scheduled(campaigns, 1))  # neither lock is held any more
    connection.execute("PRAGMA foreign_keys = OFF")
    await writer.insert(*campaigns.to_store(events, []))
    assert campaigns.last_version(campaign.id) == 2


async def test_while_another_process_writes_the_write_waits_in_the_thread_not_on_the_loop(
    tmp_path: Path, services: Services, writer: SQLiteLoopWriter
) -> None:
    seen = traced(writer)
    campaign = started(services)
    stored, snapshots = services.campaigns.to_store(campaign.collect_events(), [campaign])
    with write_locked(store_path(tmp_path)):
        writing = asyncio.create_task(writer.insert(stored, snapshots))
        await asyncio.sleep(0)  # it runs up to its wait: refused on the loop, gone to the thread
        assert seen[0] == ("BEGIN", True)  # refused at once: its thread waits for the lock
        assert not writing.done()
    positions = await writing

    assert len(positions) == len(stored)
    assert services.campaigns.load(campaign.id).status == "Running"
    assert all(not on_loop for _, on_loop in seen[1:])
    assert ("COMMIT", False) in seen


async def test_while_a_writer_of_the_librarys_has_its_turn_the_batch_waits_for_it_in_the_thread(
    services: Services, writer: SQLiteLoopWriter
) -> None:
    seen = traced(writer)
    campaign = started(services)
    recorder = services.campaigns.recorder
    assert isinstance(recorder, SQLiteApplicationRecorder)
    turns = recorder.datastore.pool._writer_lock
    turns.acquire()  # as the library's writer holds it while it writes
    try:
        writing = asyncio.create_task(
            writer.insert(*services.campaigns.to_store(campaign.collect_events(), []))
        )
        await asyncio.sleep(0)  # it runs up to its wait: in the thread, for the lock
        assert seen == []
        assert not writing.done()
    finally:
        turns.release()
    await writing

    assert [s for s, on_loop in seen if not on_loop and s != "PRAGMA"] == [
        "BEGIN",
        "INSERT",
        "COMMIT",
    ]
    assert services.campaigns.last_version(campaign.id) == 2


async def test_the_commit_never_queues_behind_the_shared_worker_threads(
    services: Services, writer: SQLiteLoopWriter
) -> None:
    loop = asyncio.get_running_loop()
    released = threading.Event()
    # Every shared worker thread busy (as webhooks waiting for the store's lock would be).
    busy = [loop.run_in_executor(None, released.wait) for _ in range(64)]
    campaign = started(services)
    try:
        await asyncio.wait_for(
            writer.insert(*services.campaigns.to_store(campaign.collect_events(), [])),
            timeout=30,  # a failure's bound, not a wait: the write takes milliseconds
        )
    finally:
        released.set()
        await asyncio.gather(*busy)
    assert services.campaigns.last_version(campaign.id) == 2


async def test_a_write_after_a_cancelled_one_waits_for_the_thread_that_still_holds_it(
    tmp_path: Path, services: Services, writer: SQLiteLoopWriter
) -> None:
    first, second = started(services), started(services)
    with write_locked(store_path(tmp_path)):
        cancelled = asyncio.create_task(
            writer.insert(*services.campaigns.to_store(first.collect_events(), []))
        )
        await asyncio.sleep(0)  # it is in the thread, waiting for the other process's lock
        cancelled.cancel()
        next_write = asyncio.create_task(
            writer.insert(*services.campaigns.to_store(second.collect_events(), []))
        )
        closing = asyncio.create_task(writer.close())
    await next_write  # had it not waited: "cannot start a transaction within a transaction"
    await closing

    with pytest.raises(asyncio.CancelledError):
        await cancelled
    # The cancelled caller's thread went on and committed; the next write waited for it.
    assert services.campaigns.last_version(first.id) == 2
    assert services.campaigns.last_version(second.id) == 2
    assert not writer.on_this_loop()  # closed after both


def test_a_store_in_memory_keeps_the_librarys_path(tmp_path: Path, clock: ManualClock) -> None:
    for url in ("sqlite:///:memory:", "memory://"):
        services = sqlite_services(tmp_path, clock, url)
        try:
            assert loop_writer(services) is None
        finally:
            services.close()


async def test_a_file_not_in_wal_mode_keeps_the_librarys_path(
    tmp_path: Path, services: Services
) -> None:
    other = tmp_path / "rollback-journal.sqlite3"
    with contextlib.closing(sqlite3.connect(other)) as made:
        assert made.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    recorder = services.campaigns.recorder
    assert isinstance(recorder, SQLiteApplicationRecorder)
    writer = SQLiteLoopWriter(
        str(other), recorder, None, writers=threading.Lock(), lock_timeout_seconds=1
    )
    assert not writer.open()
    assert not writer.on_this_loop()


async def test_the_runtime_opens_the_writer_on_its_loop_and_closes_it(
    services: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def in_a_thread(*_: object) -> None:
        raise AssertionError("written through the library, in a worker thread")

    monkeypatch.setattr(services.campaigns, "record", in_a_thread)
    async with running(services, gateway=FakeWahaGateway(clock), start_supervisor=False) as runtime:
        campaign = started(services)
        await runtime.committer.record(campaign)
        assert runtime.committer.batches == 1
    assert services.campaigns.load(campaign.id).status == "Running"
