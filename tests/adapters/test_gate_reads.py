"""The gates' own reads (SQLite, PostgreSQL) answer as the library's recorder and read model do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.bootstrap import Services, build, gate_reads_of
from adapters.postgres_gate_reads import PostgresGateReads
from adapters.sqlite_gate_reads import SQLiteGateReads
from app.gate_reads import GateRead, StoreGateReads
from app.settings import load_settings
from domain.campaign import Campaign
from domain.contacts import ChatId
from domain.opt_out import opt_out_id
from domain.session import SessionName
from tests.builders import contacts, messaged
from tests.fakes.system import ManualClock

TOPICS = (Campaign.AttemptStarted.TOPIC, Campaign.ContactAttempted.TOPIC)


@pytest.fixture(params=["sqlite", "postgres"])
def services(
    request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock
) -> Iterator[Services]:
    url = (
        f"sqlite:///{tmp_path / 'campaigns.sqlite3'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    settings = load_settings(
        {}, campaigns_database_url=url, campaigns_media_dir=str(tmp_path / "media")
    )
    built = build(settings, clock=clock)
    yield built
    built.close()


def comparable(read: GateRead) -> tuple[Any, ...]:
    return (
        [(n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in read.new],
        None
        if read.opt_out is None
        else (read.opt_out.originator_id, read.opt_out.originator_version, read.opt_out.state),
        read.last_sent,
        read.chat_asked,
    )


def test_the_gates_read_through_their_own_connection(services: Services) -> None:
    url = services.settings.campaigns_database_url
    reads = gate_reads_of(url, services.campaigns, services.contacts)

    if url.startswith("sqlite"):
        assert isinstance(reads, SQLiteGateReads)
        assert reads.local
    else:  # one round trip for the three reads, off the loop
        assert isinstance(reads, PostgresGateReads)
        assert not reads.local


@pytest.mark.parametrize("after", [0, 3, 10])
def test_both_readers_give_the_same_answer(
    services: Services, clock: ManualClock, after: int
) -> None:
    people = contacts(3)
    services.opt_outs.add([people[0].phone], source="api", note="x")
    services.opt_outs.remove(people[0].phone)
    services.opt_outs.add([people[0].phone], source="import")
    messaged(services.campaigns, clock, 3)
    services.follower.catch_up()
    own = gate_reads_of(
        services.settings.campaigns_database_url, services.campaigns, services.contacts
    )
    library = StoreGateReads(services.campaigns, services.contacts)

    for phone, chat in ((people[0].phone, "4915110000001@c.us"), (people[2].phone, None)):
        asked: dict[str, Any] = {
            "after": after,
            "topics": TOPICS,
            "limit": 4,
            "opt_out_id": opt_out_id(phone),
            "session": "default",
            "chat_id": chat,
        }
        assert comparable(own.read(**asked)) == comparable(library.read(**asked))

    answer = own.read(
        after=0,
        topics=TOPICS,
        limit=100,
        opt_out_id=opt_out_id(people[0].phone),
        session=SessionName("default"),
        chat_id=ChatId("4915110000001@c.us"),
    )
    assert [n.topic for n in answer.new] == [t for _ in range(3) for t in TOPICS]
    assert answer.opt_out is not None
    assert answer.opt_out.originator_version == 3
    assert answer.last_sent is not None
