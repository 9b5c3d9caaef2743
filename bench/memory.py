"""Memory of `serve`: idle, while a 1,000,000-contact campaign runs, after creating 100,000.

The 1M campaign is recorded into the SQLite file before the service starts (as the CLI or
another process would); the service then takes it up and sends at zero pacing to the WAHA
simulator on loopback while its resident set (RSS, from /proc) is sampled. Baseline, same
run: the same service idle on an empty store. Goal (issue 12): RSS <= 150 MiB while the 1M
campaign runs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import aiohttp
from lanes import create, phone, sends, serve

from adapters import bootstrap, processes
from app.campaigns import CampaignsApp
from domain.audience import Audience, content_hash
from domain.campaign import Campaign
from domain.contacts import Contact, chat_id_for_e164
from domain.content import MessageContent, MessageTemplate
from domain.pacing import CampaignOptions, Pacing

MIB = 1024 * 1024
GOAL_MIB = 150


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / MIB
    return float("nan")


def schedule_large(app: CampaignsApp, size: int) -> None:
    """Record a campaign of `size` contacts, due now, at zero pacing (its audience in parts)."""
    contacts = [
        Contact(f"+4915{100000000 + i}", chat_id_for_e164(f"+4915{100000000 + i}"), None, {})
        for i in range(size)
    ]
    now = app.clock.now()
    audience = Audience.frozen(content_hash(contacts), size)
    app.record_audience(contacts, audience)
    campaign = Campaign(
        name=f"{size:,} contacts",
        session="default",
        message=MessageContent(MessageTemplate("Hi", {}), None).to_record(),
        audience=audience.reference(),
        scheduled_for=now,
        pacing=Pacing(0, 0).to_record(),
        options=CampaignOptions().to_record(),
        at=now,
    )
    app.save(campaign)


async def sample(pid: int, seconds: float) -> list[float]:
    _, sleeper = bootstrap.system_time()
    samples = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        samples.append(rss_mib(pid))
        await sleeper.sleep(0.25)
    return samples


async def main(size: int, seconds: float, created: int) -> None:
    clock, sleeper = bootstrap.system_time()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        store = folder / "store.sqlite3"
        async with (
            processes.simulator(
                folder / "sim.log", "--not-working-wait", "0", clock=clock, sleeper=sleeper
            ) as sim,
            aiohttp.ClientSession() as http,
        ):
            service = await serve(folder, "idle", f"sqlite:///{store}", sim)
            idle = statistics.median(await sample(service.process.pid, 3))
            service.terminate()
            await service.wait(30)

            started = time.perf_counter()
            app = bootstrap.campaigns_app(f"sqlite:///{store}")
            schedule_large(app, size)
            app.close()
            print(f"recorded a {size:,}-contact campaign in {time.perf_counter() - started:.1f} s")

            service = await serve(folder, "running", f"sqlite:///{store}", sim)
            running = await sample(service.process.pid, seconds)
            sent = len(await sends(http, sim))
            if not sent:
                print(service.output()[-3000:])
            service.terminate()
            await service.wait(30)

            service = await serve(folder, "create", f"sqlite:///{folder / 'other.sqlite3'}", sim)
            before = rss_mib(service.process.pid)
            await create(
                http,
                service,
                name="created through the API",
                contacts=[{"phone": phone(i)} for i in range(created)],
                pacing={"min_seconds": 0, "max_seconds": 0},
                scheduled_for=(clock.now() + timedelta(days=300)).isoformat(),  # not sent
            )
            after = rss_mib(service.process.pid)
            service.terminate()
            await service.wait(30)
    peak = max(running)
    print(f"{'figure':<52} | {'RSS':>9} | goal")
    print(f"{'idle, empty store (baseline)':<52} | {idle:6.1f} MiB |")
    print(
        f"{f'{size:,}-contact campaign running, median':<52} | "
        f"{statistics.median(running):6.1f} MiB |"
    )
    print(
        f"{f'{size:,}-contact campaign running, peak':<52} | {peak:6.1f} MiB | "
        f"<= {GOAL_MIB} MiB ({'met' if peak <= GOAL_MIB else 'NOT met'})"
    )
    print(
        f"{f'after POST /campaigns with {created:,} contacts':<52} | {after:6.1f} MiB | "
        f"(before: {before:.1f} MiB)"
    )
    print(f"(the simulator took {sent:,} sends while RSS was sampled for {seconds:.0f} s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--created", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(main(args.contacts, args.seconds, args.created))
