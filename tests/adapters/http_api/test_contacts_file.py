"""POST /campaigns with a contacts file as spreadsheets make them, and template errors told once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from app.settings import Settings
from tests.adapters.http_api.conftest import (
    Client,
    assert_problem,
    campaign_body,
    file_warnings,
    finish_runs,
    make_settings,
)
from tests.builders import xlsx
from tests.fakes.gateway import FakeWahaGateway

BIG_UPLOAD = 1024 * 1024
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Room for 10,000 contacts in one upload.
    return make_settings(tmp_path, campaigns_max_upload_bytes=BIG_UPLOAD)


def file_form(data: bytes, *, content_type: str = "text/csv", **fields: Any) -> aiohttp.FormData:
    campaign = campaign_body(**fields)
    del campaign["contacts"]
    form = aiohttp.FormData()
    form.add_field("campaign", json.dumps(campaign), content_type="application/json")
    form.add_field("contacts", data, filename="contacts.csv", content_type=content_type)
    return form


async def post(client: Client, form: aiohttp.FormData) -> tuple[int, dict[str, Any]]:
    response = await client.post("/campaigns", data=form)
    return response.status, await response.json()


async def recorded_campaigns(client: Client) -> list[Any]:
    items: list[Any] = (await (await client.get("/campaigns")).json())["items"]
    return items


# -- reading spreadsheets' files --------------------------------------------------------------


async def test_a_spreadsheets_csv_with_free_form_names_is_read_and_repeats_warned(
    client: Client, gateway: FakeWahaGateway
) -> None:
    data = (
        b"Phone;First Name;E-mail;first_name;Notes (2026)\n"
        b"+4915110000000;Ana;ana@example.com;ignored;vip\n"
    )
    form = file_form(data, message={"text": "Hi {first_name} <{e_mail}>"})

    status, created = await post(client, form)
    await finish_runs(client)

    assert status == 201, created
    assert [s.text for s in gateway.sent] == ["Hi Ana <ana@example.com>"]
    assert file_warnings(created) == [
        (
            "column 4 'first_name' is ignored: column 2 'First Name' has the same name "
            "(first_name) and is used"
        )
    ]


async def test_an_xlsx_upload_is_known_by_its_content_not_its_name(
    client: Client, gateway: FakeWahaGateway
) -> None:
    data = xlsx(["Mobile", "Name", "Since"], [4915110000000, "Ana", 2019.0])
    form = file_form(data, message={"text": "{name}, with us since {since}"}, phone_column="MOBILE")

    status, created = await post(client, form)
    await finish_runs(client)

    assert status == 201, created
    assert [(s.chat_id, s.text) for s in gateway.sent] == [
        ("4915110000000@c.us", "Ana, with us since 2019")
    ]
    assert file_warnings(created) == []


async def test_a_phone_column_that_is_not_there_names_phone_column(client: Client) -> None:
    form = file_form(b"tel,name\n+4915110000000,Ana\n", phone_column="mobile")

    status, problem = await post(client, form)

    assert status == 422
    assert_problem(problem, 422)
    assert problem["errors"] == [
        {
            "field": "phone_column",
            "reason": "the header row has no column 'mobile' (its columns: tel, name)",
        }
    ]
    assert await recorded_campaigns(client) == []


async def test_a_latin1_csv_is_refused_saying_how_to_fix_it_and_read_with_its_encoding(
    client: Client, gateway: FakeWahaGateway
) -> None:
    data = "phone,name\n+4915110000000,Jos\u00e9\n".encode("latin-1")

    refused_status, problem = await post(client, file_form(data))
    status, created = await post(client, file_form(data, encoding="cp1252"))
    await finish_runs(client)

    assert refused_status == 422
    (error,) = problem["errors"]
    assert error["field"] == "contacts"
    assert 'save it as "CSV UTF-8"' in error["reason"]
    assert status == 201, created
    assert [s.text for s in gateway.sent] == ["Hello Jos\u00e9"]


async def test_an_unknown_encoding_is_its_own_problem(client: Client) -> None:
    status, problem = await post(client, file_form(b"phone\n+4915110000000\n", encoding="klingon"))

    assert status == 422
    assert [e["field"] for e in problem["errors"]] == ["encoding"]
    assert "'klingon' is not a text encoding" in problem["errors"][0]["reason"]
    assert await recorded_campaigns(client) == []


async def test_a_file_that_cannot_be_read_records_nothing(client: Client) -> None:
    status, problem = await post(client, file_form(b"PK\x03\x04 not really a workbook"))

    assert status == 422
    assert problem["errors"] == [
        {"field": "contacts", "reason": "the file starts like an XLSX workbook but is damaged"}
    ]
    assert await recorded_campaigns(client) == []


# -- numbers ----------------------------------------------------------------------------------


async def test_00_before_the_country_is_the_international_prefix(
    client: Client, gateway: FakeWahaGateway
) -> None:
    form = file_form(b"phone,name\n0049 151 10000000,Ana\n")

    status, created = await post(client, form)
    await finish_runs(client)

    assert status == 201, created
    assert [s.chat_id for s in gateway.sent] == ["4915110000000@c.us"]


async def test_a_national_number_without_a_region_is_still_refused(client: Client) -> None:
    status, problem = await post(client, file_form(b"phone\n0151 10000000\n"))

    assert status == 422
    assert problem["errors"] == [
        {
            "field": "contacts[0].phone",
            "value": "0151 10000000",
            "reason": "no country code; write it as +<country><number> or set a default region",
        }
    ]


# -- template errors, once ----------------------------------------------------------------------


def many_rows(n: int, *, code_until: int = 0) -> bytes:
    rows = "".join(
        f"+49151{10000000 + i},Name {i},{'C' if i < code_until else ''}\n" for i in range(n)
    )
    return ("phone,name,code\n" + rows).encode()


async def test_a_template_typo_is_one_small_problem_for_10_000_contacts(client: Client) -> None:
    form = file_form(many_rows(10_000, code_until=1), message={"text": "Hi {nmae}, {code}"})

    response = await client.post("/campaigns", data=form)
    body = await response.read()

    assert response.status == 422
    problem = json.loads(body)
    assert problem["errors"][0] == {
        "field": "message.text",
        "value": "{nmae}",
        "reason": "no contact has a nmae column or variable and there is no default for it "
        "(the contacts have: code, name); did you mean {name}?",
    }
    assert [e["field"] for e in problem["errors"]] == ["message.text", "contacts"]
    assert problem["errors"][1]["reason"].startswith(
        "9999 contact(s) have empty values the template needs ({code} 9999)"
    )
    assert problem["errors"][1]["reason"].count("contacts[") == 20
    assert problem["errors"][1]["reason"].endswith("; and 9979 more")
    assert len(body) < 3000
    assert await recorded_campaigns(client) == []


async def test_a_default_fills_the_empty_cells(client: Client, gateway: FakeWahaGateway) -> None:
    form = file_form(
        many_rows(3, code_until=1), message={"text": "{code}", "defaults": {"code": "-"}}
    )

    status, created = await post(client, form)
    await finish_runs(client)

    assert status == 201, created
    assert [s.text for s in gateway.sent] == ["C", "-", "-"]


# -- the JSON body keeps its contract -----------------------------------------------------------


async def test_json_variables_must_still_be_variable_names(client: Client) -> None:
    rows = [{"phone": "+4915110000000", "variables": {"First Name": "Ana"}}]

    response = await client.post("/campaigns", json=campaign_body(contacts=rows))

    assert response.status == 422
    assert [e["field"] for e in (await response.json())["errors"]] == [
        "contacts[0].variables.First Name"
    ]


async def test_json_takes_the_new_fields_and_answers_no_warnings(client: Client) -> None:
    body = campaign_body(phone_column="mobile", encoding="latin-1")

    response = await client.post("/campaigns", json=body)
    bad = await client.post("/campaigns", json=campaign_body(encoding="hex"))

    assert response.status == 201
    assert file_warnings(await response.json()) == []
    assert bad.status == 422
    assert [e["field"] for e in (await bad.json())["errors"]] == ["encoding"]
