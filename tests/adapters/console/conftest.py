"""The console on the in-memory store, with the fake WAHA, the manual clock and instant sleeps."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from adapters.bootstrap import Services, build, http_app
from adapters.http_api.context import ApiRuntime
from adapters.http_api.keys import RUNTIME
from app.settings import Settings
from tests.adapters.http_api.conftest import TOKEN, campaign_body, make_settings
from tests.fakes.gateway import FakeWahaGateway
from tests.fakes.system import InstantSleeper, ManualClock, SeededRandom

Client = TestClient[web.Request, web.Application]
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, campaigns_max_upload_bytes=1024 * 1024)


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
async def browser(
    services: Services, gateway: FakeWahaGateway, aiohttp_client: AiohttpClient
) -> Client:
    """A client with no token: the console's own cookie is all it gets."""
    app = http_app(services, gateway=gateway, start_supervisor=False)
    return await aiohttp_client(app)


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


async def sign_in(client: Client, token: str = TOKEN) -> str:
    """Sign in through the form; return the page it leads to."""
    form = await client.get("/ui/sign-in")
    page = await client.post(
        "/ui/sign-in", data={"csrf": csrf_of(await form.text()), "token": token, "next": "/ui/"}
    )
    return await page.text()


@pytest.fixture
async def signed_in(browser: Client) -> Client:
    await sign_in(browser)
    return browser


def runtime_of(client: Client) -> ApiRuntime:
    assert client.app is not None
    return client.app[RUNTIME]


async def create(client: Client, **overrides: Any) -> dict[str, Any]:
    """Create a campaign through the API (bearer token), as another client would."""
    response = await client.post(
        "/campaigns",
        json=campaign_body(**overrides),
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status == 201, await response.text()
    created: dict[str, Any] = await response.json()
    return created


async def finish_runs(client: Client) -> None:
    await runtime_of(client).supervisor.wait_for_runs()
