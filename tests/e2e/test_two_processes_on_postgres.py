"""Two service processes share one PostgreSQL store; when one dies, the other carries on."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from adapters import processes
from adapters.system import AsyncioSleeper, SystemClock
from tests.e2e.conftest import TOKEN, Service, Simulator, contacts, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


async def start(tmp_path: Path, name: str, postgres_url: str, simulator: Simulator) -> Service:
    port = processes.free_port()
    child = await processes.start(
        ["serve", "--host", "127.0.0.1", "--port", str(port)],
        port=port,
        ready_path="/healthz",
        log_path=tmp_path / f"{name}.log",
        clock=SystemClock(),
        sleeper=AsyncioSleeper(),
        env={
            "CAMPAIGNS_DATABASE_URL": postgres_url,
            "CAMPAIGNS_MEDIA_DIR": str(tmp_path / "media"),
            "CAMPAIGNS_API_TOKEN": TOKEN,
            "WAHA_URL": simulator.child.url,
            "WAHA_TIMEOUT_SECONDS": "5.5",
            "CAMPAIGNS_TAKEOVER_AFTER_SECONDS": "1",
        },
    )
    return Service(child, simulator.http)


async def test_a_second_process_takes_over_when_the_first_dies_and_nobody_gets_two_messages(
    tmp_path: Path, postgres_url: str, simulator: Simulator, http: aiohttp.ClientSession
) -> None:
    first = await start(tmp_path, "first", postgres_url, simulator)
    # Started one after the other: the first creates the tables (see the README).
    second = await start(tmp_path, "second", postgres_url, simulator)
    try:
        status, created = await first.call(
            "POST",
            "/campaigns",
            json={
                "name": "shared store",
                "message": {"text": "Hi {name}"},
                "contacts": contacts(60),
                "pacing": {"min_seconds": 0.02, "max_seconds": 0.05},
            },
        )
        assert status == 201, created
        campaign_id = created["id"]

        async def some_sent() -> bool:
            return bool((await second.view(campaign_id))["sent"] >= 10)

        await eventually(some_sent, what="ten sends by the first process")
        first.child.kill()
        await first.child.wait()

        async def completed() -> bool:
            return bool((await second.view(campaign_id))["status"] == "Completed")

        await eventually(completed, within=90, what="completion by the second process")
        view = await second.view(campaign_id)
        ledger = await simulator.ledger()
        assert max(Counter(e["chat_id"] for e in ledger).values()) == 1
        assert view["sent"] + view["in_doubt"] == 60
        assert view["in_doubt"] <= 1
        # The takeover is on the lane's record: who held it before, and who holds it now.
        status, feed = await second.call("GET", "/events", params={"limit": 1000})
        assert status == 200
        takeovers = [e["data"] for e in feed["items"] if e["type"] == "LaneTakenUp"]
        assert takeovers[0]["previous_owner"] is None
        assert takeovers[-1]["previous_owner"] == takeovers[0]["owner"]
        assert takeovers[-1]["owner"] != takeovers[0]["owner"]
    finally:
        for service in (first, second):
            service.child.kill()
            await service.child.wait()
