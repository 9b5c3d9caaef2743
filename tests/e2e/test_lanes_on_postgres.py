"""Three services share one PostgreSQL store: lanes move on when a holder dies or stalls."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from adapters import processes
from adapters.system import AsyncioSleeper, SystemClock
from tests.e2e.conftest import TOKEN, Service, Simulator, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
SESSIONS = [f"session-{n}" for n in range(1, 6)]
CAMPAIGNS_PER_SESSION = 4
CONTACTS = 12
LEASE_SECONDS = 6.0  # the default CAMPAIGNS_LEASE_SECONDS


@pytest.fixture
async def simulator(tmp_path: Path, http: aiohttp.ClientSession) -> AsyncIterator[Simulator]:
    async with processes.simulator(
        tmp_path / "simulator.log",
        "--not-working-wait",
        "0",
        "--session-count",
        str(len(SESSIONS)),
        clock=SystemClock(),
        sleeper=AsyncioSleeper(),
    ) as child:
        yield Simulator(child, http)


async def start(tmp_path: Path, name: str, url: str, simulator: Simulator) -> Service:
    port = processes.free_port()
    child = await processes.start(
        ["serve", "--host", "127.0.0.1", "--port", str(port)],
        port=port,
        ready_path="/healthz",
        log_path=tmp_path / f"{name}.log",
        clock=SystemClock(),
        sleeper=AsyncioSleeper(),
        env={
            "CAMPAIGNS_DATABASE_URL": url,
            "CAMPAIGNS_MEDIA_DIR": str(tmp_path / "media"),
            "CAMPAIGNS_API_TOKEN": TOKEN,
            "WAHA_URL": simulator.child.url,
        },
    )
    return Service(child, simulator.http)


async def test_twenty_campaigns_over_five_numbers_survive_a_kill_and_a_stall(
    tmp_path: Path, postgres_url: str, simulator: Simulator
) -> None:
    # Started at the same moment, with no init-db first: their schema creation takes turns.
    services = list(
        await asyncio.gather(*(start(tmp_path, f"s{n}", postgres_url, simulator) for n in range(3)))
    )
    killed, stalled, survivor = services
    try:
        ids = []
        for s, session in enumerate(SESSIONS):
            for c in range(CAMPAIGNS_PER_SESSION):
                first = 100 * (s * CAMPAIGNS_PER_SESSION + c)
                status, created = await survivor.call(
                    "POST",
                    "/campaigns",
                    json={
                        "name": f"{session} #{c}",
                        "session": session,
                        "message": {"text": "Hi {name}"},
                        "contacts": [
                            {"phone": f"+49151{40000000 + first + i}", "name": f"P{i}"}
                            for i in range(CONTACTS)
                        ],
                        "pacing": {"min_seconds": 0.05, "max_seconds": 0.1},
                    },
                )
                assert status == 201, created
                ids.append(created["id"])

        async def some_sent() -> bool:
            return len(await simulator.ledger()) >= 40

        await eventually(some_sent, what="the first sends")
        killed.child.kill()  # SIGKILL: its lanes' leases lapse within the lease
        stalled.child.process.send_signal(signal.SIGSTOP)  # a frozen VM, longer than the lease
        # The scenario itself: stopped for longer than its lease, then let go on.
        await AsyncioSleeper().sleep(LEASE_SECONDS + 4)
        stalled.child.process.send_signal(signal.SIGCONT)

        async def all_done() -> bool:
            for campaign_id in ids:
                if (await survivor.view(campaign_id))["status"] != "Completed":
                    return False
            return True

        await eventually(all_done, within=180, what="every campaign completed")

        ledger = await simulator.ledger()
        per_chat = Counter(e["chat_id"] for e in ledger)
        assert max(per_chat.values()) == 1, [c for c, n in per_chat.items() if n > 1]
        views = [await survivor.view(campaign_id) for campaign_id in ids]
        assert sum(v["sent"] + v["in_doubt"] for v in views) == len(ids) * CONTACTS
        assert sum(v["sent"] for v in views) == len(ledger)
        record = await simulator.control("GET", "/sends")
        # Never two sends in flight on one number, across the three processes.
        assert {session: record["max_in_flight"][session] for session in SESSIONS} == dict.fromkeys(
            SESSIONS, 1
        )
    finally:
        with_stalled = stalled.child.process
        if with_stalled.returncode is None:
            with_stalled.send_signal(signal.SIGCONT)
        for service in services:
            service.child.kill()
            await service.child.wait()
