"""A large audience is recorded and read a few chunks at a time; a half-written one is finished."""

from __future__ import annotations

import pytest

from app import campaigns as campaigns_module
from app.campaigns import CampaignsApp
from domain.audience import CHUNK_SIZE, Audience, content_hash
from domain.contacts import Contact, chat_id_for_e164


def people(count: int, offset: int = 0) -> list[Contact]:
    return [
        Contact(
            phone=f"+4915{100000000 + offset + i}",
            chat_id=chat_id_for_e164(f"+4915{100000000 + offset + i}"),
            name=f"P{i}",
            variables={"n": str(i)},
        )
        for i in range(count)
    ]


@pytest.fixture
def two_chunks_per_write(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(campaigns_module, "AUDIENCE_CHUNKS_PER_WRITE", 2)


def stored_versions(campaigns: CampaignsApp, audience: Audience) -> list[int]:
    return [e.originator_version for e in campaigns.recorder.select_events(audience.id)]


@pytest.mark.usefixtures("two_chunks_per_write")
def test_an_audience_is_written_in_parts_and_read_back_in_order(campaigns: CampaignsApp) -> None:
    contacts = people(5 * CHUNK_SIZE + 7)
    saves_before = campaigns.saves_so_far

    audience = campaigns.record_audience(contacts)

    # AudienceFrozen and six chunks, two chunks to a write: three writes, not one of everything.
    assert stored_versions(campaigns, audience) == list(range(1, 8))
    assert campaigns.saves_so_far - saves_before == 3
    assert list(campaigns.audience_contacts(audience.id)) == contacts
    assert audience.id == Audience.freeze(contacts).id  # named by content, however written
    loaded: Audience = campaigns.repository.get(audience.id)
    assert (loaded.added, loaded.size, loaded.complete) == (len(contacts), len(contacts), True)


@pytest.mark.usefixtures("two_chunks_per_write")
def test_a_half_written_audience_is_finished_from_where_it_stands(
    campaigns: CampaignsApp,
) -> None:
    contacts = people(4 * CHUNK_SIZE)
    half = Audience.frozen(content_hash(contacts), len(contacts))
    half.add_chunk(contacts[:CHUNK_SIZE])
    campaigns.save(half)  # as a crash after the first write would leave it

    audience = campaigns.record_audience(contacts)

    assert stored_versions(campaigns, audience) == [1, 2, 3, 4, 5]
    assert list(campaigns.audience_contacts(audience.id)) == contacts


def test_a_whole_audience_is_not_written_twice(campaigns: CampaignsApp) -> None:
    contacts = people(3)
    first = campaigns.record_audience(contacts)
    saves = campaigns.saves_so_far

    again = campaigns.record_audience(contacts)

    assert again.id == first.id
    assert campaigns.saves_so_far == saves
    assert stored_versions(campaigns, first) == [1, 2]


@pytest.mark.parametrize(
    ("size", "chunks"),
    [
        (CHUNK_SIZE, [CHUNK_SIZE + 1]),  # too long
        (CHUNK_SIZE + 5, [3]),  # short, yet not the last
        (CHUNK_SIZE + 5, [CHUNK_SIZE, 6]),  # past the end
        (2, [2, 1]),  # after the last
    ],
)
def test_a_chunk_that_breaks_the_audience_order_is_refused(size: int, chunks: list[int]) -> None:
    contacts = people(size + 10)
    audience = Audience.frozen("hash", size)
    start = 0
    for length in chunks[:-1]:
        audience.add_chunk(contacts[start : start + length])
        start += length
    with pytest.raises(ValueError, match="chunk"):
        audience.add_chunk(contacts[start : start + chunks[-1]])


@pytest.mark.usefixtures("two_chunks_per_write")
def test_a_write_that_failed_is_written_again_not_skipped(
    campaigns: CampaignsApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    contacts = people(8 * CHUNK_SIZE)
    insert = campaigns.recorder.insert_events
    calls = {"n": 0}

    def failing_once_after_two(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("database is locked")
        return insert(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(campaigns.recorder, "insert_events", failing_once_after_two)
    with pytest.raises(OSError, match="locked"):
        campaigns.record_audience(contacts)

    audience = campaigns.record_audience(contacts)  # the caller tries again

    assert stored_versions(campaigns, audience) == list(range(1, 10))
    assert list(campaigns.audience_contacts(audience.id)) == contacts
