"""The console's pages at 1,000 campaigns and at 100,000 contacts, beside the JSON API.

Through the real `serve` process on a SQLite store: the campaigns page (1,000 campaigns), a
campaign's page with 100,000 contacts (its first page, a page in the middle, filtered by
outcome), each measured as the service reports it (Server-Timing: the time from the request to
the rendered page) and as the client sees it; then GET /campaigns and GET
/campaigns/{id}/contacts in the same run. Goal: console p99 under 100 ms server-side.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import aiohttp
from fixtures import run_and_cancel

from adapters import bootstrap, processes
from app.campaigns import CampaignsApp
from domain.audience import Audience
from domain.campaign import AttemptOutcome, Campaign, PauseReason
from domain.contacts import Contact, chat_id_for_e164

TOKEN = "bench-token-not-a-secret"
GOAL_MS = 100.0
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_TIMING = re.compile(r"page;dur=([0-9.]+)")


def _contacts(size: int, tag: int) -> list[Contact]:
    return [
        Contact(
            phone=f"+49{tag}{i:08d}",
            chat_id=chat_id_for_e164(f"+49{tag}{i:08d}"),
            name=f"Person {i}",
        )
        for i in range(size)
    ]


def _campaign(
    app: CampaignsApp, name: str, audience: Audience, *, due_in: timedelta = timedelta(0)
) -> Campaign:
    now = app.clock.now()
    return Campaign(
        name=name,
        session=f"session-{hash(name) % 4}",
        message={"text": "Hi {name}", "defaults": {}, "image": None},
        audience=audience.reference(),
        scheduled_for=now + due_in,
        pacing={"min_seconds": 30.0, "max_seconds": 60.0},
        options={},
        at=now,
    )


def populate_many(app: CampaignsApp, count: int) -> None:
    """Record `count` small campaigns: completed, paused by hand, cancelled, or due tomorrow.

    None of them is due or running: the service has nothing to do but answer.
    """
    audience = Audience.freeze(_contacts(5, 150))
    app.save(audience)
    now = app.clock.now()
    for i in range(count):
        kind = i % 4
        due_in = timedelta(days=1) if kind == 3 else timedelta(0)
        campaign = _campaign(app, f"Campaign {i:04d}", audience, due_in=due_in)
        if kind in {0, 1, 2}:
            campaign.start(at=now)
            handled = 5 if kind == 0 else 2
            for index in range(handled):
                campaign.record_attempt(
                    index=index,
                    chat_id=f"49150{index:08d}@c.us",
                    outcome=AttemptOutcome.FAILED,
                    error="bench",
                    at=now,
                )
            if kind == 0:
                campaign.complete(at=now)
            elif kind == 1:
                campaign.pause_at_next(reason=PauseReason.MANUAL, detail="bench", at=now)
            else:
                campaign.cancel(reason="bench", at=now)
        app.save(campaign)


def populate_large(app: CampaignsApp, size: int, attempted: int) -> UUID:
    """Record a campaign of `size` contacts, the first `attempted` handled, then cancelled."""
    audience = Audience.freeze(_contacts(size, 152))
    app.save(audience)
    campaign = _campaign(app, f"Large {size:,}", audience)
    now = app.clock.now()
    chats = [f"49152{i:08d}@c.us" for i in range(attempted)]
    run_and_cancel(app, campaign, chats, at=lambda _: now, fail_every=10)
    return campaign.id


async def measure(
    session: aiohttp.ClientSession, url: str, requests: int
) -> tuple[float, float, float | None]:
    """Return (client median ms, client p99 ms, server p99 ms or None) of sequential GETs."""
    client, server = [], []
    for _ in range(requests):
        started = time.perf_counter()
        async with session.get(url) as response:
            await response.read()
            assert response.status == 200, (url, response.status)
            timing = _TIMING.search(response.headers.get("Server-Timing", ""))
        client.append((time.perf_counter() - started) * 1000)
        if timing is not None:
            server.append(float(timing.group(1)))
    p99 = statistics.quantiles(client, n=100)[98]
    server_p99 = statistics.quantiles(server, n=100)[98] if server else None
    return statistics.median(client), p99, server_p99


async def sign_in(session: aiohttp.ClientSession, base: str) -> None:
    """Sign the session in to the console with the API token."""
    async with session.get(f"{base}/ui/sign-in") as response:
        found = _CSRF.search(await response.text())
    assert found is not None
    data = {"csrf": found.group(1), "token": TOKEN, "next": "/ui/"}
    async with session.post(f"{base}/ui/sign-in", data=data) as response:
        assert response.status == 200, response.status


def _line(label: str, figures: tuple[float, float, float | None]) -> str:
    median, p99, server = figures
    served = f", server p99 {server:6.1f} ms" if server is not None else " " * 23
    verdict = "" if server is None else ("  ok" if server < GOAL_MS else "  OVER GOAL")
    return f"{label:<52} client median {median:6.1f} ms, p99 {p99:6.1f} ms{served}{verdict}"


async def main(campaigns: int, size: int, requests: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'campaigns.sqlite3'}"
        app = bootstrap.campaigns_app(url)
        started = time.perf_counter()
        populate_many(app, campaigns)
        large = populate_large(app, size, size // 10)
        head = app.recorder.max_notification_id() or 0
        app.close()
        print(
            f"fixture: {campaigns:,} campaigns + one of {size:,} contacts, {head:,} events, "
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
                # Nothing answers there: paused campaigns stay paused, nothing is sent.
                "WAHA_URL": f"http://127.0.0.1:{processes.free_port()}",
            },
        )
        base = service.url
        jar = aiohttp.CookieJar(unsafe=True)
        try:
            async with (
                aiohttp.ClientSession(cookie_jar=jar) as console,
                aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as api,
            ):
                await sign_in(console, base)
                started = time.perf_counter()
                await measure(console, f"{base}/ui/campaigns/{large}", 2)
                took = time.perf_counter() - started
                print(f"first pages, catching the read models up: {took:.1f} s")
                pages = (
                    (f"console /ui/campaigns ({campaigns:,} campaigns)", f"{base}/ui/campaigns"),
                    (
                        "console /ui/campaigns?status=Paused&q=campaign",
                        f"{base}/ui/campaigns?status=Paused&q=campaign",
                    ),
                    (f"console campaign page ({size:,} contacts)", f"{base}/ui/campaigns/{large}"),
                    (
                        "console campaign page, contacts from the middle",
                        f"{base}/ui/campaigns/{large}?from={size // 2}",
                    ),
                    (
                        "console campaign page, failed contacts only",
                        f"{base}/ui/campaigns/{large}?outcome=failed",
                    ),
                )
                for label, target in pages:
                    print(_line(label, await measure(console, target, requests)))
                for label, target in (
                    ("API GET /campaigns", f"{base}/campaigns"),
                    (
                        "API GET /campaigns/{id}/contacts (limit 50)",
                        f"{base}/campaigns/{large}/contacts?limit=50",
                    ),
                ):
                    print(_line(label, await measure(api, target, requests)))
        finally:
            service.terminate()
            await service.wait(15)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--campaigns", type=int, default=1_000)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.campaigns, args.contacts, args.requests))
