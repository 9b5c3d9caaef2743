"""The opt-outs page: the list, search, add, remove, import and export, over the application."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime

import aiohttp
import pytest
from eventsourcing.persistence import ConnectionUnavailableError

from adapters.bootstrap import Services
from adapters.console.opt_out_list import ListedOptOut, OptOutSlice, Search
from adapters.console.opt_outs_page import opt_out_listing, source_words
from domain.opt_out import OptOutEntry
from tests.adapters.console.conftest import Client, csrf_of
from tests.adapters.http_api.conftest import TOKEN

ANA = "+4915123456789"
BEN = "+4917012345678"
EVIL = '<script>alert("x")</script>'


async def _page(client: Client, path: str = "/ui/opt-outs") -> str:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    return await response.text()


async def _add(client: Client, phone: str, note: str = "") -> aiohttp.ClientResponse:
    page = await _page(client)
    return await client.post(
        "/ui/opt-outs", data={"csrf": csrf_of(page), "phone": phone, "note": note}
    )


async def _import(
    client: Client, content: bytes, filename: str = "list.csv", **fields: str
) -> aiohttp.ClientResponse:
    page = await _page(client)
    form = aiohttp.FormData()
    form.add_field("csrf", csrf_of(page))
    for name, value in fields.items():
        form.add_field(name, value)
    form.add_field("file", content, filename=filename, content_type="text/csv")
    return await client.post("/ui/opt-outs/import", data=form)


def _phones(page: str) -> list[str]:
    return re.findall(r'<tr data-phone="([^"]+)">', page)


# -- view models ------------------------------------------------------------------------------


def test_a_search_for_a_number_compares_digits_however_they_are_written() -> None:
    entry = ListedOptOut(
        1, OptOutEntry(ANA, "inbound:stop", datetime(2026, 5, 1, tzinfo=UTC), "said STOP")
    )

    assert entry.matches(Search.of("0151 234"))
    assert entry.matches(Search.of("0049 151"))
    assert entry.matches(Search.of("+49 (151) 23-45"))
    assert not entry.matches(Search.of("170"))
    assert entry.matches(Search.of("STOP"))
    assert not entry.matches(Search.of("import"))
    assert not Search.of("   ")


def test_where_an_opt_out_came_from_is_told_in_words() -> None:
    assert source_words("inbound:stop") == "replied “STOP”"
    assert source_words("import") == "imported from a file"
    assert source_words("api") == "added by an operator"


def test_a_page_of_the_list_links_to_its_neighbours_keeping_the_search() -> None:
    at = datetime(2026, 5, 1, tzinfo=UTC)
    items = [ListedOptOut(i, OptOutEntry(f"+49151000000{i:02d}", "api", at, "")) for i in range(50)]

    listing = opt_out_listing(OptOutSlice(items, matching=120, total=300), query="151", page=2)

    assert listing.showing == "Showing 51 to 100 of 120 matching “151” (300 on the list)."
    assert listing.newer_href == "/ui/opt-outs?q=151"
    assert listing.older_href == "/ui/opt-outs?q=151&page=3"
    assert listing.export_href == "/ui/opt-outs.csv?q=151"
    assert listing.here == "/ui/opt-outs?q=151&page=2"


# -- the pages --------------------------------------------------------------------------------


async def test_an_empty_list_says_how_people_get_on_it(signed_in: Client) -> None:
    page = await _page(signed_in)

    assert "Nobody is on the opt-out list yet" in page
    assert 'id="export-link"' not in page


async def test_a_phone_added_is_on_the_list_newest_first(
    signed_in: Client, services: Services
) -> None:
    await _add(signed_in, ANA, note="asked by phone")

    response = await _add(signed_in, "+49 170 1234 5678")
    page = await response.text()

    assert response.status == 200  # after the redirect to the list
    assert f"{BEN} is on the opt-out list: no campaign will message it." in page
    assert _phones(page) == [BEN, ANA]
    assert "asked by phone" in page
    assert "Showing 1 to 2 of 2, newest first." in page
    entry = services.opt_outs.entry(ANA)
    assert entry is not None
    assert (entry.source, entry.note) == ("api", "asked by phone")


async def test_a_phone_on_the_list_already_is_said_so(signed_in: Client) -> None:
    await _add(signed_in, ANA)

    page = await (await _add(signed_in, ANA)).text()

    assert f"{ANA} was on the opt-out list already; nothing changed." in page
    assert _phones(page) == [ANA]


async def test_a_bad_phone_is_shown_next_to_its_field_with_what_was_typed(
    signed_in: Client, services: Services
) -> None:
    response = await _add(signed_in, "0151 not a number", note=EVIL)
    page = await response.text()

    assert response.status == 422
    assert re.search(
        r'id="phone"[^>]*value="0151 not a number"[^>]*aria-invalid="true" '
        r'aria-describedby="phone-error"',
        page,
    )
    assert '<p class="field-error" id="phone-error">' in page
    assert "&lt;script&gt;" in page
    assert "<script>alert" not in page
    assert len(services.opt_outs.page(limit=10).items) == 0


async def test_an_empty_phone_asks_for_one(signed_in: Client) -> None:
    response = await _add(signed_in, "  ")

    assert response.status == 422
    assert "enter a phone number with its country code" in await response.text()


async def test_adding_needs_the_csrf_token(signed_in: Client, services: Services) -> None:
    response = await signed_in.post("/ui/opt-outs", data={"phone": ANA})

    assert response.status == 403
    assert services.opt_outs.entry(ANA) is None


async def test_search_finds_part_of_a_number_or_of_a_note(signed_in: Client) -> None:
    await _add(signed_in, ANA, note="angry customer")
    await _add(signed_in, BEN)

    by_digits = await _page(signed_in, "/ui/opt-outs?q=0151+234")
    by_note = await _page(signed_in, "/ui/opt-outs?q=ANGRY")
    nothing = await _page(signed_in, "/ui/opt-outs?q=999999")

    assert _phones(by_digits) == [ANA]
    assert _phones(by_note) == [ANA]
    assert "of 1 matching “ANGRY” (2 on the list)" in by_note
    assert _phones(nothing) == []
    assert "No opt-out matches “999999”." in nothing


async def test_remove_asks_first_and_the_question_removes_nothing(
    signed_in: Client, services: Services
) -> None:
    await _add(signed_in, ANA, note="asked on the phone")
    listed = await _page(signed_in, "/ui/opt-outs?q=0151")
    (href,) = re.findall(r'href="(/ui/opt-outs/remove\?[^"]+)"', listed)

    question = await _page(signed_in, html.unescape(href))

    assert f"Take {ANA} off the opt-out list?" in question
    assert "asked on the phone" in question  # what the person asked, before it is undone
    assert 'action="/ui/opt-outs/remove"' in question
    assert 'href="/ui/opt-outs?q=0151">Keep it on the list' in question  # back where it was
    assert services.opt_outs.entry(ANA) is not None  # asking removed nothing


async def test_asking_to_remove_a_phone_not_on_the_list_says_so(signed_in: Client) -> None:
    response = await signed_in.get(
        "/ui/opt-outs/remove", params={"phone": ANA, "back": "https://elsewhere.example/"}
    )
    text = await response.text()

    assert response.status == 404
    assert f"{ANA} is not on the opt-out list" in text
    assert 'action="/ui/opt-outs/remove"' not in text
    assert 'href="/ui/opt-outs">Back to the opt-out list' in text  # never off the console


async def test_remove_takes_the_phone_off_and_comes_back_to_the_same_page(
    signed_in: Client, services: Services
) -> None:
    await _add(signed_in, ANA)
    await _add(signed_in, BEN)
    page = await _page(signed_in, "/ui/opt-outs?q=0151")

    response = await signed_in.post(
        "/ui/opt-outs/remove",
        data={"csrf": csrf_of(page), "phone": ANA, "back": "/ui/opt-outs?q=0151"},
        allow_redirects=False,
    )
    after = await _page(signed_in)

    assert response.status == 303
    assert response.headers["Location"] == "/ui/opt-outs?q=0151"
    assert services.opt_outs.entry(ANA) is None
    assert _phones(after) == [BEN]
    assert f"{ANA} is off the opt-out list: campaigns may message it again." in after


async def test_removing_a_phone_not_on_the_list_says_so(signed_in: Client) -> None:
    page = await _page(signed_in)

    response = await signed_in.post(
        "/ui/opt-outs/remove",
        data={"csrf": csrf_of(page), "phone": ANA, "back": "https://elsewhere.example/"},
        allow_redirects=False,
    )
    after = await _page(signed_in)

    assert response.headers["Location"] == "/ui/opt-outs"  # never off the console
    assert f"{ANA} is not on the opt-out list: nothing to remove." in after


async def test_a_phone_put_back_on_the_list_is_newest_again(signed_in: Client) -> None:
    await _add(signed_in, ANA)
    await _add(signed_in, BEN)
    page = await _page(signed_in)
    await signed_in.post("/ui/opt-outs/remove", data={"csrf": csrf_of(page), "phone": ANA})

    after = await (await _add(signed_in, ANA)).text()

    assert _phones(after) == [ANA, BEN]


async def test_an_import_adds_the_usable_rows_and_names_each_rejected_one(
    signed_in: Client, services: Services
) -> None:
    await _add(signed_in, ANA)
    content = (
        f"Name;Phone\nAna;{ANA}\nBen;{BEN}\nBad;0151 not a number\nBen again;{BEN}\n;\nEmpty;\n"
    ).encode()

    response = await _import(signed_in, content, filename="stop-list.csv")
    page = await response.text()

    assert response.status == 200
    assert 'id="import-added">1<' in page
    assert 'id="import-already">1<' in page
    assert 'id="import-rejected" class="bad">2<' in page
    assert "stop-list.csv (5 rows): 1 added, 1 already on the list, 2 rows rejected" in page
    assert "1 repeated in the file (counted once)" in page
    assert "<tr><td>line 4</td><td>0151 not a number</td><td>" in page
    assert "<tr><td>line 7</td><td>(empty)</td><td>phone is empty</td></tr>" in page
    entry = services.opt_outs.entry(BEN)
    assert entry is not None
    assert (entry.source, entry.note) == ("import", "imported from stop-list.csv")


async def test_an_import_without_its_phone_column_says_so_next_to_the_field(
    signed_in: Client,
) -> None:
    response = await _import(signed_in, f"mobile\n{ANA}\n".encode(), phone_column="cell")
    page = await response.text()

    assert response.status == 422
    assert '<p class="field-error" id="phone_column-error">the header row has no column' in page
    assert 'value="cell"' in page
    assert "choose the file again" in page


async def test_an_import_without_a_file_asks_for_one(signed_in: Client) -> None:
    page = await _page(signed_in)
    form = aiohttp.FormData()
    form.add_field("csrf", csrf_of(page))
    form.add_field("note", "spring clean-up")
    form.add_field("file", b"", filename="", content_type="application/octet-stream")

    response = await signed_in.post("/ui/opt-outs/import", data=form)
    text = await response.text()

    assert response.status == 422
    assert '<p class="field-error" id="file-error">choose a CSV or XLSX file' in text
    assert 'value="spring clean-up"' in text


async def test_the_list_pages_through_fifty_at_a_time(
    signed_in: Client, services: Services
) -> None:
    phones = [f"+4915100000{i:03d}" for i in range(120)]
    services.opt_outs.add(phones, source="import")

    first = await _page(signed_in)
    last = await _page(signed_in, "/ui/opt-outs?page=3")

    assert len(_phones(first)) == 50
    assert _phones(first)[0] == phones[-1]
    assert "Showing 1 to 50 of 120, newest first." in first
    assert 'href="/ui/opt-outs?page=2" rel="next"' in first
    assert _phones(last) == list(reversed(phones[:20]))
    assert 'rel="next"' not in last


async def test_opt_outs_from_elsewhere_show_up(signed_in: Client) -> None:
    response = await signed_in.post(
        "/opt-outs",
        json={"phones": [ANA], "note": "from the API"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status == 200

    page = await _page(signed_in)

    assert _phones(page) == [ANA]
    assert "from the API" in page


async def test_the_export_is_the_list_as_csv_with_notes_kept_from_spreadsheets(
    signed_in: Client, services: Services
) -> None:
    services.opt_outs.add([ANA], source="api", note="=HYPERLINK(1)")
    services.opt_outs.add([BEN], source="import")

    response = await signed_in.get("/ui/opt-outs.csv")
    searched = await signed_in.get("/ui/opt-outs.csv?q=0170")
    rows = list(csv.DictReader(io.StringIO(await response.text())))

    assert response.headers["Content-Disposition"] == 'attachment; filename="opt-outs.csv"'
    assert [r["phone"] for r in rows] == [ANA, BEN]  # oldest first, as the CLI's export
    assert rows[0]["note"] == "'=HYPERLINK(1)"
    assert list(rows[0]) == ["phone", "source", "at", "note"]
    assert len(list(csv.DictReader(io.StringIO(await searched.text())))) == 1


async def test_a_busy_store_is_a_page_saying_so_and_when_to_try_again(
    signed_in: Client, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    def busy() -> int:
        raise ConnectionUnavailableError("Timed out waiting for return of writer")

    monkeypatch.setattr(services.follower, "catch_up", busy)

    response = await signed_in.get("/ui/opt-outs")
    text = await response.text()

    assert response.status == 503
    assert response.headers["Retry-After"] == "1"
    assert "The store is busy" in text
    assert "writer" not in text  # the library's words stay in the log
