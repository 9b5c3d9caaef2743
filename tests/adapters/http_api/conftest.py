"""The API on the in-memory store, with the fake WAHA, the manual clock and instant sleeps."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from multidict import CIMultiDictProxy
from pytest_aiohttp import AiohttpClient

from adapters.bootstrap import Services, build, http_app
from adapters.http_api.context import ApiRuntime
from adapters.http_api.keys import RUNTIME
from app.lane_parts import LaneSettings
from app.settings import Settings, load_settings
from domain.pacing import Pacing, pacing_warnings
from tests.builders import contacts
from tests.fakes.gateway import FakeWahaGateway
from tests.fakes.system import InstantSleeper, ManualClock, ParkingSleeper, SeededRandom

TOKEN = "api-token-5b1e0c7f9a2d4e6f"
WAHA_KEY = "waha-key-8c2f4e6a1b3d5f7a"
HMAC_KEY = "hmac-key-3d7a9c1e5f2b4d6c"
SECRETS = (TOKEN, WAHA_KEY, HMAC_KEY)
MAX_UPLOAD = 4096
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
AUTH = {"Authorization": f"Bearer {TOKEN}"}

Client = TestClient[web.Request, web.Application]


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "campaigns_database_url": "memory://",
        "campaigns_media_dir": str(tmp_path / "media"),
        "campaigns_api_token": TOKEN,
        "waha_api_key": WAHA_KEY,
        "waha_webhook_hmac_key": HMAC_KEY,
        "campaigns_max_upload_bytes": MAX_UPLOAD,
    }
    return load_settings({}, **(values | overrides))


# Lanes poll a session that went down, and wait for work when idle: an hour here, so that
# with the ParkingSleeper they wait for the test instead of spinning on a racing clock.
PARKED_SECONDS = 3600.0
TEST_LANES = LaneSettings(
    poll_backoff_seconds=(PARKED_SECONDS,), idle_seconds=PARKED_SECONDS, settle_delay_seconds=0
)


@pytest.fixture
def sleeper(clock: ManualClock) -> ParkingSleeper:
    return ParkingSleeper(clock, park_at=PARKED_SECONDS)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def services(
    settings: Settings, clock: ManualClock, sleeper: InstantSleeper, rng: SeededRandom
) -> Iterator[Services]:
    built = build(settings, clock=clock, sleeper=sleeper, rng=rng)
    yield built
    built.campaigns.close()


@pytest.fixture
def gateway(clock: ManualClock) -> FakeWahaGateway:
    return FakeWahaGateway(clock)


@pytest.fixture
async def client(
    services: Services, gateway: FakeWahaGateway, aiohttp_client: AiohttpClient
) -> Client:
    # aiohttp_client last: set up after the services, it is torn down (app stopped) first.
    # The supervisor's watch loop would spin on InstantSleeper; runs are spawned without it.
    app = http_app(services, gateway=gateway, lane_settings=TEST_LANES, start_supervisor=False)
    return await aiohttp_client(app, headers=AUTH)


def runtime_of(client: Client) -> ApiRuntime:
    assert client.app is not None
    return client.app[RUNTIME]


def campaign_body(n: int = 2, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Spring sale",
        "message": {"text": "Hello {name}"},
        "contacts": [{"phone": c.phone, "name": c.name} for c in contacts(n)],
        "pacing": {"min_seconds": 0, "max_seconds": 0},
    }
    return body | overrides


async def create(client: Client, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/campaigns", json=campaign_body(**overrides))
    assert response.status == 201, await response.text()
    created: dict[str, Any] = await response.json()
    return created


async def finish_runs(client: Client) -> None:
    await runtime_of(client).supervisor.wait_for_runs()


def signed(body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    signature = hmac.new(HMAC_KEY.encode(), raw, hashlib.sha512).hexdigest()
    return raw, {"X-Webhook-Hmac": signature, "Content-Type": "application/json"}


async def anonymous(
    client: Client, method: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], CIMultiDictProxy[str]]:
    """Send a request without the client's default token; return status, JSON and headers."""
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, client.make_url(path), headers=headers) as response,
    ):
        return response.status, await response.json(content_type=None), response.headers


def assert_problem(body: dict[str, Any], status: int) -> None:
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status


# What every campaign body of these tests is told: no wait between contacts.
NO_PACING_WARNINGS = pacing_warnings(Pacing(0, 0))


def file_warnings(created: dict[str, Any]) -> list[str]:
    """Return the answer's warnings about the contacts file (not those about the pacing)."""
    return [w for w in created["warnings"] if not w.startswith("pacing")]
