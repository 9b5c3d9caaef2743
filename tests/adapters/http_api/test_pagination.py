"""One pagination shape: limit and cursor in, {items, next_cursor} out, on every list.

The older names (after_version, after; next_after_version, next_after) still work.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.adapters.http_api.conftest import Client, create, finish_runs

LISTS = ("/campaigns", "/campaigns/{id}/events", "/campaigns/{id}/contacts", "/events")
OLD_NAMES = {
    "/campaigns/{id}/events": ("after_version", "next_after_version"),
    "/events": ("after", "next_after"),
}


async def campaign_with_events(client: Client) -> str:
    for name, contacts in (("first", 2), ("second", 5)):
        created = await create(client, name=name, n=contacts)
    await create(client, name="third")
    await finish_runs(client)
    campaign_id: str = created["id"]
    return campaign_id


async def page(client: Client, path: str, **params: Any) -> dict[str, Any]:
    response = await client.get(path, params={k: str(v) for k, v in params.items()})
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def every_item(client: Client, path: str, limit: int) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        params = {"limit": limit} | ({} if cursor is None else {"cursor": cursor})
        found = await page(client, path, **params)
        items += found["items"]
        cursor = found["next_cursor"]
        if cursor is None:
            return items


@pytest.mark.parametrize("path", LISTS)
async def test_every_list_pages_with_limit_and_cursor(client: Client, path: str) -> None:
    listed = path.format(id=await campaign_with_events(client))

    whole = await page(client, listed, limit=1000)
    paged = await every_item(client, listed, limit=2)

    assert whole["next_cursor"] is None
    assert len(whole["items"]) >= 3
    assert paged == whole["items"]


@pytest.mark.parametrize("path", list(OLD_NAMES))
async def test_the_older_names_still_page(client: Client, path: str) -> None:
    listed = path.format(id=await campaign_with_events(client))
    old_parameter, old_field = OLD_NAMES[path]

    first = await page(client, listed, limit=2)
    by_cursor = await page(client, listed, limit=2, cursor=first["next_cursor"])
    by_old_name = await page(client, listed, limit=2, **{old_parameter: first[old_field]})

    assert first[old_field] == first["next_cursor"] is not None
    assert by_old_name == by_cursor


@pytest.mark.parametrize("path", list(OLD_NAMES))
async def test_the_cursor_wins_over_its_older_name(client: Client, path: str) -> None:
    listed = path.format(id=await campaign_with_events(client))
    old_parameter, _ = OLD_NAMES[path]

    from_start = await page(client, listed, limit=2, cursor=0, **{old_parameter: 3})

    assert from_start == await page(client, listed, limit=2)


async def test_the_document_gives_every_list_the_same_shape(client: Client) -> None:
    doc = await (await client.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]

    for path in ("/campaigns", "/campaigns/{campaign_id}/events", "/events"):
        operation = doc["paths"][path]["get"]
        names = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        reply = operation["responses"]["200"]["content"]["application/json"]["schema"]
        shape = schemas[reply["$ref"].rsplit("/", 1)[-1]]
        assert {"limit", "cursor"} <= names, path
        assert {"items", "next_cursor"} <= set(shape["properties"]), path
