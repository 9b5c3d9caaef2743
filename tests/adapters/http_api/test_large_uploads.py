"""Large contacts files through POST /campaigns: spooled to disk, screened in a pass, recorded.

The audience recorded from a 30,000-row upload is compared with the one the in-memory path
(the reader, then normalise_audience) makes of the same bytes, and the temporary files
(the upload, the spool of kept contacts) are gone once the answer is sent.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import aiohttp
import pytest

from adapters.bootstrap import Services
from adapters.contacts_file import read_contacts_file
from adapters.http_api.schemas import CampaignFields
from app.audience import normalise_audience
from app.idempotency import digest
from app.settings import Settings
from domain.audience import Audience, content_hash
from tests.adapters.http_api.conftest import Client, campaign_body, make_settings
from tests.fakes.system import ManualClock

ROWS = 30_000
UPLOAD_LIMIT = 2 * 1024 * 1024
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, campaigns_max_upload_bytes=UPLOAD_LIMIT)


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder the service's uploads and spools are made in, for this test."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def phone(i: int) -> str:
    return f"+49151{10000000 + i}"


def rows_csv(rows: int, *, repeat_every: int = 0, bad_every: int = 0) -> bytes:
    """Return a CSV of `rows` contacts, some repeated or bad.

    Every `repeat_every`-th row repeats the row before's phone, written another way; every
    `bad_every`-th has a phone too short to be one.
    """
    lines = ["Phone,Name,Code\n"]
    for i in range(rows):
        written = phone(i)
        if repeat_every and i % repeat_every == repeat_every - 1:
            written = "00" + phone(i - 1)[1:]  # the row before's, with the international prefix
        if bad_every and i % bad_every == bad_every - 1:
            written = "+49 12"
        lines.append(f"{written},Name {i},{'C' if i % 3 else ''}\n")
    return "".join(lines).encode()


def file_form(data: bytes, **fields: Any) -> aiohttp.FormData:
    campaign = campaign_body(**fields)
    del campaign["contacts"]
    form = aiohttp.FormData()
    form.add_field("campaign", json.dumps(campaign), content_type="application/json")
    form.add_field("contacts", data, filename="contacts.csv", content_type="text/csv")
    return form


def recorded_events(services: Services) -> int:
    return len(services.campaigns.recorder.select_notifications(start=1, limit=10))


async def test_a_30000_row_file_is_recorded_as_the_same_audience_as_in_memory(
    client: Client, services: Services, scratch: Path, clock: ManualClock
) -> None:
    data = rows_csv(ROWS, repeat_every=20)
    future = (clock.now() + timedelta(days=30)).isoformat()  # recorded, not run

    response = await client.post(
        "/campaigns", data=file_form(data, scheduled_for=future, message={"text": "Hi {name}"})
    )
    created = await response.json()

    assert response.status == 201, created
    expected = normalise_audience(read_contacts_file(data).contacts, default_region=None)
    campaign_id = UUID(created["id"])
    audience = services.campaigns.load(campaign_id).audience
    assert audience["content_hash"] == content_hash(expected.contacts)
    in_memory = Audience.frozen(content_hash(expected.contacts), len(expected.contacts))
    assert audience["id"] == str(in_memory.id)
    assert audience["size"] == created["total"] == len(expected.contacts) == ROWS - ROWS // 20
    assert services.campaigns.audience_of(campaign_id) == expected.contacts
    assert created["duplicates_total"] == len(expected.duplicates) == ROWS // 20
    assert created["duplicates"] == [asdict(d) for d in expected.duplicates[:1000]]
    assert list(scratch.iterdir()) == []  # the upload and the spool are deleted


async def test_bad_rows_of_a_large_file_are_named_to_1000_counted_and_nothing_recorded(
    client: Client, services: Services, scratch: Path
) -> None:
    data = rows_csv(12_000, bad_every=10)

    response = await client.post("/campaigns", data=file_form(data))
    problem = await response.json()

    assert response.status == 422
    assert problem["detail"] == "1200 contact(s) have unusable phone numbers"
    assert len(problem["errors"]) == 1001
    assert problem["errors"][0] == {
        "field": "contacts[9].phone",
        "value": "+49 12",
        "reason": "not a valid phone number for its country",
    }
    assert problem["errors"][999]["field"] == "contacts[9999].phone"
    assert problem["errors"][1000] == {
        "field": "contacts",
        "reason": "and 200 more contact(s) with unusable phone numbers (the first 1000 are listed)",
    }
    assert recorded_events(services) == 0  # no campaign, and no part of an audience
    assert list(scratch.iterdir()) == []


async def test_a_value_missing_in_the_last_row_records_nothing(
    client: Client, services: Services, scratch: Path
) -> None:
    data = rows_csv(ROWS) + f"{phone(ROWS)},Last,\n".encode()

    response = await client.post("/campaigns", data=file_form(data, message={"text": "{code}"}))
    problem = await response.json()

    assert response.status == 422
    assert problem["errors"][0]["reason"].startswith(
        f"{ROWS // 3 + 1} contact(s) have empty values the template needs ({{code}} "
    )
    assert recorded_events(services) == 0
    assert list(scratch.iterdir()) == []


async def test_a_file_over_the_limit_without_a_declared_length_is_refused_while_it_streams(
    client: Client, services: Services, scratch: Path
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"phone\n"
        for start in range(0, 2 * UPLOAD_LIMIT, 100_000):
            yield b"".join(f"{phone(i)}\n".encode() for i in range(start, start + 6_000))

    form = aiohttp.FormData()
    campaign = campaign_body()
    del campaign["contacts"]
    form.add_field("campaign", json.dumps(campaign), content_type="application/json")
    form.add_field("contacts", chunks(), filename="contacts.csv", content_type="text/csv")

    response = await client.post("/campaigns", data=form)
    problem = await response.json()

    assert response.status == 413
    assert problem["max_bytes"] == UPLOAD_LIMIT
    assert recorded_events(services) == 0
    assert list(scratch.iterdir()) == []


async def test_a_previewed_large_file_lists_the_first_1000_rejects_and_counts_them_all(
    client: Client, services: Services, scratch: Path
) -> None:
    data = rows_csv(ROWS, repeat_every=20)

    response = await client.post("/campaigns/preview", data=file_form(data))
    preview = await response.json()

    assert response.status == 200, preview
    assert preview["total"] == ROWS - ROWS // 20
    assert preview["rejects_total"] == ROWS // 20
    assert len(preview["rejects"]) == 1000
    assert preview["rejects"][0] == {
        "position": 19,
        "phone": "00" + phone(18)[1:],
        "reason": "duplicate",
        "detail": "same number as contacts[18]: dropped",
    }
    assert recorded_events(services) == 0
    assert list(scratch.iterdir()) == []


async def test_a_spooled_files_idempotency_hash_is_the_one_its_bytes_had(
    client: Client, services: Services
) -> None:
    # Keys recorded before uploads were spooled hashed the bytes in memory: they still match.
    data = rows_csv(50)
    form = file_form(data)

    response = await client.post("/campaigns", data=form, headers={"Idempotency-Key": "k-1"})
    created = await response.json()

    assert response.status == 201, created
    fields = campaign_body()
    del fields["contacts"]
    as_sent = CampaignFields.model_validate(fields).model_dump(mode="json")
    recorded = services.campaigns.load(UUID(created["id"])).idempotency
    assert recorded == {"key": "k-1", "body_sha256": digest(as_sent, data)}
