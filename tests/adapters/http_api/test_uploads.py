"""Multipart uploads: a campaign with a contacts CSV, and images for POST /media."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import aiohttp

from app.settings import Settings
from tests.adapters.http_api.conftest import (
    MAX_UPLOAD,
    PNG,
    Client,
    assert_problem,
    campaign_body,
    file_warnings,
    finish_runs,
)
from tests.fakes.gateway import FakeWahaGateway


def campaign_form(csv_text: str, **fields: Any) -> aiohttp.FormData:
    campaign = campaign_body(**fields)
    del campaign["contacts"]
    form = aiohttp.FormData()
    form.add_field("campaign", json.dumps(campaign), content_type="application/json")
    form.add_field("contacts", csv_text.encode(), filename="contacts.csv", content_type="text/csv")
    return form


def image_form(data: bytes, filename: str = "photo.png", field: str = "file") -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field(field, data, filename=filename, content_type="image/png")
    return form


async def test_a_campaign_with_a_contacts_csv(client: Client, gateway: FakeWahaGateway) -> None:
    csv_text = (
        "\ufeffPhone,Name,code\r\n"
        "+4915110000000,Ana,A1\r\n"
        "\r\n"
        "+4915110000001,,\r\n"
        "+49151 1000 0000,Ana again,A2\r\n"
    )
    form = campaign_form(
        csv_text, message={"text": "Hi {name}, {code}", "defaults": {"name": "there", "code": "-"}}
    )

    response = await client.post("/campaigns", data=form)
    created = await response.json()
    await finish_runs(client)

    assert response.status == 201, created
    assert created["total"] == 2
    assert created["duplicates"] == [
        {"position": 2, "value": "+49151 1000 0000", "first_position": 0}
    ]
    assert [s.text for s in gateway.sent] == ["Hi Ana, A1", "Hi there, -"]


async def test_a_semicolon_csv_is_read_too(client: Client, gateway: FakeWahaGateway) -> None:
    form = campaign_form("phone;name\n+4915110000000;Ana\n")

    response = await client.post("/campaigns", data=form)
    await finish_runs(client)

    assert response.status == 201
    assert [s.text for s in gateway.sent] == ["Hello Ana"]


async def test_a_bad_phone_in_the_csv_names_its_row(client: Client) -> None:
    form = campaign_form("phone,name\n+4915110000000,Ana\n12345,Bo\n")

    response = await client.post("/campaigns", data=form)

    assert response.status == 422
    problem = await response.json()
    assert [(e["field"], e["value"]) for e in problem["errors"]] == [("contacts[1].phone", "12345")]


async def test_a_csv_without_a_phone_column_is_refused(client: Client) -> None:
    response = await client.post(
        "/campaigns", data=campaign_form("number,name\n+4915110000000,A\n")
    )

    assert response.status == 422
    problem = await response.json()
    assert problem["errors"] == [
        {
            "field": "contacts",
            "reason": "the header row has no phone column (its columns: number, name); "
            "name one 'phone', or pick it with phone_column",
        }
    ]


async def test_a_csv_row_longer_than_the_header_is_refused(client: Client) -> None:
    response = await client.post("/campaigns", data=campaign_form("phone\n+4915110000000,extra\n"))

    assert response.status == 422
    assert "line 2" in (await response.json())["errors"][0]["reason"]


async def test_a_csv_that_is_not_utf8_is_refused_saying_how_to_fix_it(client: Client) -> None:
    form = aiohttp.FormData()
    form.add_field("campaign", json.dumps({"name": "x", "message": {"text": "Hi"}}))
    form.add_field(
        "contacts", "phone,name\n+4915110000000,Jos\xe9\n".encode("latin-1"), filename="c.csv"
    )

    response = await client.post("/campaigns", data=form)

    assert response.status == 422
    (error,) = (await response.json())["errors"]
    assert error["field"] == "contacts"
    assert 'save it as "CSV UTF-8"' in error["reason"]
    assert "give its encoding with encoding" in error["reason"]


async def test_the_form_needs_both_fields(client: Client) -> None:
    form = aiohttp.FormData(default_to_multipart=True)
    form.add_field("campaign", json.dumps({"name": "x", "message": {"text": "Hi"}}))

    response = await client.post("/campaigns", data=form)

    assert response.status == 422
    assert (await response.json())["errors"] == [{"field": "contacts", "reason": "required"}]


async def test_contacts_in_both_the_form_and_the_json_are_refused(client: Client) -> None:
    form = aiohttp.FormData()
    form.add_field("campaign", json.dumps(campaign_body()))
    form.add_field("contacts", b"phone\n+4915110000000\n", filename="c.csv")

    response = await client.post("/campaigns", data=form)

    assert response.status == 422
    assert [e["field"] for e in (await response.json())["errors"]] == ["contacts"]


async def test_an_oversized_csv_is_refused(client: Client) -> None:
    rows = "".join(f"+49151{10000000 + i},Name {i}\n" for i in range(MAX_UPLOAD // 20))

    response = await client.post("/campaigns", data=campaign_form("phone,name\n" + rows))

    assert response.status == 413
    assert_problem(await response.json(), 413)


async def test_an_image_is_stored_by_its_content(client: Client, settings: Settings) -> None:
    response = await client.post("/media", data=image_form(PNG, filename="../../etc/passwd"))

    assert response.status == 201
    stored = await response.json()
    digest = hashlib.sha256(PNG).hexdigest()
    assert stored == {
        "id": digest,
        "sha256": digest,
        "mimetype": "image/png",
        "size": len(PNG),
        "kind": "image",
        "filename": None,
    }
    media_dir = Path(settings.campaigns_media_dir)
    assert [p.name for p in media_dir.iterdir()] == [f"{digest}.png"]


async def test_a_campaign_sends_an_uploaded_image_with_the_text_as_caption(
    client: Client, gateway: FakeWahaGateway
) -> None:
    media = await (await client.post("/media", data=image_form(PNG))).json()

    response = await client.post(
        "/campaigns",
        json=campaign_body(1, message={"text": "Look {name}", "media_id": media["id"]}),
    )
    created = await response.json()
    await finish_runs(client)

    assert response.status == 201
    assert created["message"]["image"] == {
        "media_id": media["id"],
        "sha256": media["sha256"],
        "mimetype": "image/png",
        "size": len(PNG),
        "kind": "image",
    }
    assert gateway.sent[0].text == "Look Contact 0"
    assert gateway.sent[0].image is not None
    assert gateway.sent[0].image.data == PNG


async def test_a_file_that_is_no_media_kind_is_refused(client: Client, settings: Settings) -> None:
    response = await client.post("/media", data=image_form(b"MZ\x90\x00 a Windows program"))

    assert response.status == 415
    assert response.content_type == "application/problem+json"
    assert_problem(await response.json(), 415)
    assert not Path(settings.campaigns_media_dir).exists()


async def test_an_oversized_image_is_refused(client: Client) -> None:
    response = await client.post("/media", data=image_form(PNG + b"\x00" * MAX_UPLOAD))

    assert response.status == 413
    assert_problem(await response.json(), 413)


async def test_media_needs_a_multipart_body(client: Client) -> None:
    response = await client.post("/media", data=PNG, headers={"Content-Type": "image/png"})

    assert response.status == 415


async def test_media_needs_its_file_field(client: Client) -> None:
    form = aiohttp.FormData()
    form.add_field("image", PNG, filename="a.png")

    response = await client.post("/media", data=form)

    assert response.status == 422
    assert (await response.json())["errors"][0]["field"] == "image"


async def test_a_csv_column_named_as_people_write_it_is_a_variable(
    client: Client, gateway: FakeWahaGateway
) -> None:
    form = campaign_form(
        "phone,name,Promo Code\n+4915110000000,Ana,A1\n",
        message={"text": "Hi {name}, use {promo_code}"},
    )

    response = await client.post("/campaigns", data=form)
    created = await response.json()
    await finish_runs(client)

    assert response.status == 201, created
    assert file_warnings(created) == []
    assert [s.text for s in gateway.sent] == ["Hi Ana, use A1"]


async def test_concurrent_uploads_of_one_image_all_succeed(
    client: Client, settings: Settings
) -> None:
    responses = await asyncio.gather(
        *(client.post("/media", data=image_form(PNG)) for _ in range(8))
    )

    assert [r.status for r in responses] == [201] * 8
    digest = hashlib.sha256(PNG).hexdigest()
    assert [p.name for p in Path(settings.campaigns_media_dir).iterdir()] == [f"{digest}.png"]
