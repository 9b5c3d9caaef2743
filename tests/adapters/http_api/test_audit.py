"""Reading the record: a campaign's events, its contacts (JSON and CSV), the whole store."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from adapters.bootstrap import Services, build, http_app
from tests.adapters.http_api.conftest import AUTH, Client, create, finish_runs, make_settings
from tests.fakes.gateway import FakeWahaGateway
from tests.fakes.system import InstantSleeper, ManualClock, SeededRandom


async def test_a_campaigns_events_page_by_version(client: Client) -> None:
    created = await create(client)
    await finish_runs(client)
    path = f"/campaigns/{created['id']}/events"

    first = await (await client.get(path, params={"limit": "2"})).json()
    rest = await (
        await client.get(path, params={"after_version": str(first["next_after_version"])})
    ).json()

    assert [e["version"] for e in first["items"]] == [1, 2]
    assert first["items"][0]["type"] == "CampaignScheduled"
    assert {"version", "type", "timestamp", "data"} == first["items"][0].keys()
    assert rest["items"][0]["version"] == 3
    assert rest["items"][-1]["type"] == "CampaignCompleted"
    assert rest["next_after_version"] is None


async def test_events_refuse_a_limit_over_the_bound(client: Client) -> None:
    created = await create(client)

    response = await client.get(f"/campaigns/{created['id']}/events", params={"limit": "5000"})

    assert response.status == 422


async def test_contacts_report_outcomes(client: Client, gateway: FakeWahaGateway) -> None:
    gateway.not_on_whatsapp.add("4915110000001")
    created = await create(client, options={"check_numbers": True})
    await finish_runs(client)

    report = await (await client.get(f"/campaigns/{created['id']}/contacts")).json()

    rows = report["items"]
    assert [(r["index"], r["outcome"]) for r in rows] == [(0, "sent"), (1, "skipped")]
    assert rows[0]["chat_id"] == "4915110000000@c.us"
    assert rows[0]["message_id"] == gateway.sent[0].message_id
    assert rows[0]["delivery"] is None
    assert {"index", "chat_id", "name", "outcome", "message_id", "error", "attempted_at"} <= rows[
        0
    ].keys()


async def test_contacts_as_csv(client: Client) -> None:
    created = await create(client, contacts=[{"phone": "+4915110000000", "name": "=cmd()"}])
    await finish_runs(client)

    response = await client.get(
        f"/campaigns/{created['id']}/contacts", headers={"Accept": "text/csv"}
    )

    assert response.status == 200
    assert response.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert len(rows) == 1
    assert rows[0]["phone"] == "+4915110000000"
    assert rows[0]["outcome"] == "sent"
    # A name a spreadsheet would run as a formula is written as text.
    assert rows[0]["name"] == "'=cmd()"


async def test_the_store_lists_every_event_in_commit_order(client: Client) -> None:
    one = await create(client, name="one")
    two = await create(client, name="two")
    await finish_runs(client)

    first = await (await client.get("/events", params={"limit": "3"})).json()
    everything = await (await client.get("/events", params={"limit": "1000"})).json()
    after = await (await client.get("/events", params={"after": str(first["next_after"])})).json()

    positions = [e["position"] for e in everything["items"]]
    assert positions == sorted(positions)
    assert everything["next_after"] is None
    assert {one["id"], two["id"]} <= {e["campaign_id"] for e in everything["items"]}
    assert after["items"][0]["position"] == first["items"][-1]["position"] + 1
    assert {"position", "campaign_id", "version", "type", "timestamp", "data"} == first["items"][
        0
    ].keys()


async def test_the_store_bounds_its_page(client: Client) -> None:
    response = await client.get("/events", params={"limit": "1001"})

    assert response.status == 422


@pytest.mark.parametrize(
    ("path", "parameter"),
    [("/events", "after"), ("/campaigns/{id}/events", "after_version")],
)
async def test_positions_beyond_the_store_are_refused(
    client: Client, path: str, parameter: str
) -> None:
    created = await create(client)

    response = await client.get(path.format(id=created["id"]), params={parameter: str(2**63)})

    assert response.status == 422
    assert [e["field"] for e in (await response.json())["errors"]] == [parameter]


@pytest.fixture
async def sqlite_client(
    tmp_path: Path,
    clock: ManualClock,
    sleeper: InstantSleeper,
    rng: SeededRandom,
    aiohttp_client: AiohttpClient,
) -> AsyncIterator[Client]:
    settings = make_settings(tmp_path, campaigns_database_url=f"sqlite:///{tmp_path}/store.db")
    services = build(settings, clock=clock, sleeper=sleeper, rng=rng)
    app = http_app(services, gateway=FakeWahaGateway(clock), start_supervisor=False)
    client = await aiohttp_client(app, headers=AUTH)
    yield client
    # The app first (its runs stop), then the store: closing SQLite under a run's insert crashes.
    await client.close()
    services.close()


async def test_the_largest_positions_read_nothing_from_sqlite(sqlite_client: Client) -> None:
    created = await create(sqlite_client)
    largest = str(2**63 - 1)

    for path, params in (
        ("/events", {"after": largest}),
        (f"/campaigns/{created['id']}/events", {"after_version": largest}),
        ("/campaigns", {"cursor": largest}),
        ("/campaigns", {"cursor": largest, "status": "Running"}),
    ):
        response = await sqlite_client.get(path, params=params)

        assert response.status == 200, (path, await response.text())
        assert (await response.json())["items"] == []


class ThreadNoting:
    """Wraps a read model, noting the thread its JSON is made on."""

    def __init__(self, inner: Any, threads: list[threading.Thread]) -> None:
        self._inner = inner
        self._threads = threads

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def as_dict(self) -> dict[str, Any]:
        self._threads.append(threading.current_thread())
        result: dict[str, Any] = self._inner.as_dict()
        return result


def noting_threads(
    monkeypatch: pytest.MonkeyPatch, reader: object, method: str
) -> list[threading.Thread]:
    threads: list[threading.Thread] = []
    read = getattr(reader, method)

    def noted(*args: Any, **kwargs: Any) -> list[ThreadNoting]:
        return [ThreadNoting(item, threads) for item in read(*args, **kwargs)]

    monkeypatch.setattr(reader, method, noted)
    return threads


@pytest.mark.parametrize(
    ("reader", "method", "path", "headers"),
    [
        ("contacts", "page", "/campaigns/{id}/contacts", {}),
        ("contacts", "page", "/campaigns/{id}/contacts", {"Accept": "text/csv"}),
        ("campaigns", "history", "/campaigns/{id}/events", {}),
        ("campaigns", "stored_events", "/events", {}),
    ],
)
async def test_large_answers_are_built_off_the_event_loop(
    client: Client,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
    reader: str,
    method: str,
    path: str,
    headers: dict[str, str],
) -> None:
    created = await create(client, n=3)
    await finish_runs(client)
    threads = noting_threads(monkeypatch, getattr(services, reader), method)

    response = await client.get(path.format(id=created["id"]), headers=headers)
    await response.read()  # a streamed answer is made while it is read

    assert response.status == 200
    assert threads
    assert threading.main_thread() not in threads
