"""The real service and the WAHA simulator as child processes on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters import processes
from adapters.system import AsyncioSleeper, SystemClock

TOKEN = "e2e-token-not-a-secret"
POLL_SECONDS = 0.05


@dataclass
class Service:
    """A running `waha-campaigns serve` and a client for its API."""

    child: processes.ChildProcess
    http: aiohttp.ClientSession

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with self.http.request(
            method, self.child.url + path, headers=headers, **kwargs
        ) as response:
            body = await response.json(content_type=None)
            return response.status, body

    async def view(self, campaign_id: str) -> dict[str, Any]:
        status, body = await self.call("GET", f"/campaigns/{campaign_id}")
        assert status == 200, body
        return dict(body)


@dataclass
class Simulator:
    """The simulated WAHA and its control API."""

    child: processes.ChildProcess
    http: aiohttp.ClientSession

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        async with self.http.request(
            method, f"{self.child.url}/_simulator{path}", json=body
        ) as response:
            assert response.status < 300, await response.text()
            return await response.json(content_type=None)

    async def ledger(self) -> list[dict[str, Any]]:
        body = await self.control("GET", "/ledger")
        return list(body["entries"])


async def eventually(
    condition: Callable[[], Awaitable[bool]], *, within: float = 90.0, what: str = ""
) -> None:
    """Poll `condition` until it holds; fail after `within` seconds (a bound, not a race fix)."""
    clock, sleeper = SystemClock(), AsyncioSleeper()
    deadline = clock.now().timestamp() + within
    while not await condition():
        if clock.now().timestamp() > deadline:
            pytest.fail(f"timed out waiting for {what or condition}")
        await sleeper.sleep(POLL_SECONDS)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def simulator(tmp_path: Path, http: aiohttp.ClientSession) -> AsyncIterator[Simulator]:
    async with processes.simulator(
        tmp_path / "simulator.log",
        "--not-working-wait",
        "0",
        clock=SystemClock(),
        sleeper=AsyncioSleeper(),
    ) as child:
        yield Simulator(child, http)


ServiceFactory = Callable[..., Awaitable[Service]]


@pytest.fixture
async def start_service(
    tmp_path: Path, simulator: Simulator, http: aiohttp.ClientSession
) -> AsyncIterator[ServiceFactory]:
    """Start (and restart) the service on one SQLite file; every child is stopped at the end."""
    children: list[processes.ChildProcess] = []
    port = processes.free_port()

    async def start(**env: str) -> Service:
        child = await processes.start(
            ["serve", "--host", "127.0.0.1", "--port", str(port)],
            port=port,
            ready_path="/healthz",
            log_path=tmp_path / "service.log",
            clock=SystemClock(),
            sleeper=AsyncioSleeper(),
            env={
                "CAMPAIGNS_DATABASE_URL": f"sqlite:///{tmp_path / 'campaigns.sqlite3'}",
                "CAMPAIGNS_MEDIA_DIR": str(tmp_path / "media"),
                "CAMPAIGNS_API_TOKEN": TOKEN,
                "WAHA_URL": simulator.child.url,
                **env,
            },
        )
        children.append(child)
        return Service(child, http)

    yield start
    for child in children:
        child.kill()
        await child.wait(10)


def contacts(n: int) -> list[dict[str, str]]:
    return [{"phone": f"+49151{20000000 + i}", "name": f"Person {i}"} for i in range(n)]
