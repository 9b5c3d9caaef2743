"""Send lanes: what one sender per number costs, how fast a lane is taken over, and many numbers.

Three figures, each beside its baseline from the same run:

1. overhead: one session, zero pacing; one campaign of N contacts vs ten campaigns of N/10
   sharing the lane (goal: ten >= 0.9 x the contacts/s of one). In-process lanes (built by the
   composition root) against the WAHA simulator on loopback, SQLite file store.
2. takeover: after a SIGKILL of the lane's holder, the time until a send goes out again,
   median and max over the kills; SQLite (the same service restarted: its start included) and
   PostgreSQL (a live peer takes over after the lease lapses; goal: within 10 s).
3. sessions: N sessions with one campaign each in one `serve` process, pacing about 1 s: p99
   lateness of a send against the moment its lane chose for it (goals: < 100 ms at 200; < 10 %
   of the wait at 500), CPU of the process (goal < 50 % of a core at 200) and CPU per message
   (goal < 1 ms). Baselines, same run: the WAHA simulator's own CPU for the same messages, and
   the floor of the seed's rule: N tasks doing nothing but a status check and a send per
   contact through the project's WAHA adapter at the same pace, no store, in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
from machine import Steal

from adapters import bootstrap, collector, processes
from adapters.waha.client import AiohttpWahaGateway
from app.audience import ContactInput
from app.scheduling import ScheduleCampaign
from app.settings import load_settings
from domain.contacts import ChatId
from domain.pacing import Pacing
from domain.session import SessionName

TOKEN = "bench-token-not-a-secret"
ADMIN_URL = os.environ.get(
    "CAMPAIGNS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def phone(i: int) -> str:
    return f"+4915{100000000 + i}"


# -- 1. the lane's overhead --------------------------------------------------------------------


async def lane_rate(gateway: AiohttpWahaGateway, folder: Path, campaigns: int, total: int) -> float:
    """Contacts per second of `campaigns` campaigns sharing one lane, `total` contacts in all."""
    folder.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - a benchmark's set-up
    settings = load_settings(
        {},
        campaigns_database_url=f"sqlite:///{folder / f'lanes-{campaigns}.sqlite3'}",
        campaigns_media_dir=folder / "media",
    )
    services = bootstrap.build(settings)
    per = total // campaigns
    ids = [
        services.campaigns.schedule_campaign(
            ScheduleCampaign(
                name=f"bench {k}",
                text="Hi",
                contacts=[ContactInput(phone=phone(k * per + i)) for i in range(per)],
                pacing=Pacing(0, 0),
            )
        ).view.id
        for k in range(campaigns)
    ]
    async with bootstrap.running(services, gateway=gateway, start_supervisor=False) as runtime:
        started = time.perf_counter()
        await runtime.supervisor.tick()  # starts every due campaign, then the lane takes them up
        await runtime.supervisor.wait_for_runs()
        elapsed = time.perf_counter() - started
        batches, commits = runtime.committer.batches, runtime.committer.commits
    sent = sum(services.campaigns.campaign(i).sent for i in ids)
    services.close()
    assert sent == per * campaigns, sent
    print(
        f"   {campaigns:2} campaign(s): {sent / elapsed:7.1f} contacts/s "
        f"({commits} commits in {batches} transactions)"
    )
    return sent / elapsed


async def overhead(total: int, rounds: int) -> None:
    print(f"1. one lane, zero pacing, {total:,} contacts: one campaign vs ten sharing it")
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
            one: list[float] = []
            ten: list[float] = []
            for r in range(rounds):  # alternate the order: the second run is not favoured
                for campaigns in (1, 10) if r % 2 == 0 else (10, 1):
                    rate = await lane_rate(gateway, Path(folder) / f"r{r}", campaigns, total)
                    (one if campaigns == 1 else ten).append(rate)
    ratio = statistics.median(ten) / statistics.median(one)
    print(
        f"   median: one {statistics.median(one):.1f}/s, ten {statistics.median(ten):.1f}/s: "
        f"ten / one = {ratio:.2f} (goal >= 0.90)"
    )


# -- 2. takeover latency --------------------------------------------------------------------------


async def json_of(http: aiohttp.ClientSession, url: str) -> Any:
    async with http.get(url, headers={"Authorization": f"Bearer {TOKEN}"}) as response:
        return await response.json(content_type=None)


async def sends(http: aiohttp.ClientSession, sim: processes.ChildProcess) -> list[dict[str, Any]]:
    body = await json_of(http, f"{sim.url}/_simulator/sends")
    return [s for s in body["sends"] if s["outcome"] == "accepted"]


async def serve(
    folder: Path, name: str, url: str, sim: processes.ChildProcess, **env: str
) -> processes.ChildProcess:
    """`waha-campaigns serve` on the store at `url` against the simulator; `env`: more settings."""
    clock, sleeper = bootstrap.system_time()
    port = processes.free_port()
    return await processes.start(
        ["serve", "--host", "127.0.0.1", "--port", str(port)],
        port=port,
        ready_path="/healthz",
        log_path=folder / f"{name}.log",
        clock=clock,
        sleeper=sleeper,
        env={
            "CAMPAIGNS_DATABASE_URL": url,
            "CAMPAIGNS_MEDIA_DIR": str(folder / "media"),
            "CAMPAIGNS_API_TOKEN": TOKEN,
            "WAHA_URL": sim.url,
            **env,
        },
    )


async def create(http: aiohttp.ClientSession, service: processes.ChildProcess, **body: Any) -> str:
    async with http.post(
        f"{service.url}/campaigns",
        json={"message": {"text": "Hi"}, **body},
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as response:
        created = await response.json()
        assert response.status == 201, created
        return str(created["id"])


async def holder_pid(http: aiohttp.ClientSession, service: processes.ChildProcess) -> int:
    """The pid of the process that took the default lane last, from the lane's record."""
    events: list[dict[str, Any]] = []
    cursor = 0
    while True:
        page = await json_of(http, f"{service.url}/events?limit=1000&cursor={cursor}")
        events.extend(page["items"])
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    owner = [e["data"]["owner"] for e in events if e["type"] == "LaneTakenUp"][-1]
    return int(owner.split(":")[1])


async def until_next_send(
    http: aiohttp.ClientSession, sim: processes.ChildProcess, after: datetime, limit: float
) -> float:
    _, sleeper = bootstrap.system_time()
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        received = [datetime.fromisoformat(s["received_at"]) for s in await sends(http, sim)]
        later = [moment for moment in received if moment > after]
        if later:
            return (min(later) - after).total_seconds()
        await sleeper.sleep(0.05)
    return float("inf")


async def takeover(url: str, kills: int, label: str, *, peers: int) -> list[float]:
    """Kill the default lane's holder `kills` times; return the seconds until the next send."""
    clock, sleeper = bootstrap.system_time()
    chance = random.Random(7)
    latencies = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        async with (
            processes.simulator(
                folder / "sim.log", "--not-working-wait", "0", clock=clock, sleeper=sleeper
            ) as sim,
            aiohttp.ClientSession() as http,
        ):
            services = [await serve(folder, f"s{n}", url, sim) for n in range(peers)]
            await create(
                http,
                services[0],
                name="takeover",
                contacts=[{"phone": phone(i)} for i in range(100_000 // 50)],
                pacing={"min_seconds": 0.1, "max_seconds": 0.2},
            )
            try:
                for kill in range(kills):
                    await sleeper.sleep(1.0 + chance.random())  # a random moment in the run
                    pid = await holder_pid(http, services[-1])
                    victim = next(s for s in services if s.process.pid == pid)
                    victim.kill()
                    killed_at = datetime.now(UTC)
                    await victim.wait()
                    services.remove(victim)
                    if peers == 1:
                        services.append(await serve(folder, f"restart{kill}", url, sim))
                    latencies.append(await until_next_send(http, sim, killed_at, 60))
                    if peers > 1:
                        services.append(await serve(folder, f"peer{kill}", url, sim))
            finally:
                for service in services:
                    service.kill()
                    await service.wait()
    print(
        f"   {label}: median {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s "
        f"over {kills} kills (goal <= 10 s)"
    )
    return latencies


@contextlib.contextmanager
def postgres_database() -> Iterator[str | None]:
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error:
        yield None
        return
    name = f"wc_bench_{uuid.uuid4().hex[:10]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def takeovers(kills: int) -> None:
    print(f"2. takeover after SIGKILL of the lane's holder, {kills} kills each")
    with tempfile.TemporaryDirectory() as folder:
        await takeover(
            f"sqlite:///{Path(folder) / 'store.sqlite3'}",
            kills,
            "SQLite, the service restarted",
            peers=1,
        )
    with postgres_database() as url:
        if url is None:
            print("   PostgreSQL: skipped (no server at 127.0.0.1:5432)")
            return
        await takeover(url, kills, "PostgreSQL, a live peer takes over", peers=2)


# -- 3. many numbers in one process ----------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def many_sessions(count: int, contacts: int) -> None:
    print(
        f"3. {count} sessions, one campaign each, {contacts} contacts, pacing 1.0-1.01 s, "
        "one process"
    )
    clock, sleeper = bootstrap.system_time()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        async with (
            processes.simulator(
                folder / "sim.log",
                "--not-working-wait",
                "0",
                "--session-count",
                str(count),
                clock=clock,
                sleeper=sleeper,
            ) as sim,
            aiohttp.ClientSession() as http,
        ):
            service = await serve(folder, "serve", f"sqlite:///{folder / 'store.sqlite3'}", sim)
            try:
                # Due together a little later, so every lane starts at once, after the creations.
                soon = datetime.now(UTC).timestamp() + 5 + count / 50 + count * contacts / 2000
                ids = [
                    await create(
                        http,
                        service,
                        name=f"n{n}",
                        session=f"session-{n + 1}",
                        contacts=[{"phone": phone(n * contacts + i)} for i in range(contacts)],
                        pacing={"min_seconds": 1.0, "max_seconds": 1.01},
                        scheduled_for=datetime.fromtimestamp(soon, UTC).isoformat(),
                    )
                    for n in range(count)
                ]
                lead = soon - datetime.now(UTC).timestamp()
                # Sends counted from before the CPU's first reading would flatter the figure.
                assert lead > 0, f"the creations ended {-lead:.1f} s after the campaigns were due"
                await sleeper.sleep(lead)
                cpu_before, wall_before = cpu_seconds(service.process.pid), time.monotonic()
                sim_before = cpu_seconds(sim.process.pid)
                # Once a second, as a dashboard would: is any campaign still due or running?
                # (Reading every campaign's view each second cost the service more than a
                # tenth of its CPU, which is the bench's load, not the sends'.)
                while await unfinished(http, service):
                    await sleeper.sleep(1.0)
                cpu = cpu_seconds(service.process.pid) - cpu_before
                sim_cpu = cpu_seconds(sim.process.pid) - sim_before
                wall = time.monotonic() - wall_before
                views = [await json_of(http, f"{service.url}/campaigns/{i}") for i in ids]
                assert all(v["sent"] == contacts for v in views), "a campaign sent less"
                late = await lateness(http, service)
            finally:
                service.terminate()
                await service.wait(30)
            floor = await client_floor(sim.url, count, contacts)
    messages = count * contacts
    p50, p99 = statistics.median(late), statistics.quantiles(late, n=100)[98]
    print(
        f"   lateness against the chosen moment: p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms "
        f"({p99 / 1.0:.1%} of the wait; goals < 100 ms at 200 sessions, < 10 % at 500)"
    )
    print(
        f"   CPU of the process: {cpu / wall:.1%} of a core over {wall:.0f} s "
        f"(goal < 50 % at 200); {cpu / messages * 1000:.2f} ms per message (goal < 1 ms)"
    )
    print(
        f"   baseline: the WAHA simulator answering the same status checks and sends: "
        f"{sim_cpu / messages * 1000:.2f} ms per message"
    )
    print(
        f"   floor: the seed's rule alone (status check + send through the WAHA adapter, no "
        f"store, {count} tasks at 1/s): {floor * 1000:.2f} ms per message"
    )


async def client_floor(waha_url: str, count: int, contacts: int) -> float:
    """CPU seconds per message of `count` tasks doing only the seed's check and send at 1/s."""
    clock, sleeper = bootstrap.system_time()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        gateway = AiohttpWahaGateway(http, base_url=waha_url, api_key=None, clock=clock)

        async def one(n: int) -> None:
            name = SessionName(f"session-{n + 1}")
            await sleeper.sleep(random.uniform(0, 1))
            for i in range(contacts):
                fact = await gateway.session_status(name)
                assert fact.status == "WORKING", fact
                await gateway.send_text(name, ChatId(f"{phone(n * contacts + i)[1:]}@c.us"), "Hi")
                await sleeper.sleep(random.uniform(1.0, 1.01))

        before = time.process_time()
        await asyncio.gather(*(one(n) for n in range(count)))
        return (time.process_time() - before) / (count * contacts)


async def unfinished(http: aiohttp.ClientSession, service: processes.ChildProcess) -> bool:
    """Whether any campaign is still scheduled or running (one page of one, by status)."""
    for status in ("Running", "Scheduled"):
        page = await json_of(http, f"{service.url}/campaigns?status={status}&limit=1")
        if page["items"]:
            return True
    return False


async def lateness(http: aiohttp.ClientSession, service: processes.ChildProcess) -> list[float]:
    """Seconds each send's turn came after the moment chosen for it, from the lanes' records."""
    events: list[dict[str, Any]] = []
    cursor = 0
    while True:
        page = await json_of(http, f"{service.url}/events?limit=1000&cursor={cursor}")
        events.extend(page["items"])
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    planned: dict[str, datetime] = {}
    late = []
    for event in events:
        lane, data = event["campaign_id"], event["data"]
        if event["type"] == "TurnEnded" and data["gap_seconds"] is not None:
            planned[lane] = datetime.fromisoformat(data["at"]) + _seconds(data["gap_seconds"])
        elif event["type"] == "TurnTaken" and lane in planned:
            late.append((datetime.fromisoformat(data["at"]) - planned.pop(lane)).total_seconds())
    return late


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


async def main(args: argparse.Namespace) -> None:
    if "overhead" in args.parts:
        steal = Steal()
        await overhead(args.contacts, args.rounds)
        print(steal.line())
    if "takeover" in args.parts:
        await takeovers(args.kills)
    if "sessions" in args.parts:
        for count in args.sessions:
            steal = Steal()
            await many_sessions(count, args.per_session)
            print(steal.line())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parts", nargs="+", default=["overhead", "takeover", "sessions"])
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--sessions", type=int, nargs="+", default=[200, 500])
    parser.add_argument("--per-session", type=int, default=30)
    args = parser.parse_args()
    collector.tune()  # as `serve` does: the in-process parts and the floor are measured alike
    asyncio.run(main(args))
