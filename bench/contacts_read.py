"""GET /campaigns/{id}/contacts?limit=100 at 10,000 and at 1,000,000 contacts, same run.

Through the real `serve` process on a SQLite store: the page comes from the per-contact read
model, so its p99 should not depend on the campaign's size (goal: under 20 ms). Also a page
filtered by outcome, and how long the first request took to catch the read model up.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from uuid import UUID

import aiohttp
from fixtures import run_and_cancel

from adapters import bootstrap, processes
from app.campaigns import CampaignsApp
from domain.audience import Audience
from domain.campaign import Campaign
from domain.contacts import Contact, chat_id_for_e164

TOKEN = "bench-token-not-a-secret"


def populate(app: CampaignsApp, size: int, attempted: int, tag: int) -> UUID:
    """Record a campaign of `size` contacts with outcomes for the first `attempted` (every
    tenth failed), then cancel it so the service leaves it alone."""
    contacts = [
        Contact(phone=f"+49{tag}{i:09d}", chat_id=chat_id_for_e164(f"+49{tag}{i:09d}"))
        for i in range(size)
    ]
    audience = Audience.freeze(contacts)
    del contacts
    now = app.clock.now()
    campaign = Campaign(
        name=f"bench {size:,}",
        session="default",
        message={"text": "Hi"},
        audience=audience.reference(),
        scheduled_for=now,
        pacing={"min_seconds": 0.0, "max_seconds": 0.0},
        options={},
        at=now,
    )
    app.save(audience)
    del audience
    chats = [f"49{tag}{i:09d}@c.us" for i in range(attempted)]
    run_and_cancel(app, campaign, chats, at=lambda _: now, fail_every=10, message_ids=f"M{tag}")
    return campaign.id


async def timed_gets(
    session: aiohttp.ClientSession, url: str, requests: int
) -> tuple[float, float]:
    """Return (median, p99) in ms of `requests` sequential GETs of `url`."""
    latencies = []
    for _ in range(requests):
        started = time.perf_counter()
        async with session.get(url) as response:
            await response.read()
            assert response.status == 200, response.status
        latencies.append((time.perf_counter() - started) * 1000)
    return statistics.median(latencies), statistics.quantiles(latencies, n=100)[98]


async def main(small: int, large: int, requests: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "campaigns.sqlite3"
        url = f"sqlite:///{path}"
        app = bootstrap.campaigns_app(url)
        started = time.perf_counter()
        ids = {
            small: populate(app, small, small // 10, tag=151),
            large: populate(app, large, large // 10, tag=152),
        }
        head = app.recorder.max_notification_id() or 0
        app.close()
        print(
            f"fixture: {small:,} + {large:,} contacts, {head:,} events, "
            f"{time.perf_counter() - started:.1f} s"
        )
        clock, sleeper = bootstrap.system_time()
        port = processes.free_port()
        service = await processes.start(
            ["serve", "--host", "127.0.0.1", "--port", str(port)],
            port=port,
            ready_path="/healthz",
            log_path=Path(folder) / "service.log",
            clock=clock,
            sleeper=sleeper,
            env={
                "CAMPAIGNS_DATABASE_URL": url,
                "CAMPAIGNS_API_TOKEN": TOKEN,
                "CAMPAIGNS_MEDIA_DIR": str(Path(folder) / "media"),
            },
        )
        headers = {"Authorization": f"Bearer {TOKEN}"}
        try:
            async with aiohttp.ClientSession(headers=headers) as session:
                started = time.perf_counter()
                await timed_gets(session, f"{service.url}/campaigns/{ids[large]}/contacts", 2)
                print(
                    f"first request, catching the read model up to position {head:,}: "
                    f"{time.perf_counter() - started:.1f} s"
                )
                for size, campaign_id in ids.items():
                    base = f"{service.url}/campaigns/{campaign_id}/contacts?limit=100"
                    # The middle of the campaign; failures are in its first tenth, from 0.
                    for label, query in (
                        (f" cursor={size // 2:,}", f"&cursor={size // 2}"),
                        (" outcome=failed", "&outcome=failed"),
                    ):
                        median, p99 = await timed_gets(session, base + query, requests)
                        print(
                            f"{size:>9,} contacts, limit=100{label:<18}: median "
                            f"{median:5.1f} ms, p99 {p99:5.1f} ms (goal < 20 ms)"
                        )
        finally:
            service.terminate()
            await service.wait(15)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.small, args.large, args.requests))
