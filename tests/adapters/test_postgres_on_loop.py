"""PostgreSQL on the event loop: the group commit's writes and the gates' reads, as the library's.

Against a database of each test's own on 127.0.0.1:5432.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError

from adapters.bootstrap import Services, build, loop_writer, running
from adapters.postgres_gate_reads import PostgresGateReads
from adapters.postgres_on_loop import LoopConnections, PostgresLoopWriter
from app.settings import load_settings
from domain.campaign import AttemptOutcome, Campaign
from domain.contacts import ChatId
from domain.opt_out import opt_out_id
from domain.session import SessionName
from tests.builders import contacts, scheduled
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
    assert writer is not None
    return writer


def started(services: Services, n: int = 2) -> Any:
    campaign = services.campaigns.load(scheduled(services.campaigns, n))
    campaign.start(at=services.clock.now())
    return campaign


async def test_a_write_on_the_loop_is_recorded_as_the_librarys_with_its_positions(
    services: Services,
) -> None:
    campaigns = services.campaigns
    campaign = started(services)  # version 2
    campaign.begin_attempt(
        index=0, attempt_id="a0", chat_id="4915100000000@c.us", at=services.clock.now()
    )  # version 3: a snapshot is due
    events = campaign.collect_events()
    stored, snapshots = campaigns.to_store(events, [campaign])

    positions = await writer_of(services).insert(stored, snapshots)

    logged = campaigns.recorder.select_notifications(start=positions[0], limit=10)
    assert [(n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in logged] == [
        (p, s.originator_id, s.originator_version, s.topic, s.state)
        for p, s in zip(positions, stored, strict=True)
    ]
    assert campaigns.snapshots is not None
    assert [
        s.originator_version for s in campaigns.snapshots.recorder.select_events(campaign.id)
    ] == [3]
    assert campaigns.load(campaign.id).status == "Running"


async def test_a_version_taken_fails_the_write_whole_snapshots_included(
    services: Services,
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
        await writer_of(services).insert(stored, snapshots)

    assert campaigns.recorder.max_notification_id() == last
    assert campaigns.snapshots is not None
    assert campaigns.snapshots.recorder.select_events(stale.id) == []
    assert campaigns.last_version(stale.id) == 2
    # Every connection is left fit for the next write (none is left in the failed transaction).
    for _ in range(4):
        fresh = started(services)
        await writer_of(services).insert(*campaigns.to_store(fresh.collect_events(), []))
        assert campaigns.last_version(fresh.id) == 2


async def test_a_connection_lost_before_a_write_is_replaced_and_the_write_goes_through(
    services: Services, postgres_url: str
) -> None:
    campaign = started(services)
    writer = writer_of(services)
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
    campaign = started(services, 2)
    for i in range(2):
        chat = f"49151{10000000 + i}@c.us"
        clock.advance(60)
        campaign.begin_attempt(index=i, attempt_id=f"a{i}", chat_id=chat, at=clock.now())
        campaign.record_attempt(
            index=i,
            chat_id=chat,
            outcome=AttemptOutcome.SENT,
            message_id=f"m{i}",
            attempt_id=f"a{i}",
            at=clock.now(),
        )
    services.campaigns.save(campaign)
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
