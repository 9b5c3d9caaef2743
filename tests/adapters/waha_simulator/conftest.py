"""Fixtures for the simulator's tests: a simulator behind a test client, a webhook receiver."""

from __future__ import annotations

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient, AiohttpServer

from adapters.waha_simulator import (
    SIMULATOR_KEY,
    SimulatorConfig,
    WahaSimulator,
    make_simulator_app,
)
from tests.adapters.waha_simulator.support import QUICK, Client, Receiver, Simulate
from tests.fakes.system import InstantSleeper, ManualClock


@pytest.fixture
def simulate(aiohttp_client: AiohttpClient) -> Simulate:
    async def start(
        config: SimulatorConfig = QUICK,
        *,
        clock: ManualClock | None = None,
        sleeper: InstantSleeper | None = None,
    ) -> tuple[Client, WahaSimulator]:
        app = make_simulator_app(config, clock=clock, sleeper=sleeper)
        return await aiohttp_client(app), app[SIMULATOR_KEY]

    return start


@pytest.fixture
async def receiver(aiohttp_server: AiohttpServer) -> Receiver:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.receive)
    server = await aiohttp_server(app)
    receiver.url = str(server.make_url("/hook"))
    return receiver
