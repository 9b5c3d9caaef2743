"""One contract for both ContactSpools: the SQLite file the service uses, and the lists."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.contact_spool import SqliteContactSpool
from app.campaigns import CampaignsApp
from app.ports import ContactSpool
from app.screening import MemoryContactSpool
from domain.audience import CHUNK_SIZE, Audience, content_hash
from domain.contacts import Contact, chat_id_for_e164


def a_contact(i: int, name: str | None = None, **variables: str) -> Contact:
    phone = f"+49151{10000000 + i}"
    return Contact(phone, chat_id_for_e164(phone), name, variables)


@pytest.fixture(params=["sqlite", "memory"])
def spool(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ContactSpool]:
    made: ContactSpool = (
        SqliteContactSpool(tmp_path) if request.param == "sqlite" else MemoryContactSpool()
    )
    yield made
    made.close()


def test_kept_contacts_come_back_in_order_with_their_rows(spool: ContactSpool) -> None:
    first, second = a_contact(1, "Ana", city="Köln"), a_contact(0)

    assert spool.keep(3, first) is None
    assert spool.keep(7, second) is None

    assert len(spool) == 2
    assert list(spool.kept()) == [(3, first), (7, second)]


def test_a_phone_kept_already_is_dropped_and_names_the_first_row(spool: ContactSpool) -> None:
    spool.keep(0, a_contact(1, "Ana"))
    spool.keep(1, a_contact(2))

    assert spool.keep(5, a_contact(1, "Ana again")) == 0
    assert spool.keep(6, a_contact(2)) == 1
    assert len(spool) == 2
    assert [contact.name for _, contact in spool.kept()] == ["Ana", None]


def test_kept_reads_from_the_contact_asked_for(spool: ContactSpool) -> None:
    for i in range(2500):
        spool.keep(i * 2, a_contact(i))

    later = list(spool.kept(2498))

    assert later == [(4996, a_contact(2498)), (4998, a_contact(2499))]


def test_closing_the_sqlite_spool_deletes_its_file(tmp_path: Path) -> None:
    spool = SqliteContactSpool(tmp_path)
    spool.keep(0, a_contact(0))
    assert spool.path.parent == tmp_path
    assert spool.path.exists()

    spool.close()

    assert list(tmp_path.iterdir()) == []


def test_a_half_written_audience_is_finished_from_a_spool(
    spool: ContactSpool, campaigns: CampaignsApp
) -> None:
    kept = [a_contact(i, f"Name {i}") for i in range(2500)]
    for row, contact in enumerate(kept):
        spool.keep(row, contact)
    crashed = Audience.frozen(content_hash(kept), len(kept))
    crashed.add_chunk(kept[:CHUNK_SIZE])
    campaigns.save(crashed)  # a write that stopped after its first chunk

    def read(start: int) -> Iterator[Contact]:
        return (contact for _, contact in spool.kept(start))

    audience = campaigns.record_audience_from(read, Audience.frozen(content_hash(kept), 2500))

    assert audience.id == crashed.id
    assert list(campaigns.audience_contacts(audience.id)) == kept
