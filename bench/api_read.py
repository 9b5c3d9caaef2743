"""GET /campaigns/{id} at 50 concurrent clients against a campaign with 100,000 attempts.

Measured beside a bare aiohttp handler that returns the same JSON, in the same run and with the
same client, so the ratio shows what the service adds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from adapters import bootstrap, processes

sys.path.insert(0, str(Path(__file__).parent))
from replay_speed import populate

TOKEN = "bench-token-not-a-secret"
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


async def load(
    url: str, clients: int, requests: int, headers: dict[str, str]
) -> tuple[float, float]:
    """Return (requests per second, p99 latency in ms) for `requests` GETs from `clients`."""
    latencies: list[float] = []
    remaining = requests
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def client() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                async with session.get(url) as response:
                    await response.read()
                    assert response.status == 200, response.status
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000
    return len(latencies) / elapsed, p99


async def main(attempts: int, clients: int, requests: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "campaigns.sqlite3"
        app = bootstrap.campaigns_app(f"sqlite:///{path}")
        campaign_id = populate(app, attempts)
        finished = app.load(campaign_id)
        finished.complete(at=finished.last_event_at or finished.scheduled_at)
        app.save_campaign(finished)
        view_json = json.dumps(app.campaign(campaign_id).as_dict()).encode()
        app.close()
        (Path(folder) / "view.json").write_bytes(view_json)

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
                "CAMPAIGNS_DATABASE_URL": f"sqlite:///{path}",
                "CAMPAIGNS_API_TOKEN": TOKEN,
                "CAMPAIGNS_MEDIA_DIR": str(Path(folder) / "media"),
            },
        )
        bare_port = processes.free_port()
        bare = await asyncio.create_subprocess_exec(
            sys.executable, "-c", BARE_APP, str(Path(folder) / "view.json"), str(bare_port)
        )
        try:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            service_url = f"{service.url}/campaigns/{campaign_id}"
            bare_url = f"http://127.0.0.1:{bare_port}/campaigns/{campaign_id}"
            await _until_up(bare_url)
            await load(service_url, clients, min(500, requests), headers)  # warm up both
            await load(bare_url, clients, min(500, requests), headers)
            bare_rate, bare_p99 = await load(bare_url, clients, requests, headers)
            rate, p99 = await load(service_url, clients, requests, headers)
        finally:
            service.terminate()
            await service.wait(15)
            bare.terminate()
            await bare.wait()
    print(
        f"GET /campaigns/{{id}}: {attempts:,} attempts, {clients} concurrent clients, "
        f"{requests:,} requests"
    )
    print(f"bare aiohttp handler (same JSON): {bare_rate:8.0f} req/s, p99 {bare_p99:6.1f} ms")
    print(f"waha-campaigns service:           {rate:8.0f} req/s, p99 {p99:6.1f} ms")
    print(f"service / bare = {rate / bare_rate:.0%} (target >= 50%)")


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
    parser.add_argument("--attempts", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=5_000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.attempts, arguments.clients, arguments.requests))
