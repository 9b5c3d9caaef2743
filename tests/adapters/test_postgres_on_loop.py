"""PostgreSQL on the event loop: the group commit's writes and the gates' reads, as the library's.

Against a database of each test's own on 127.0.0.1:5432.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, PersistenceError
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier

from adapters.bootstrap import Services, build, loop_writer, running
from adapters.contacts_sql import CONTACTS_TABLE
from adapters.persistence import postgres_conninfo
from adapters.postgres_gate_reads import PostgresGateReads
from adapters.postgres_on_loop import LoopConnections, PostgresLoopWriter
from app.settings import load_settings
from domain.campaign import Campaign
from domain.contacts import ChatId
from domain.opt_out import opt_out_id
from domain.session import SessionName
from tests.adapters.loop_writes import (
    a_snapshot_due,
    assert_recorded_with_its_snapshot,
    started,
)
from tests.builders import contacts, messaged
from tests.fakes.gateway import FakeWahaGateway
from tests.fakes.system import InstantSleeper, ManualClock

pytestmark = pytest.mark.postgres

TOPICS = (Campaign.AttemptStarted.TOPIC, Campaign.ContactAttempted.TOPIC)


@pytest.fixture
async def services(
    tmp_path: Path, clock: ManualClock, postgres_url: str
) -> AsyncIterator[Services]:
    settings = load_settings(
        {},
        campaigns_database_url=postgres_url,
        campaigns_media_dir=str(tmp_path / "media"),
        campaigns_snapshot_interval=3,
    )
    built = build(settings, clock=clock, sleeper=InstantSleeper(clock))
    assert built.loop_connections is not None
    await built.loop_connections.open()
    yield built
    await built.loop_connections.close()
    built.close()


def writer_of(services: Services) -> PostgresLoopWriter:
    writer = loop_writer(services)
    assert isinstance(writer, PostgresLoopWriter)
    return writer


async def seen_waiting(
    watcher: psycopg.Connection[Any], count: str, values: tuple[Any, ...], never: str
) -> None:
    """Poll `count` (a query counting waiters) on `watcher` until it counts one; else fail."""
    for _ in range(1000):
        await asyncio.sleep(0.005)
        waiting = watcher.execute(count, values).fetchone()
        watcher.commit()
        if waiting is not None and waiting[0] == 1:
            return
    pytest.fail(never)


@pytest.fixture(params=["function", "pipeline"])
def writer(services: Services, request: pytest.FixtureRequest) -> Iterator[PostgresLoopWriter]:
    """The group commit's writer: through its function, or (no right to make one) a pipeline."""
    made = writer_of(services)
    if request.param == "pipeline":
        made._by_function = False  # as when the store's user may not create a function
    yield made
    if request.param == "function":
        assert made._by_function is not False  # it never fell back to the pipeline


async def test_a_write_on_the_loop_is_recorded_as_the_librarys_with_its_positions(
    services: Services,
    writer: PostgresLoopWriter,
) -> None:
    campaign, stored, snapshots = a_snapshot_due(services)

    positions = await writer.insert(stored, snapshots)

    assert_recorded_with_its_snapshot(services.campaigns, campaign, stored, positions)


async def test_a_version_taken_fails_the_write_whole_snapshots_included(
    services: Services,
    writer: PostgresLoopWriter,
) -> None:
    campaigns = services.campaigns
    stale = started(services)
    campaigns.start_campaign(stale.id)  # someone else records version 2 first
    stale.begin_attempt(
        index=0, attempt_id="a0", chat_id="4915100000000@c.us", at=services.clock.now()
    )
    stored, snapshots = campaigns.to_store(stale.collect_events(), [stale])
    assert snapshots  # version 3 is due one
    last = campaigns.recorder.max_notification_id()

    with pytest.raises(IntegrityError):
        await writer.insert(stored, snapshots)

    assert campaigns.recorder.max_notification_id() == last
    assert campaigns.snapshots is not None
    assert campaigns.snapshots.recorder.select_events(stale.id) == []
    assert campaigns.last_version(stale.id) == 2
    # Every connection is left fit for the next write (none is left in the failed transaction).
    for _ in range(4):
        fresh = started(services)
        await writer.insert(*campaigns.to_store(fresh.collect_events(), []))
        assert campaigns.last_version(fresh.id) == 2


async def test_a_connection_lost_before_a_write_is_replaced_and_the_write_goes_through(
    services: Services, writer: PostgresLoopWriter, postgres_url: str
) -> None:
    campaign = started(services)
    await writer.insert(*services.campaigns.to_store(started(services).collect_events(), []))
    dbname = psycopg.conninfo.conninfo_to_dict(psycopg.conninfo.make_conninfo(postgres_url))
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname["dbname"],),
        ).fetchall()
    assert killed  # the pool's connections, and the library's

    stored, snapshots = services.campaigns.to_store(campaign.collect_events(), [campaign])
    positions = await writer.insert(stored, snapshots)

    assert len(positions) == len(stored)
    assert services.campaigns.load(campaign.id).status == "Running"


async def test_the_gates_read_on_the_loop_what_they_read_in_a_thread(
    services: Services, clock: ManualClock
) -> None:
    people = contacts(2)
    services.opt_outs.add([people[0].phone], source="api", note="x")
    messaged(services.campaigns, clock, 2)
    services.follower.catch_up()
    reads = services.guardrails._loop_reads
    assert isinstance(reads, PostgresGateReads)
    assert reads.on_this_loop()

    for after in (0, 2):
        asks: list[tuple[str, str | None]] = [
            (people[0].phone, "4915110000000@c.us"),
            (people[1].phone, None),
        ]
        for phone, chat_asked in asks:
            asked: dict[str, Any] = {
                "after": after,
                "topics": TOPICS,
                "limit": 3,
                "opt_out_id": opt_out_id(phone),
                "session": "default",
                "chat_id": chat_asked,
            }
            on_loop, in_thread = await reads.read_on_loop(**asked), reads.read(**asked)
            assert on_loop == in_thread
    answer = await reads.read_on_loop(
        after=0,
        topics=TOPICS,
        limit=10,
        opt_out_id=opt_out_id(people[0].phone),
        session=SessionName("default"),
        chat_id=ChatId("4915110000000@c.us"),
    )
    assert [n.topic for n in answer.new] == list(TOPICS) * 2
    assert answer.opt_out is not None
    assert answer.last_sent is not None


async def test_the_runtime_opens_the_connections_on_its_loop_and_closes_them(
    tmp_path: Path, clock: ManualClock, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(
        {}, campaigns_database_url=postgres_url, campaigns_media_dir=str(tmp_path / "media")
    )
    services = build(settings, clock=clock, sleeper=InstantSleeper(clock))
    connections = services.loop_connections
    assert isinstance(connections, LoopConnections)
    assert not connections.on_this_loop()

    def in_a_thread(*_: object) -> None:
        raise AssertionError("written through the library, in a worker thread")

    monkeypatch.setattr(services.campaigns, "record", in_a_thread)
    try:
        async with running(
            services, gateway=FakeWahaGateway(clock), start_supervisor=False
        ) as runtime:
            assert connections.on_this_loop()
            campaign = started(services)
            await runtime.committer.record(campaign)
            assert runtime.committer.batches == 1
        assert not connections.on_this_loop()
        assert services.campaigns.load(campaign.id).status == "Running"
    finally:
        services.close()


async def test_a_write_waits_for_the_tables_lock_as_the_librarys_does(
    services: Services, writer: PostgresLoopWriter, postgres_url: str
) -> None:
    campaign = started(services)
    recorder = services.campaigns.recorder
    assert isinstance(recorder, PostgresApplicationRecorder)
    table = f'"{recorder.datastore.schema}"."{recorder.events_table_name}"'
    with psycopg.connect(postgres_url) as holder, psycopg.connect(postgres_url) as watcher:
        holder.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        writing = asyncio.create_task(
            writer.insert(*services.campaigns.to_store(campaign.collect_events(), []))
        )
        await seen_waiting(
            watcher,
            "SELECT count(*) FROM pg_locks WHERE relation = %s::regclass "
            "AND mode = 'ExclusiveLock' AND NOT granted",
            (table,),
            "the write never waited for the lock",
        )
        assert not writing.done()
        holder.rollback()  # the lock is let go
        positions = await writing
    assert len(positions) == 1
    assert services.campaigns.load(campaign.id).status == "Running"


async def test_a_write_notifies_the_librarys_channel(
    services: Services, writer: PostgresLoopWriter, postgres_url: str
) -> None:
    recorder = services.campaigns.recorder
    assert isinstance(recorder, PostgresApplicationRecorder)
    campaign = started(services)  # scheduled through the library, which notifies too
    with psycopg.connect(postgres_url, autocommit=True) as listener:
        listener.execute(f'LISTEN "{recorder.channel_name}"')
        await writer.insert(*services.campaigns.to_store(campaign.collect_events(), []))
        heard = list(listener.notifies(timeout=5, stop_after=1))
    assert [n.channel for n in heard] == [recorder.channel_name]


async def test_a_commit_that_fails_records_nothing(
    services: Services, writer: PostgresLoopWriter, postgres_url: str
) -> None:
    recorder = services.campaigns.recorder
    assert isinstance(recorder, PostgresApplicationRecorder)
    table = f'"{recorder.datastore.schema}"."{recorder.events_table_name}"'
    campaign = started(services)  # scheduled before the store refuses
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$"
        )
        admin.execute(
            f"CREATE CONSTRAINT TRIGGER refuse AFTER INSERT ON {table} "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse()"
        )
    last = recorder.max_notification_id()

    with pytest.raises(PersistenceError, match="refused at commit"):
        await writer.insert(*services.campaigns.to_store(campaign.collect_events(), []))

    assert recorder.max_notification_id() == last
    assert services.campaigns.last_version(campaign.id) == 1


async def test_a_write_whose_answer_was_lost_after_its_commit_is_not_a_conflict(
    services: Services, writer: PostgresLoopWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = writer._transaction
    lost: list[bool] = []

    async def committed_then_lost(*args: Any) -> list[int]:
        positions = await real(*args)
        if not lost:
            lost.append(True)
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return positions

    monkeypatch.setattr(writer, "_transaction", committed_then_lost)
    campaign = started(services)
    stored, snapshots = services.campaigns.to_store(campaign.collect_events(), [campaign])

    positions = await writer.insert(stored, snapshots)

    logged = services.campaigns.recorder.select_notifications(start=positions[0], limit=10)
    assert [(n.originator_id, n.originator_version) for n in logged] == [
        (s.originator_id, s.originator_version) for s in stored
    ]
    assert [n.id for n in logged] == list(positions)


async def test_after_a_lost_connection_a_version_someone_else_took_is_still_a_conflict(
    services: Services, writer: PostgresLoopWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaigns = services.campaigns
    real = writer._transaction
    stale = started(services)
    lost: list[bool] = []

    async def lost_before_writing(*args: Any) -> list[int]:
        if not lost:
            lost.append(True)
            campaigns.start_campaign(stale.id)  # meanwhile someone else records version 2
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return await real(*args)

    monkeypatch.setattr(writer, "_transaction", lost_before_writing)

    with pytest.raises(IntegrityError):
        await writer.insert(*campaigns.to_store(stale.collect_events(), []))


async def test_the_connections_are_opened_once(services: Services) -> None:
    assert services.loop_connections is not None
    with pytest.raises(RuntimeError, match="open already"):
        await services.loop_connections.open()


def functions_named(postgres_url: str, name: str) -> int:
    with psycopg.connect(postgres_url) as conn:
        found = conn.execute("SELECT count(*) FROM pg_proc WHERE proname = %s", (name,)).fetchone()
    assert found is not None
    return int(found[0])


async def test_a_batch_is_one_call_of_a_function_the_store_keeps_for_every_writer(
    services: Services, postgres_url: str
) -> None:
    first, second = writer_of(services), writer_of(services)  # as two processes' writers
    name = first._function.name
    assert second._function.name == name  # the same statements: the same function
    assert functions_named(postgres_url, name) == 0

    for writer in (first, second):
        campaign, stored, snapshots = a_snapshot_due(services)
        positions = await writer.insert(stored, snapshots)
        assert_recorded_with_its_snapshot(services.campaigns, campaign, stored, positions)

    assert first._by_function
    assert second._by_function
    assert functions_named(postgres_url, name) == 1


async def test_a_writer_that_finds_another_making_the_function_uses_theirs(
    services: Services, postgres_url: str
) -> None:
    writer = writer_of(services)
    campaign = started(services)
    with psycopg.connect(postgres_url) as other, psycopg.connect(postgres_url) as watcher:
        other.execute(writer._function._create)  # made, not yet committed
        writing = asyncio.create_task(
            writer.insert(*services.campaigns.to_store(campaign.collect_events(), []))
        )
        await seen_waiting(
            watcher,
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND query LIKE 'CREATE FUNCTION%%'",
            (),
            "the writer never tried to make the function",
        )
        other.commit()
        positions = await writing

    assert len(positions) == 1
    assert writer._by_function
    assert services.campaigns.load(campaign.id).status == "Running"


async def test_a_user_who_may_not_make_a_function_writes_in_a_pipeline(
    services: Services, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    role = "wc_writer_" + uuid.uuid4().hex[:8]
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
        try:
            admin.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")  # as PostgreSQL 15's
            admin.execute(f'GRANT USAGE ON SCHEMA public TO "{role}"')
            admin.execute(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"')
            admin.execute(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
            as_role = psycopg.conninfo.make_conninfo(
                postgres_conninfo(postgres_url), user=role, password=""
            )
            recorder = services.campaigns.recorder
            assert isinstance(recorder, PostgresApplicationRecorder)
            connections = LoopConnections(as_role, recorder, InstantSleeper(ManualClock()))
            await connections.open()
            try:
                writer = PostgresLoopWriter(connections, recorder, None)
                campaign = started(services)
                positions = await writer.insert(
                    *services.campaigns.to_store(campaign.collect_events(), [])
                )
            finally:
                await connections.close()
        finally:
            admin.execute(f'DROP OWNED BY "{role}"')
            admin.execute(f'DROP ROLE "{role}"')

    assert len(positions) == 1
    assert writer._by_function is False
    assert functions_named(postgres_url, writer._function.name) == 0
    assert services.campaigns.load(campaign.id).status == "Running"
    assert "refused to create the group commit's function (InsufficientPrivilege)" in caplog.text


def gate_reads_of(services: Services) -> PostgresGateReads:
    reads = services.guardrails._loop_reads
    assert isinstance(reads, PostgresGateReads)
    assert reads.on_this_loop()
    return reads


def counting_lends(services: Services, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Count the connections lent on the loop (one per statement the reads send)."""
    connections = services.loop_connections
    assert connections is not None
    lent: list[bool] = []
    real = connections.connection

    def lend(*, writes: bool = False) -> Any:
        lent.append(writes)
        return real(writes=writes)

    monkeypatch.setattr(connections, "connection", lend)
    return lent


def asks(people: list[Any], after: int, limit: int) -> list[dict[str, Any]]:
    return [
        {
            "after": after,
            "topics": TOPICS,
            "limit": limit,
            "opt_out_id": opt_out_id(person.phone),
            "session": SessionName("default"),
            # Each its own chat (the chats `messaged` writes to, in its order), every other.
            "chat_id": ChatId(f"49151{10000000 + i}@c.us") if i % 2 == 0 else None,
        }
        for i, person in enumerate(people)
    ]


async def test_reads_asked_meanwhile_go_together_and_answer_as_each_alone(
    services: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = contacts(5)
    services.opt_outs.add([people[0].phone, people[3].phone], source="api", note="x")
    messaged(services.campaigns, clock, 3)
    services.follower.catch_up()
    reads = gate_reads_of(services)
    asked = asks(people, 0, 10) + asks(people[:2], 2, 10) + asks(people[3:], 5, 10)
    lent = counting_lends(services, monkeypatch)

    answers = await asyncio.gather(*(reads.read_on_loop(**a) for a in asked))

    assert answers == [reads.read(**a) for a in asked]
    assert [a.opt_out is not None for a in answers[:5]] == [True, False, False, True, False]
    # Chats 0 and 2 were messaged a minute apart, chat 4 never (1 and 3 were not asked about).
    sent = [a.last_sent for a in answers[:5]]
    assert [s is not None for s in sent] == [True, False, True, False, False]
    assert sent[0] is not None
    assert sent[2] is not None
    assert sent[0][1] < sent[2][1]
    # The first read goes alone; the others, asked while it was under way, in one statement.
    assert lent == [False, False]


async def test_a_read_after_a_full_page_of_another_is_read_again_alone(
    services: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = contacts(3)
    messaged(services.campaigns, clock, 3)  # six notifications in the topics
    services.follower.catch_up()
    reads = gate_reads_of(services)
    logged = [n.id for n in reads.read(**asks(people, 0, 100)[0]).new]
    # The last read starts after the second notification: past the page read from the first.
    first, lowest, later = asks(people[:2], 0, 2) + asks(people[2:], logged[1], 2)
    lent = counting_lends(services, monkeypatch)

    answers = await asyncio.gather(*(reads.read_on_loop(**a) for a in (first, lowest, later)))

    assert answers == [reads.read(**a) for a in (first, lowest, later)]
    assert [n.id for n in answers[1].new] == logged[:2]
    assert [n.id for n in answers[2].new] == logged[2:4]  # not cut short at the batch's page
    assert lent == [False, False, False]


async def test_when_a_read_is_cancelled_the_reads_waiting_with_it_are_still_answered(
    services: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = contacts(4)
    services.opt_outs.add([people[2].phone], source="api", note="x")
    messaged(services.campaigns, clock, 2)
    services.follower.catch_up()
    reads = gate_reads_of(services)
    asked = asks(people, 0, 10)
    lent = counting_lends(services, monkeypatch)
    tasks = [asyncio.create_task(reads.read_on_loop(**a)) for a in asked]
    await asyncio.sleep(0)  # the first leads a read; the others wait for it
    assert lent == [False]

    tasks[0].cancel()  # the lead, its read under way
    tasks[1].cancel()  # one waiting
    done = await asyncio.gather(*tasks, return_exceptions=True)

    assert isinstance(done[0], asyncio.CancelledError)
    assert isinstance(done[1], asyncio.CancelledError)
    assert done[2:] == [reads.read(**a) for a in asked[2:]]
    assert lent == [False, False]  # the two left, in one statement


async def test_a_function_dropped_since_it_was_found_is_made_again(
    services: Services, postgres_url: str
) -> None:
    writer = writer_of(services)
    await writer.insert(*services.campaigns.to_store(started(services).collect_events(), []))
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'DROP FUNCTION "{writer._function.name}"')
    campaign = started(services)

    positions = await writer.insert(*services.campaigns.to_store(campaign.collect_events(), []))

    assert len(positions) == 1
    assert writer._by_function
    assert functions_named(postgres_url, writer._function.name) == 1
    assert services.campaigns.load(campaign.id).status == "Running"


async def test_a_function_of_our_name_that_is_not_ours_is_never_called(
    services: Services, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    writer = writer_of(services)
    recorder = services.campaigns.recorder
    assert isinstance(recorder, PostgresApplicationRecorder)
    events = f'"{recorder.datastore.schema}"."{recorder.stored_event_type_name}"[]'
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        # Made first by someone else: answers made-up positions and records nothing.
        admin.execute(
            f'CREATE FUNCTION "{writer._function.name}"'
            f"(events {events}, snapshots {events}, timeout text) RETURNS SETOF bigint "
            "LANGUAGE sql AS $$ SELECT 42::bigint $$"
        )
    campaign = started(services)

    positions = await writer.insert(*services.campaigns.to_store(campaign.collect_events(), []))

    assert positions != [42]
    assert writer._by_function is False
    assert services.campaigns.load(campaign.id).status == "Running"
    assert "is not this version's own" in caplog.text


async def test_the_functions_lock_timeout_holds_for_its_call_alone(
    services: Services, postgres_url: str
) -> None:
    writer = writer_of(services)
    await writer.insert(*services.campaigns.to_store(started(services).collect_events(), []))
    recorder = services.campaigns.recorder
    assert isinstance(recorder, PostgresApplicationRecorder)
    table = f'"{recorder.datastore.schema}"."{recorder.events_table_name}"'
    call = SQL("SELECT * FROM {0}('{{}}', '{{}}', '50ms')").format(
        Identifier(writer._function.name)
    )
    with (
        psycopg.connect(postgres_url) as holder,
        psycopg.connect(postgres_url, autocommit=True) as caller,
    ):
        assert caller.execute(call).fetchall() == []  # nothing to write: no lock waited for
        assert caller.execute("SHOW lock_timeout").fetchone() == ("0",)  # gone with the call
        holder.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            caller.execute(call)


async def test_when_a_read_fails_every_read_waiting_with_it_fails_too(
    services: Services, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = contacts(3)
    reads = gate_reads_of(services)
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"ALTER TABLE {CONTACTS_TABLE} RENAME TO elsewhere")  # the store fails
    lent = counting_lends(services, monkeypatch)

    done = await asyncio.gather(
        *(reads.read_on_loop(**a) for a in asks(people, 0, 10)), return_exceptions=True
    )

    assert all(isinstance(d, PersistenceError) for d in done), done
    assert lent == [False, False]  # the first alone, then the two that waited, together


async def test_a_read_cancelled_while_it_is_read_again_alone_leaves_the_others_answered(
    services: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = contacts(3)
    messaged(services.campaigns, clock, 3)
    services.follower.catch_up()
    reads = gate_reads_of(services)
    logged = [n.id for n in reads.read(**asks(people, 0, 100)[0]).new]
    asked = asks(people[:2], 0, 2) + asks(people[2:], logged[1], 2)
    connections = services.loop_connections
    assert connections is not None
    real = connections.connection
    lent: list[bool] = []
    third, go_on = asyncio.Event(), asyncio.Event()

    @asynccontextmanager
    async def held_at_the_third(*, writes: bool = False) -> AsyncIterator[Any]:
        lent.append(writes)
        if len(lent) == 3:  # the last read's own statement: held until the test lets it go
            third.set()
            await go_on.wait()
        async with real(writes=writes) as conn:
            yield conn

    monkeypatch.setattr(connections, "connection", held_at_the_third)
    tasks = [asyncio.create_task(reads.read_on_loop(**a)) for a in asked]
    await third.wait()  # the last is being read again alone

    tasks[2].cancel()  # taken before the held statement goes on (both woken in this order)
    go_on.set()
    done = await asyncio.gather(*tasks, return_exceptions=True)

    assert done[:2] == [reads.read(**a) for a in asked[:2]]
    assert isinstance(done[2], asyncio.CancelledError)
