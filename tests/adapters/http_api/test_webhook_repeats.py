"""A webhook is acted on at most once: across restarts, across processes, with or without an id."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from adapters.bootstrap import build, http_app
from adapters.seen_webhooks import TABLE
from tests.adapters.http_api.conftest import Client, make_settings, signed
from tests.adapters.http_api.test_webhooks import WEBHOOK, session_status
from tests.fakes.gateway import FakeWahaGateway
from tests.fakes.system import InstantSleeper, ManualClock, SeededRandom

Service = Callable[[], AbstractAsyncContextManager[Client]]


def old_envelope(status: str) -> dict[str, Any]:
    """WAHA's old envelope: no id, no timestamp."""
    body = session_status(status)
    del body["id"], body["timestamp"]
    return body


async def post(client: Client, body: dict[str, Any]) -> str:
    raw, headers = signed(body)
    response = await client.post(WEBHOOK, data=raw, headers=headers)
    assert response.status == 200
    answer: dict[str, str] = await response.json()
    return answer["status"]


@pytest.fixture
def service(tmp_path: Path, aiohttp_client: AiohttpClient) -> Callable[[str], Service]:
    """Start the service on the store at a URL, as a process would; stop it on leaving."""

    def on(url: str) -> Service:
        @asynccontextmanager
        async def started() -> AsyncIterator[Client]:
            clock = ManualClock()
            settings = make_settings(tmp_path, campaigns_database_url=url)
            services = build(
                settings, clock=clock, sleeper=InstantSleeper(clock), rng=SeededRandom(0.5)
            )
            try:
                app = http_app(services, gateway=FakeWahaGateway(clock), start_supervisor=False)
                client = await aiohttp_client(app)
                try:
                    yield client
                finally:
                    await client.close()
            finally:
                services.close()

        return started

    return on


async def test_a_repeat_after_a_restart_is_a_duplicate(
    tmp_path: Path, service: Callable[[str], Service]
) -> None:
    started = service(f"sqlite:///{tmp_path / 'campaigns.sqlite3'}")
    async with started() as before:
        first = await post(before, session_status("WORKING", event_id="evt_7"))

    async with started() as after:
        again = await post(after, session_status("WORKING", event_id="evt_7"))

    assert (first, again) == ("recorded", "duplicate")


async def test_a_body_without_an_id_sent_twice_is_acted_on_once(client: Client) -> None:
    answers = [await post(client, old_envelope("WORKING")) for _ in range(2)]
    other = await post(client, old_envelope("STOPPED"))

    assert answers == ["recorded", "duplicate"]
    assert other == "recorded"


async def test_events_not_acted_on_are_not_remembered(client: Client) -> None:
    body = {"id": "evt_m", "event": "message.reaction", "session": "default", "payload": {}}

    answers = [await post(client, body) for _ in range(2)]

    assert answers == ["ignored", "ignored"]


@pytest.mark.postgres
async def test_processes_on_one_postgresql_store_share_what_they_saw(
    postgres_url: str, service: Callable[[str], Service]
) -> None:
    started = service(postgres_url)
    async with started() as one, started() as other:
        first = await post(one, old_envelope("WORKING"))
        again = await post(other, old_envelope("WORKING"))

    async with started() as restarted:
        after_restart = await post(restarted, old_envelope("WORKING"))

    assert (first, again, after_restart) == ("recorded", "duplicate", "duplicate")


async def test_webhooks_older_than_the_window_are_pruned(
    tmp_path: Path, aiohttp_client: AiohttpClient
) -> None:
    clock = ManualClock()
    database = tmp_path / "campaigns.sqlite3"
    settings = make_settings(tmp_path, campaigns_database_url=f"sqlite:///{database}")
    services = build(settings, clock=clock, sleeper=InstantSleeper(clock), rng=SeededRandom(0.5))
    try:
        app = http_app(services, gateway=FakeWahaGateway(clock), start_supervisor=False)
        client = await aiohttp_client(app)
        await post(client, session_status("WORKING", event_id="evt_old", at=clock.now()))
        clock.advance(2 * 3600)
        await post(client, session_status("WORKING", event_id="evt_new", at=clock.now()))
        await client.close()
    finally:
        services.close()

    with sqlite3.connect(database) as db:
        keys = db.execute(f"SELECT key FROM {TABLE}").fetchall()  # noqa: S608 - a constant
    assert keys == [("id:evt_new",)]
