"""The new-campaign form: preview with the scheduling checks (nothing recorded), then create."""

from __future__ import annotations

import io
import re
from typing import Any

import aiohttp
from openpyxl import Workbook

from adapters.bootstrap import Services
from adapters.console.campaign_form import CampaignForm
from adapters.console.drafts import Draft, Upload
from adapters.console.new_campaign import check
from tests.adapters.console.conftest import Client, csrf_of, finish_runs
from tests.adapters.console.samples import NOW
from tests.adapters.http_api.conftest import PNG

CSV = (
    "phone,name,city\n+4915130000001,Ana,Berlin\nnot a phone,Bad,Nowhere\n+4915130000002,Ben,Köln\n"
)


def _form(page: str, **fields: str) -> aiohttp.FormData:
    data = aiohttp.FormData()
    data.add_field("csrf", csrf_of(page))
    for name in ("draft", "previewed"):
        found = re.search(rf'name="{name}" value="([^"]*)"', page)
        data.add_field(name, found.group(1) if found else "")
    values = {
        "name": "From a file",
        "session": "default",
        "text": "Hi {name} in {city}",
        "pacing_min": "0",
        "pacing_max": "0",
        "utc_offset": "+00:00",
        "auto_resume": "on",
    }
    for name, value in (values | fields).items():
        data.add_field(name, value)
    return data


async def _send(client: Client, data: aiohttp.FormData) -> tuple[int, str]:
    response = await client.post("/ui/campaigns/new", data=data)
    return response.status, await response.text()


async def preview(
    client: Client, contacts: bytes, filename: str = "contacts.csv", **fields: Any
) -> tuple[int, str]:
    page = await (await client.get("/ui/campaigns/new")).text()
    data = _form(page, action="preview", **fields)
    data.add_field("contacts", contacts, filename=filename, content_type="text/csv")
    return await _send(client, data)


async def test_the_preview_lists_the_bad_row_and_the_first_messages_and_records_nothing(
    signed_in: Client, services: Services
) -> None:
    status, page = await preview(signed_in, CSV.encode())

    assert status == 200
    assert "<strong>2</strong> of 3 rows would be sent to" in page
    assert "<td>line 3</td><td>not a phone</td><td>not a phone number</td>" in page
    assert "Hi Ana in Berlin" in page
    assert "Hi Ben in Köln" in page
    assert 'id="create-button"' in page
    assert services.campaigns.all_campaign_ids() == []


async def test_creating_after_the_preview_leaves_the_bad_row_out(
    signed_in: Client, services: Services
) -> None:
    _, previewed = await preview(signed_in, CSV.encode())

    status, page = await _send(signed_in, _form(previewed, action="create"))
    await finish_runs(signed_in)

    assert status == 200
    assert "Campaign “From a file” created with 2 contacts; 1 row(s) with unusable" in page
    (campaign_id,) = services.campaigns.all_campaign_ids()
    view = services.campaigns.campaign(campaign_id)
    assert view.total == 2
    assert view.status == "Completed"


async def test_a_form_changed_since_its_preview_is_previewed_again_not_created(
    signed_in: Client, services: Services
) -> None:
    _, previewed = await preview(signed_in, CSV.encode())

    _, page = await _send(signed_in, _form(previewed, action="create", text="Other {name}"))

    assert "changed since the preview" in page
    assert "Other Ana" in page
    assert services.campaigns.all_campaign_ids() == []


async def test_bad_input_is_shown_next_to_its_field_and_kept(signed_in: Client) -> None:
    status, page = await preview(
        signed_in,
        CSV.encode(),
        name="Kept <name>",
        text="Hi {nmae}",
        pacing_min="60",
        pacing_max="5",
    )

    assert status == 422
    assert 'value="Kept &lt;name&gt;"' in page
    assert re.search(r'<p class="field-error" id="pacing-error">pacing min_seconds \(60\)', page)
    assert re.search(r'<p class="field-error" id="text-error">[^<]*did you mean \{name\}', page)
    assert "Hi {nmae}</textarea>" in page
    assert 'id="create-button"' not in page


async def test_a_file_without_the_phone_column_names_the_columns_it_has(signed_in: Client) -> None:
    status, page = await preview(signed_in, b"mobile,name\n+4915130000001,Ana\n")

    assert status == 422
    assert re.search(
        r'id="contacts-error">the header row has no phone column \(its columns: mobile, name\)',
        page,
    )

    assert "This file's columns: <code>mobile</code>, <code>name</code>." in page

    status, page = await preview(
        signed_in, b"mobile,name\n+4915130000001,Ana\n", phone_column="Mobile", text="Hi {name}"
    )

    assert status == 200
    assert "<strong>1</strong> of 1 rows would be sent to" in page


async def test_a_spreadsheet_and_an_image_make_a_campaign_with_both(
    signed_in: Client, services: Services
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Phone", "Name"])
    sheet.append(["+4915130000001", "Ana"])
    buffer = io.BytesIO()
    book.save(buffer)
    page = await (await signed_in.get("/ui/campaigns/new")).text()
    data = _form(page, action="preview", text="Hi {name}")
    data.add_field("contacts", buffer.getvalue(), filename="list.xlsx")
    data.add_field("image", PNG, filename="photo.png", content_type="image/png")
    _, previewed = await _send(signed_in, data)

    _, created = await _send(signed_in, _form(previewed, action="create", text="Hi {name}"))
    await finish_runs(signed_in)

    assert "Using <strong>list.xlsx</strong>" in previewed
    assert "row 2 · to Ana" in previewed
    assert "created with 1 contacts" in created
    (campaign_id,) = services.campaigns.all_campaign_ids()
    assert services.campaigns.campaign(campaign_id).message["image"]["mimetype"] == "image/png"


def test_the_preview_checks_the_schedule_and_the_image_without_recording() -> None:
    draft = Draft("d", "s", NOW, Upload("c.csv", CSV.encode()), Upload("x.png", b"not an image"))
    form = CampaignForm(name="x", text="Hi {name}", start_at="2020-01-01T09:00")

    checked = check(form, draft, now=NOW, default_region=None)

    assert checked.errors["start_at"] == "must not be in the past"
    assert checked.errors["image"] == "the file is not a PNG, JPEG, GIF or WebP image"
    assert checked.command is None


def test_a_start_time_is_read_in_the_offset_chosen() -> None:
    draft = Draft("d", "s", NOW, Upload("c.csv", CSV.encode()))
    form = CampaignForm(
        name="x", text="Hi {name}", start_at="2026-05-01T12:30", utc_offset="+02:00"
    )

    checked = check(form, draft, now=NOW, default_region=None)

    assert checked.errors == {}
    assert checked.preview is not None
    assert checked.preview.scheduled_for is not None
    assert checked.preview.scheduled_for.isoformat() == "2026-05-01T10:30:00+00:00"
    assert checked.command is not None
    assert len(list(checked.command.contacts)) == 2


def test_contacts_lacking_a_value_block_creating_and_are_listed() -> None:
    csv_text = "phone,name,city\n+4915130000001,Ana,Berlin\n+4915130000002,Ben,\n"
    draft = Draft("d", "s", NOW, Upload("c.csv", csv_text.encode()))

    checked = check(CampaignForm(name="x", text="Hi {city}"), draft, now=NOW, default_region=None)

    assert checked.command is None
    assert checked.preview is not None
    assert [(r.place, r.reason) for r in checked.preview.lacking] == [("line 3", "lacks {city}")]
    assert "lack values the message needs" in checked.errors["contacts"]
