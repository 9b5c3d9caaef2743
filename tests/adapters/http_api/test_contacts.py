"""GET /campaigns/{id}/contacts: pages from the read model, filters, and the streamed CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from adapters.http_api import handlers
from tests.adapters.http_api.conftest import Client, assert_problem, create, finish_runs
from tests.fakes.gateway import FakeWahaGateway

# Contacts 1 and 3 are not on WhatsApp: skipped; the others are sent.
SKIPPED = ("4915110000001", "4915110000003")
TOMORROW = "2026-11-29T09:00:00+00:00"  # the manual clock's next day: nothing runs yet


async def sent_and_skipped(client: Client, gateway: FakeWahaGateway, n: int = 5) -> str:
    gateway.not_on_whatsapp.update(SKIPPED)
    created = await create(client, n=n, options={"check_numbers": True})
    await finish_runs(client)
    campaign_id: str = created["id"]
    return campaign_id


async def page(client: Client, campaign_id: str, **params: Any) -> dict[str, Any]:
    response = await client.get(f"/campaigns/{campaign_id}/contacts", params=params)
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


def indexes(body: dict[str, Any]) -> list[int]:
    return [item["index"] for item in body["items"]]


async def test_pages_follow_the_cursor_to_the_end(client: Client, gateway: FakeWahaGateway) -> None:
    campaign_id = await sent_and_skipped(client, gateway)

    first = await page(client, campaign_id, limit=2)
    second = await page(client, campaign_id, limit=2, cursor=first["next_cursor"])
    last = await page(client, campaign_id, limit=2, cursor=second["next_cursor"])

    assert (indexes(first), first["next_cursor"]) == ([0, 1], 1)
    assert (indexes(second), second["next_cursor"]) == ([2, 3], 3)
    assert (indexes(last), last["next_cursor"]) == ([4], None)
    assert [item["outcome"] for item in first["items"]] == ["sent", "skipped"]


async def test_a_campaign_is_read_as_soon_as_it_is_created(client: Client) -> None:
    created = await create(client, n=3, scheduled_for=TOMORROW)  # every contact is pending

    body = await page(client, created["id"])

    assert indexes(body) == [0, 1, 2]
    assert body["next_cursor"] is None
    assert {item["outcome"] for item in body["items"]} == {None}


async def test_outcome_filters_repeat_or_use_commas(
    client: Client, gateway: FakeWahaGateway
) -> None:
    campaign_id = await sent_and_skipped(client, gateway)

    skipped = await page(client, campaign_id, outcome="skipped")
    repeated = await client.get(f"/campaigns/{campaign_id}/contacts?outcome=skipped&outcome=failed")
    commas = await page(client, campaign_id, outcome="sent,failed", limit=1)

    assert indexes(skipped) == [1, 3]
    assert indexes(await repeated.json()) == [1, 3]
    assert (indexes(commas), commas["next_cursor"]) == ([0], 0)


async def test_pending_and_delivery_filters(client: Client) -> None:
    created = await create(client, n=3, scheduled_for=TOMORROW)

    pending = await page(client, created["id"], outcome="pending")
    read = await page(client, created["id"], delivery="read")

    assert indexes(pending) == [0, 1, 2]
    assert indexes(read) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"outcome": "sent,bogus"}, "outcome[1]"),
        ({"delivery": "seen"}, "delivery[0]"),
        ({"limit": "5000"}, "limit"),
        ({"cursor": "-3"}, "cursor"),
    ],
)
async def test_bad_filters_are_a_422_naming_the_field(
    client: Client, params: dict[str, str], field: str
) -> None:
    created = await create(client, n=1)

    response = await client.get(f"/campaigns/{created['id']}/contacts", params=params)

    assert response.status == 422
    body = await response.json()
    assert_problem(body, 422)
    assert [e["field"] for e in body["errors"]] == [field]


async def test_an_unknown_campaign_is_a_404(client: Client) -> None:
    response = await client.get("/campaigns/00000000-0000-0000-0000-000000000009/contacts")

    assert response.status == 404


async def test_the_csv_is_streamed_part_by_part_with_one_header(
    client: Client, gateway: FakeWahaGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handlers, "CSV_PAGE", 2)
    campaign_id = await sent_and_skipped(client, gateway)

    response = await client.get(
        f"/campaigns/{campaign_id}/contacts", headers={"Accept": "text/csv"}
    )

    assert response.status == 200
    assert response.content_type == "text/csv"
    assert "Content-Length" not in response.headers  # streamed, never built whole
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert [(r["index"], r["outcome"]) for r in rows] == [
        ("0", "sent"),
        ("1", "skipped"),
        ("2", "sent"),
        ("3", "skipped"),
        ("4", "sent"),
    ]


async def test_the_csv_takes_the_filters(client: Client, gateway: FakeWahaGateway) -> None:
    campaign_id = await sent_and_skipped(client, gateway)

    response = await client.get(
        f"/campaigns/{campaign_id}/contacts",
        params={"outcome": "skipped"},
        headers={"Accept": "text/csv"},
    )

    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert [r["index"] for r in rows] == ["1", "3"]
