"""A SQLite store locked by another writer past the busy timeout: 503 problem, never a 500."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from eventsourcing.persistence import ConnectionUnavailableError, OperationalError
from pytest_aiohttp import AiohttpClient

from adapters.bootstrap import build, http_app
from adapters.http_api.errors import problem_middleware
from tests.adapters.http_api.conftest import (
    AUTH,
    TEST_LANES,
    Client,
    assert_problem,
    campaign_body,
    make_settings,
)
from tests.adapters.sqlite_locks import write_locked
from tests.fakes.gateway import FakeWahaGateway
from tests.fakes.system import InstantSleeper, ManualClock, SeededRandom

LATER = "2027-01-01T09:00:00+00:00"  # nothing runs: only what is recorded matters here


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "campaigns.sqlite3"


@pytest.fixture
async def sqlite_client(
    tmp_path: Path, store: Path, monkeypatch: pytest.MonkeyPatch, aiohttp_client: AiohttpClient
) -> AsyncIterator[Client]:
    # The library's busy timeout, in whole seconds (5 by default): 1 is the shortest it takes.
    monkeypatch.setenv("SQLITE_LOCK_TIMEOUT", "1")
    settings = make_settings(tmp_path, campaigns_database_url=f"sqlite:///{store}")
    clock = ManualClock()
    services = build(settings, clock=clock, sleeper=InstantSleeper(clock), rng=SeededRandom(0))
    try:
        app = http_app(
            services,
            gateway=FakeWahaGateway(clock),
            lane_settings=TEST_LANES,
            start_supervisor=False,
        )
        yield await aiohttp_client(app, headers=AUTH)
    finally:
        services.close()


async def test_a_store_locked_past_the_busy_timeout_answers_503_with_retry_after(
    sqlite_client: Client, store: Path, caplog: pytest.LogCaptureFixture
) -> None:
    created = await sqlite_client.post("/campaigns", json=campaign_body(scheduled_for=LATER))
    assert created.status == 201, await created.text()

    with write_locked(store), caplog.at_level(logging.WARNING, logger="waha_campaigns.http"):
        # Listing by status catches the read models up first: the per-contact one writes.
        response = await sqlite_client.get("/campaigns", params={"status": "Running"})
        text = await response.text()

    assert response.status == 503, text
    assert response.content_type == "application/problem+json"
    assert response.headers["Retry-After"] == "1"
    problem = await response.json()
    assert_problem(problem, 503)
    assert problem["type"] == "urn:waha-campaigns:problem:store-busy"
    assert "Traceback" not in text
    assert "sqlite" not in text.lower()
    logged = [(r.levelname, r.exc_info) for r in caplog.records if r.name == "waha_campaigns.http"]
    assert logged == [("WARNING", None)]  # one line, no traceback (the access log aside)

    # The lock released, the same catch-up goes through.
    again = await sqlite_client.get("/campaigns", params={"status": "Scheduled"})
    assert again.status == 200
    assert [c["id"] for c in (await again.json())["items"]] == [(await created.json())["id"]]


def locked_error(path: Path) -> sqlite3.OperationalError:
    """Return the error SQLite gives a writer that finds the lock held past its timeout."""
    with write_locked(path), contextlib.closing(sqlite3.connect(path, timeout=0)) as late:
        try:
            late.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            return error
    raise AssertionError("the lock was not held")


def wrapped(error: sqlite3.OperationalError) -> OperationalError:
    """Return `error` as the eventsourcing library raises it from a transaction."""
    found = OperationalError(error)
    found.__cause__ = error
    return found


def no_such_table() -> sqlite3.OperationalError:
    with contextlib.closing(sqlite3.connect(":memory:")) as db:
        try:
            db.execute("SELECT * FROM missing")
        except sqlite3.OperationalError as error:
            return error
    raise AssertionError("the table exists")


@pytest.mark.parametrize("library", [False, True], ids=["raw", "wrapped"])
@pytest.mark.parametrize(("busy", "status"), [(True, 503), (False, 500)], ids=["busy", "other"])
async def test_only_a_locked_store_is_a_503(
    tmp_path: Path, aiohttp_client: AiohttpClient, *, library: bool, busy: bool, status: int
) -> None:
    error = locked_error(tmp_path / "store.sqlite3") if busy else no_such_table()
    raised: Exception = wrapped(error) if library else error

    async def handler(_request: web.Request) -> web.Response:
        raise raised

    app = web.Application(middlewares=[problem_middleware])
    app.router.add_get("/read", handler)
    client = await aiohttp_client(app)

    response = await client.get("/read")

    assert response.status == status
    assert response.content_type == "application/problem+json"
    assert ("Retry-After" in response.headers) is busy
    assert str(error) not in await response.text()  # neither "database is locked" nor the table


async def test_the_library_pool_waiting_past_its_timeout_is_a_503(
    aiohttp_client: AiohttpClient,
) -> None:
    async def handler(_request: web.Request) -> web.Response:
        raise ConnectionUnavailableError("Timed out waiting for return of writer")

    app = web.Application(middlewares=[problem_middleware])
    app.router.add_get("/read", handler)
    client = await aiohttp_client(app)

    response = await client.get("/read")

    assert response.status == 503
    assert response.headers["Retry-After"] == "1"
    assert "writer" not in await response.text()
