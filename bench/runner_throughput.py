"""Runner throughput against the WAHA simulator on loopback, beside two baselines.

(a) the bare HTTP calls (status check + send) with no persistence;
(b) the seed's design: the same calls plus one SQL row updated per contact;
and the lane: the same calls plus intent and outcome events per contact (SQLite file).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

import aiohttp

from adapters import bootstrap, processes
from adapters.waha.client import AiohttpWahaGateway
from app.audience import ContactInput
from app.scheduling import ScheduleCampaign
from app.settings import load_settings
from domain.contacts import ChatId
from domain.pacing import Pacing
from domain.session import SessionName

SESSION = SessionName("default")


def chat(i: int) -> ChatId:
    return ChatId(f"4915{100000000 + i}@c.us")


async def bare_http(gateway: AiohttpWahaGateway, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        fact = await gateway.session_status(SESSION)
        assert fact.status == "WORKING"
        await gateway.send_text(SESSION, chat(i), "Hi")
    return n / (time.perf_counter() - started)


async def seed_design(gateway: AiohttpWahaGateway, n: int, path: Path) -> float:
    # As the seed plan: one campaign row whose lastProcessedContactIndex is updated per contact,
    # on SQLite with the same durability the event store uses (WAL, synchronous FULL).
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute(
        "CREATE TABLE campaign (id INTEGER PRIMARY KEY, status TEXT, "
        "lastProcessedContactIndex INTEGER, sentCount INTEGER, failedCount INTEGER)"
    )
    db.execute("INSERT INTO campaign VALUES (1, 'Running', NULL, 0, 0)")
    started = time.perf_counter()
    for i in range(n):
        await gateway.session_status(SESSION)
        await gateway.send_text(SESSION, chat(i), "Hi")
        db.execute(
            "UPDATE campaign SET lastProcessedContactIndex = ?, sentCount = sentCount + 1 "
            "WHERE id = 1",
            (i,),
        )
    rate = n / (time.perf_counter() - started)
    db.close()
    return rate


async def runner(gateway: AiohttpWahaGateway, n: int, path: Path) -> float:
    settings = load_settings(
        {}, campaigns_database_url=f"sqlite:///{path}", campaigns_media_dir=path.parent / "media"
    )
    services = bootstrap.build(settings)
    campaigns = services.campaigns
    contacts = [ContactInput(phone=f"+4915{100000000 + i}") for i in range(n)]
    campaign_id = campaigns.schedule_campaign(
        ScheduleCampaign(name="bench", text="Hi", contacts=contacts, pacing=Pacing(0, 0))
    ).view.id
    async with bootstrap.running(services, gateway=gateway, start_supervisor=False) as runtime:
        started = time.perf_counter()
        await runtime.supervisor.run_now(campaign_id)
        await runtime.supervisor.wait_for_runs()
        rate = n / (time.perf_counter() - started)
    view = campaigns.campaign(campaign_id)
    assert view.status == "Completed", view
    assert view.sent == n, view
    services.close()
    return rate


async def ledger_size(url: str) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{url}/_simulator/ledger") as response,
    ):
        body = await response.json()
        return len(body["entries"])


async def main(n: int) -> None:
    clock, sleeper = bootstrap.system_time()
    with tempfile.TemporaryDirectory() as folder:
        async with (
            processes.simulator(
                Path(folder) / "simulator.log",
                "--not-working-wait",
                "0",
                clock=clock,
                sleeper=sleeper,
            ) as sim,
            aiohttp.ClientSession() as session,
        ):
            gateway = AiohttpWahaGateway(session, base_url=sim.url, api_key=None, clock=clock)
            await bare_http(gateway, min(200, n))  # warm up the connection pool and the simulator
            results = {}
            results["a"] = await bare_http(gateway, n)
            results["b"] = await seed_design(gateway, n, Path(folder) / "seed.sqlite3")
            results["runner"] = await runner(gateway, n, Path(folder) / "events.sqlite3")
            accepted = await ledger_size(sim.url)
    print(f"contacts per run: {n:,} (zero pacing, simulator on loopback, SQLite file store)")
    print(f"(a) bare HTTP, no persistence:           {results['a']:8.1f} contacts/s")
    print(f"(b) seed design, one row update/contact: {results['b']:8.1f} contacts/s")
    print(f"runner (intent + outcome events):        {results['runner']:8.1f} contacts/s")
    print(f"runner / (a) = {results['runner'] / results['a']:.0%} (target >= 50%)")
    print(f"runner / (b) = {results['runner'] / results['b']:.0%} (target >= 80%)")
    print(f"simulator ledger: {accepted:,} messages accepted across all runs")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=10_000)
    asyncio.run(main(parser.parse_args().contacts))
