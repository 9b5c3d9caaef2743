"""GET /campaigns/{id} at 50 concurrent clients: a finished campaign, and campaigns as they run.

Each part is measured beside a bare aiohttp handler that returns the same JSON, in the same run,
with the same client, so the ratio shows what the service adds:

1. finished: one campaign with 100,000 attempts, read by every client (its view never changes,
   so this measures cache hits).
2. running: 50 campaigns sending at once in the same `serve` process, one per WAHA session (the
   simulator on loopback, pacing 1.0-1.01 s, its acks coming back as signed webhooks), while
   the clients read `GET /campaigns/{id}` of those campaigns round-robin: each view changes
   about once a second, under reads. The bare handler is measured while they run too, so both
   share the machine with the sends.

Goals (this 2-core machine): service >= 0.5 x the bare handler's requests/s, p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp

from adapters import bootstrap, processes

sys.path.insert(0, str(Path(__file__).parent))
from replay_speed import populate

TOKEN = "bench-token-not-a-secret"
HMAC_KEY = "bench-hmac-key-not-a-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
RATIO_GOAL = 0.5
P99_GOAL_MS = 50.0
BARE_APP = """
import sys
from aiohttp import web
body = open(sys.argv[1], "rb").read()
async def handler(request):
    return web.Response(body=body, content_type="application/json")
app = web.Application()
app.router.add_get("/campaigns/{id}", handler)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[2]), print=None, access_log=None)
"""


@dataclass(frozen=True)
class Load:
    """What some GETs measured: their latencies, and the seconds they took in all."""

    latencies: list[float]
    elapsed: float

    def __add__(self, other: Load) -> Load:
        return Load(self.latencies + other.latencies, self.elapsed + other.elapsed)

    @property
    def rate(self) -> float:
        """Requests per second."""
        return len(self.latencies) / self.elapsed

    def percentile_ms(self, p: int) -> float:
        """The latency under which `p` % of the requests answered, in milliseconds."""
        return statistics.quantiles(self.latencies, n=100)[p - 1] * 1000


async def load(urls: list[str], clients: int, requests: int) -> Load:
    """GET `urls` round-robin, `requests` times in all from `clients` concurrent clients."""
    latencies: list[float] = []
    issued = 0
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, headers=AUTH) as session:

        async def client() -> None:
            nonlocal issued
            while issued < requests:
                url = urls[issued % len(urls)]
                issued += 1
                started = time.perf_counter()
                async with session.get(url) as response:
                    await response.read()
                    assert response.status == 200, response.status
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return Load(latencies, elapsed)


@contextlib.asynccontextmanager
async def bare_handler(body: bytes, folder: Path) -> AsyncIterator[str]:
    """Serve `body` for every GET /campaigns/{id} from a bare aiohttp app; yield its base URL."""
    path = folder / f"bare-{processes.free_port()}.json"
    path.write_bytes(body)
    port = processes.free_port()
    bare = await asyncio.create_subprocess_exec(
        sys.executable, "-c", BARE_APP, str(path), str(port)
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await _until_up(f"{url}/campaigns/any")
        yield url
    finally:
        bare.terminate()
        await bare.wait()


async def compare(
    service_urls: list[str], bare_base: str, clients: int, requests: int, rounds: int
) -> tuple[Load, Load]:
    """Warm both up, then measure them in turns, `rounds` each; return (service, bare).

    In turns, so that what else the machine does meanwhile weighs on both alike.
    """
    bare_urls = [f"{bare_base}/campaigns/{url.rsplit('/', 1)[1]}" for url in service_urls]
    await load(service_urls, clients, min(500, requests))
    await load(bare_urls, clients, min(500, requests))
    service, bare = Load([], 0.0), Load([], 0.0)
    for turn in range(rounds):
        if turn % 2 == 0:
            bare += await load(bare_urls, clients, requests // rounds)
            service += await load(service_urls, clients, requests // rounds)
        else:
            service += await load(service_urls, clients, requests // rounds)
            bare += await load(bare_urls, clients, requests // rounds)
    return service, bare


def rows(part: str, service: Load, bare: Load) -> list[tuple[str, ...]]:
    ratio = service.rate / bare.rate
    p99 = service.percentile_ms(99)
    return [
        (
            f"{part}: requests/s",
            f"{service.rate:,.0f} ({ratio:.2f}x)",
            f"{bare.rate:,.0f}",
            f">= {RATIO_GOAL:.2f}x bare",
            "yes" if ratio >= RATIO_GOAL else "NO",
        ),
        (
            f"{part}: p50",
            f"{service.percentile_ms(50):.1f} ms",
            f"{bare.percentile_ms(50):.1f} ms",
            "-",
            "-",
        ),
        (
            f"{part}: p99",
            f"{p99:.1f} ms",
            f"{bare.percentile_ms(99):.1f} ms",
            f"<= {P99_GOAL_MS:.0f} ms",
            "yes" if p99 <= P99_GOAL_MS else "NO",
        ),
    ]


def print_table(table: list[tuple[str, ...]]) -> None:
    header = ("figure", "value", "baseline (bare)", "goal", "met")
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(len(header))]
    for row in [header, *table]:
        print("  " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


# -- the service ----------------------------------------------------------------------------------


async def json_of(http: aiohttp.ClientSession, url: str) -> Any:
    async with http.get(url, headers=AUTH) as response:
        assert response.status == 200, (url, response.status)
        return await response.json()


def finished_store(folder: Path, attempts: int) -> str:
    """Record a finished campaign of `attempts` attempts in a new SQLite store; return its id."""
    app = bootstrap.campaigns_app(f"sqlite:///{folder / 'campaigns.sqlite3'}")
    campaign_id = populate(app, attempts)
    finished = app.load(campaign_id)
    finished.complete(at=finished.last_event_at or finished.scheduled_at)
    app.save_campaign(finished)
    app.close()
    return str(campaign_id)


async def create_running(
    http: aiohttp.ClientSession, service: str, count: int, contacts: int
) -> list[str]:
    """Create `count` campaigns, one per simulated session, due together; wait until all run."""
    clock, sleeper = bootstrap.system_time()
    due = clock.now() + timedelta(seconds=2 + count / 50)
    ids = []
    for n in range(count):
        async with http.post(
            f"{service}/campaigns",
            json={
                "name": f"running {n}",
                "session": f"session-{n + 1}",
                "message": {"text": "Hi"},
                "contacts": [
                    {"phone": f"+4915{200000000 + n * contacts + i}"} for i in range(contacts)
                ],
                "pacing": {"min_seconds": 1.0, "max_seconds": 1.01},
                "scheduled_for": due.isoformat(),
            },
            headers=AUTH,
        ) as response:
            created = await response.json()
            assert response.status == 201, created
            ids.append(str(created["id"]))
    deadline = time.monotonic() + 30
    while await _running(http, service, ids) < count:
        assert time.monotonic() < deadline, "the campaigns did not all start"
        await sleeper.sleep(0.2)
    return ids


async def _running(http: aiohttp.ClientSession, service: str, ids: list[str]) -> int:
    views = [await json_of(http, f"{service}/campaigns/{i}") for i in ids]
    return sum(view["status"] == "Running" for view in views)


async def _sent(http: aiohttp.ClientSession, service: str, ids: list[str]) -> int:
    views = [await json_of(http, f"{service}/campaigns/{i}") for i in ids]
    return sum(int(view["sent"]) for view in views)


async def main(args: argparse.Namespace) -> None:
    clock, sleeper = bootstrap.system_time()
    table: list[tuple[str, ...]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        finished_id = finished_store(folder, args.attempts) if "finished" in args.parts else None
        port = processes.free_port()
        async with (
            processes.simulator(
                folder / "simulator.log",
                "--not-working-wait",
                "0",
                "--session-count",
                str(args.campaigns),
                *(["--webhook-url", f"http://127.0.0.1:{port}/webhooks/waha"] if args.acks else []),
                "--webhook-hmac-key",
                HMAC_KEY,
                clock=clock,
                sleeper=sleeper,
            ) as sim,
            aiohttp.ClientSession() as http,
        ):
            service = await processes.start(
                ["serve", "--host", "127.0.0.1", "--port", str(port)],
                port=port,
                ready_path="/healthz",
                log_path=folder / "service.log",
                clock=clock,
                sleeper=sleeper,
                env={
                    "CAMPAIGNS_DATABASE_URL": f"sqlite:///{folder / 'campaigns.sqlite3'}",
                    "CAMPAIGNS_API_TOKEN": TOKEN,
                    "CAMPAIGNS_MEDIA_DIR": str(folder / "media"),
                    "WAHA_URL": sim.url,
                    "WAHA_WEBHOOK_HMAC_KEY": HMAC_KEY,
                },
            )
            try:
                if finished_id is not None:
                    url = f"{service.url}/campaigns/{finished_id}"
                    # The read models catch up with the store's 100,000 attempts first (a
                    # contacts page waits for them), so they are not measured as reads' cost.
                    await json_of(http, f"{url}/contacts?limit=1")
                    body = await _body(http, url)
                    async with bare_handler(body, folder) as bare_url:
                        measured = await compare(
                            [url], bare_url, args.clients, args.requests, args.rounds
                        )
                    table += rows("finished", *measured)
                if "running" in args.parts:
                    ids = await create_running(http, service.url, args.campaigns, args.contacts)
                    urls = [f"{service.url}/campaigns/{i}" for i in ids]
                    body = await _body(http, urls[0])
                    sent_before, started = await _sent(http, service.url, ids), time.monotonic()
                    async with bare_handler(body, folder) as bare_url:
                        measured = await compare(
                            urls, bare_url, args.clients, args.requests, args.rounds
                        )
                    sends = (await _sent(http, service.url, ids) - sent_before) / (
                        time.monotonic() - started
                    )
                    still = await _running(http, service.url, ids)
                    table += rows(f"{args.campaigns} running", *measured)
                    notes.append(
                        f"while reading: {sends:.1f} sends/s over the campaigns; "
                        f"{still} of {args.campaigns} still running at the end"
                    )
            finally:
                service.terminate()
                await service.wait(15)
    print(
        f"GET /campaigns/{{id}}: {args.clients} concurrent clients, {args.requests:,} requests "
        f"each in {args.rounds} turns; finished: {args.attempts:,} attempts; running: "
        f"{args.campaigns} campaigns x {args.contacts} contacts, pacing 1.0-1.01 s, one session "
        f"each{'' if args.acks else ', no acks'}"
    )
    print_table(table)
    for note in notes:
        print(f"  {note}")


async def _body(http: aiohttp.ClientSession, url: str) -> bytes:
    async with http.get(url, headers=AUTH) as response:
        return await response.read()


async def _until_up(url: str) -> None:
    _, sleeper = bootstrap.system_time()
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.get(url):
                    return
            except aiohttp.ClientError:
                await sleeper.sleep(0.05)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parts", nargs="+", default=["finished", "running"])
    parser.add_argument("--attempts", type=int, default=100_000)
    parser.add_argument("--campaigns", type=int, default=50)
    parser.add_argument("--contacts", type=int, default=40, help="per running campaign")
    parser.add_argument(
        "--no-acks",
        dest="acks",
        action="store_false",
        help="the simulator sends no webhooks (no message.ack: no delivery records written)",
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=6_000, help="each, service and bare")
    parser.add_argument("--rounds", type=int, default=4, help="turns the requests are split in")
    asyncio.run(main(parser.parse_args()))
