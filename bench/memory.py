"""Memory of `serve`: idle, while a 1,000,000-contact campaign runs, creating 100,000 and 1M.

The 1M campaign is recorded into the SQLite file before the service starts (as the CLI or
another process would); the service then takes it up and sends at zero pacing to the WAHA
simulator on loopback while its resident set (RSS, from /proc) is sampled. Baseline, same
run: the same service idle on an empty store. Goal (issue 12): RSS <= 150 MiB while the 1M
campaign runs.

Then a service on an empty store creates a campaign through POST /campaigns: 100,000
contacts as JSON, and a 1,000,000-row CSV uploaded as a form (CAMPAIGNS_MAX_UPLOAD_BYTES
raised to take it), while RSS is sampled; VmHWM, the kernel's high-water mark, is the peak
over the whole upload and scheduling. Goal: under 150 MiB for the 1M-row file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import aiohttp
from lanes import TOKEN, create, phone, sends, serve

from adapters import bootstrap, processes
from app.campaigns import CampaignsApp
from domain.audience import Audience, content_hash
from domain.campaign import Campaign
from domain.contacts import Contact, chat_id_for_e164
from domain.content import MessageContent, MessageTemplate
from domain.pacing import CampaignOptions, Pacing

MIB = 1024 * 1024
GOAL_MIB = 150


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """Return the process's resident set (or `field`, e.g. VmHWM: its peak) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024 / MIB
    return float("nan")


def contacts_csv(path: Path, rows: int) -> None:
    """Write a CSV of `rows` phones (the size a real 1M-row export has: about 16 MB)."""
    with path.open("w", encoding="utf-8") as file:
        file.write("phone\n")
        for start in range(0, rows, 10_000):
            file.writelines(f"{phone(i)}\n" for i in range(start, min(rows, start + 10_000)))


async def upload_peak(
    http: aiohttp.ClientSession, folder: Path, sim: processes.ChildProcess, rows: int
) -> tuple[float, float, float, float]:
    """Upload a `rows`-row CSV to POST /campaigns; return RSS before, sampled peak, VmHWM, s."""
    clock, sleeper = bootstrap.system_time()
    csv_path = folder / f"{rows}.csv"
    contacts_csv(csv_path, rows)
    limit = max(16 * MIB, 2 * csv_path.stat().st_size)
    url = f"sqlite:///{folder / 'upload.sqlite3'}"
    service = await serve(folder, "upload", url, sim, CAMPAIGNS_MAX_UPLOAD_BYTES=str(limit))
    pid = service.process.pid
    before = rss_mib(pid)
    campaign = {
        "name": f"{rows:,} rows uploaded",
        "message": {"text": "Hi"},
        "pacing": {"min_seconds": 0, "max_seconds": 0},
        "scheduled_for": (clock.now() + timedelta(days=300)).isoformat(),  # not sent
    }
    samples = [before]

    async def post() -> None:
        with csv_path.open("rb") as file:
            form = aiohttp.FormData()
            form.add_field("campaign", json.dumps(campaign), content_type="application/json")
            form.add_field("contacts", file, filename="contacts.csv", content_type="text/csv")
            async with http.post(
                f"{service.url}/campaigns",
                data=form,
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=aiohttp.ClientTimeout(total=1800),
            ) as response:
                created = await response.json()
                assert response.status == 201, created
                assert created["total"] == rows, created["total"]

    started = time.perf_counter()
    task = asyncio.create_task(post())
    while not task.done():
        samples.append(rss_mib(pid))
        await sleeper.sleep(0.1)
    await task
    seconds = time.perf_counter() - started
    high_water = rss_mib(pid, "VmHWM")
    service.terminate()
    await service.wait(30)
    return before, max(samples), high_water, seconds


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


async def main(size: int, seconds: float, created: int, uploaded: int) -> None:
    clock, sleeper = bootstrap.system_time()
    idle = peak = median = after = before = float("nan")
    sent = 0
    upload: tuple[float, float, float, float] | None = None
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

            if size:
                started = time.perf_counter()
                app = bootstrap.campaigns_app(f"sqlite:///{store}")
                schedule_large(app, size)
                app.close()
                took = time.perf_counter() - started
                print(f"recorded a {size:,}-contact campaign in {took:.1f} s")

                service = await serve(folder, "running", f"sqlite:///{store}", sim)
                running = await sample(service.process.pid, seconds)
                sent = len(await sends(http, sim))
                if not sent:
                    print(service.output()[-3000:])
                service.terminate()
                await service.wait(30)
                peak, median = max(running), statistics.median(running)

            if created:
                other = f"sqlite:///{folder / 'other.sqlite3'}"
                service = await serve(folder, "create", other, sim)
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

            if uploaded:
                upload = await upload_peak(http, folder, sim, uploaded)
    print(f"{'figure':<62} | {'RSS':>9} | goal")
    print(f"{'idle, empty store (baseline)':<62} | {idle:6.1f} MiB |")
    if size:
        print(f"{f'{size:,}-contact campaign running, median':<62} | {median:6.1f} MiB |")
        print(
            f"{f'{size:,}-contact campaign running, peak':<62} | {peak:6.1f} MiB | "
            f"<= {GOAL_MIB} MiB ({'met' if peak <= GOAL_MIB else 'NOT met'})"
        )
    if created:
        print(
            f"{f'after POST /campaigns with {created:,} contacts (JSON)':<62} | "
            f"{after:6.1f} MiB | (before: {before:.1f} MiB)"
        )
    if upload is not None:
        start_rss, sampled, high_water, took = upload
        print(
            f"{f'peak RSS while POST /campaigns uploads a {uploaded:,}-row CSV':<62} | "
            f"{high_water:6.1f} MiB | < {GOAL_MIB} MiB "
            f"({'met' if high_water < GOAL_MIB else 'NOT met'}); VmHWM, sampled peak "
            f"{sampled:.1f} MiB, before {start_rss:.1f} MiB, {took:.0f} s to 201"
        )
    if size:
        print(f"(the simulator took {sent:,} sends while RSS was sampled for {seconds:.0f} s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--contacts", type=int, default=1_000_000, help="the running campaign's size (0: skip)"
    )
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument(
        "--created", type=int, default=100_000, help="contacts created as JSON (0: skip)"
    )
    parser.add_argument(
        "--uploaded", type=int, default=1_000_000, help="rows of the uploaded CSV (0: skip)"
    )
    args = parser.parse_args()
    asyncio.run(main(args.contacts, args.seconds, args.created, args.uploaded))
