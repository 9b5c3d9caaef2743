"""Ten numbers at zero pacing: the lanes against the seed's design, on SQLite and PostgreSQL.

Ten sessions (numbers), one campaign each, every message as fast as the WAHA simulator on
loopback answers (status check + send per contact, the seed's rule). Compared in one run,
the order rotated every round so that no approach is always first (or last):

- bare: ten tasks making the same HTTP calls, nothing recorded (the ceiling);
- seed: the seed's design, ten tasks each updating its campaign's row per contact (one SQL
  UPDATE, SQLite WAL with synchronous FULL, as durable as the event store);
- lanes on SQLite: the service's own lanes, intent and outcome events per contact, written
  by the group commit (one `serve`'s worth of machinery, built by the composition root);
- lanes on PostgreSQL: the same against a database of its own on 127.0.0.1:5432, as the
  service runs (no gathering window) and with a 5 ms window, to see whether one would pay.

Goals (issue 12): lanes on SQLite / seed >= 1.0; lanes on PostgreSQL / lanes on SQLite >= 0.8.

`--experiment-without-lane-records` adds an approach that is never how the service runs: SQLite
lanes whose lane records (`Lane.TurnTaken`, `Lane.TurnEnded`, two of a message's four events)
are built but dropped before the group commit, to measure what writing them costs (the question
of an event model with fewer events per message).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from lanes import postgres_database
from machine import Steal

from adapters import bootstrap, collector, processes
from adapters.waha.client import AiohttpWahaGateway
from app.audience import ContactInput
from app.committer import GATHER_SECONDS, GroupCommitter
from app.scheduling import ScheduleCampaign
from app.settings import load_settings
from domain.contacts import ChatId
from domain.lane import Lane
from domain.pacing import Pacing
from domain.session import SessionName

SESSIONS = 10


def session(k: int) -> SessionName:
    return SessionName(f"session-{k + 1}")


def chat(i: int) -> ChatId:
    return ChatId(f"4915{100000000 + i}@c.us")


async def bare(gateway: AiohttpWahaGateway, per: int, _: Path) -> float:
    async def one(k: int) -> None:
        for i in range(per):
            fact = await gateway.session_status(session(k))
            assert fact.status == "WORKING"
            await gateway.send_text(session(k), chat(k * per + i), "Hi")

    started = time.perf_counter()
    await asyncio.gather(*(one(k) for k in range(SESSIONS)))
    return SESSIONS * per / (time.perf_counter() - started)


async def seed(gateway: AiohttpWahaGateway, per: int, folder: Path) -> float:
    # As the seed plan: a campaign row whose lastProcessedContactIndex is updated per contact.
    db = sqlite3.connect(folder / "seed.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute(
        "CREATE TABLE campaign (id INTEGER PRIMARY KEY, status TEXT, "
        "lastProcessedContactIndex INTEGER, sentCount INTEGER, failedCount INTEGER)"
    )
    for k in range(SESSIONS):
        db.execute("INSERT INTO campaign VALUES (?, 'Running', NULL, 0, 0)", (k,))

    async def one(k: int) -> None:
        for i in range(per):
            await gateway.session_status(session(k))
            await gateway.send_text(session(k), chat(k * per + i), "Hi")
            db.execute(
                "UPDATE campaign SET lastProcessedContactIndex = ?, sentCount = sentCount + 1 "
                "WHERE id = ?",
                (i, k),
            )

    started = time.perf_counter()
    await asyncio.gather(*(one(k) for k in range(SESSIONS)))
    rate = SESSIONS * per / (time.perf_counter() - started)
    db.close()
    return rate


async def lanes(
    gateway: AiohttpWahaGateway,
    per: int,
    folder: Path,
    url: str,
    *,
    gather_seconds: float | None = None,
    lane_records: bool = True,
) -> float:
    settings = load_settings({}, campaigns_database_url=url, campaigns_media_dir=folder / "media")
    services = bootstrap.build(settings)
    campaigns = services.campaigns
    ids = [
        campaigns.schedule_campaign(
            ScheduleCampaign(
                name=f"bench {k}",
                text="Hi",
                session=session(k),
                contacts=[
                    ContactInput(phone=f"+4915{100000000 + k * per + i}") for i in range(per)
                ],
                pacing=Pacing(0, 0),
            )
        ).view.id
        for k in range(SESSIONS)
    ]
    async with bootstrap.running(
        services, gateway=gateway, start_supervisor=False, gather_seconds=gather_seconds
    ) as runtime:
        if not lane_records:
            _drop_lane_records(runtime.committer)

        async def renewing() -> None:  # the supervisor's other duty (on PostgreSQL leases lapse)
            while True:
                await services.sleeper.sleep(0.5)
                await runtime.lanes.renew()

        renewals = asyncio.create_task(renewing())
        started = time.perf_counter()
        await runtime.supervisor.tick()  # starts every due campaign; each lane takes its own
        await runtime.supervisor.wait_for_runs()
        rate = SESSIONS * per / (time.perf_counter() - started)
        renewals.cancel()
    sent = sum(campaigns.campaign(i).sent for i in ids)
    services.close()
    assert sent == SESSIONS * per, sent
    return rate


async def lanes_sqlite(gateway: AiohttpWahaGateway, per: int, folder: Path) -> float:
    return await lanes(gateway, per, folder, f"sqlite:///{folder / 'events.sqlite3'}")


async def lanes_sqlite_without_lane_records(
    gateway: AiohttpWahaGateway, per: int, folder: Path
) -> float:
    """An experiment: the lane's records built, never written (see the module's doc)."""
    url = f"sqlite:///{folder / 'events.sqlite3'}"
    return await lanes(gateway, per, folder, url, lane_records=False)


def _drop_lane_records(committer: GroupCommitter) -> None:
    """Make `committer` drop the lane's pending events and record the campaigns' alone."""
    record = committer.record

    async def campaigns_only(*aggregates: Any) -> None:
        kept = []
        for aggregate in aggregates:
            if isinstance(aggregate, Lane):
                aggregate.collect_events()  # dropped: nothing encodes, stores or reads them
            else:
                kept.append(aggregate)
        if kept:
            await record(*kept)

    committer.record = campaigns_only  # type: ignore[method-assign]


async def lanes_postgres(gateway: AiohttpWahaGateway, per: int, folder: Path) -> float:
    with postgres_database() as url:
        if url is None:
            return float("nan")
        return await lanes(gateway, per, folder, url)


async def lanes_postgres_window(gateway: AiohttpWahaGateway, per: int, folder: Path) -> float:
    """The same with the group commit's gathering window (5 ms), to see whether it pays."""
    with postgres_database() as url:
        if url is None:
            return float("nan")
        return await lanes(gateway, per, folder, url, gather_seconds=GATHER_SECONDS)


Approach = Callable[[AiohttpWahaGateway, int, Path], Awaitable[float]]
APPROACHES: dict[str, Approach] = {
    "bare HTTP, nothing recorded": bare,
    "seed design, one row update": seed,
    "lanes, SQLite": lanes_sqlite,
    "lanes, PostgreSQL": lanes_postgres,
    "lanes, PostgreSQL, 5 ms window": lanes_postgres_window,
}


EXPERIMENT = "lanes, SQLite, no lane records"


async def main(total: int, rounds: int, *, experiment: bool = False) -> None:
    clock, sleeper = bootstrap.system_time()
    per = total // SESSIONS
    approaches = dict(APPROACHES)
    if experiment:
        approaches[EXPERIMENT] = lanes_sqlite_without_lane_records
    rates: dict[str, list[float]] = {name: [] for name in approaches}
    steals: list[float | None] = []
    names = list(approaches)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        async with (
            processes.simulator(
                folder / "simulator.log",
                "--not-working-wait",
                "0",
                "--session-count",
                str(SESSIONS),
                clock=clock,
                sleeper=sleeper,
            ) as sim,
            aiohttp.ClientSession() as http,
        ):
            gateway = AiohttpWahaGateway(http, base_url=sim.url, api_key=None, clock=clock)
            await bare(gateway, 20, folder)  # warm up the connection pool and the simulator
            for r in range(rounds):
                steal = Steal()
                order = names[r % len(names) :] + names[: r % len(names)]
                for approach in order:
                    run_folder = folder / f"r{r}-{names.index(approach)}"
                    run_folder.mkdir()
                    rates[approach].append(await approaches[approach](gateway, per, run_folder))
                steals.append(steal.percent())
    median = {name: statistics.median(values) for name, values in rates.items()}
    print(f"{SESSIONS} sessions x {per:,} contacts, zero pacing, {rounds} rounds (order rotated)")
    if any(math.isnan(v) for v in rates["lanes, PostgreSQL"]):  # no server
        print("  (PostgreSQL: skipped, no server at 127.0.0.1:5432)")
        for name in ("lanes, PostgreSQL", "lanes, PostgreSQL, 5 ms window"):
            del rates[name]
            median[name] = float("nan")
    for approach, values in rates.items():
        runs = ", ".join(f"{v:.0f}" for v in values)
        print(f"  {approach:<30} median {median[approach]:7.1f} contacts/s  ({runs})")
    seed_ratio = median["lanes, SQLite"] / median["seed design, one row update"]
    pg_ratio = median["lanes, PostgreSQL"] / median["lanes, SQLite"]
    bare_ratio = median["lanes, SQLite"] / median["bare HTTP, nothing recorded"]
    print(f"  lanes (SQLite) / seed design = {seed_ratio:.2f} (goal >= 1.0)")
    window = median["lanes, PostgreSQL, 5 ms window"] / median["lanes, PostgreSQL"]
    print(f"  lanes: PostgreSQL / SQLite   = {pg_ratio:.2f} (goal >= 0.8)")
    print(f"  PostgreSQL: window / none    = {window:.2f} (the gathering window's gain)")
    print(f"  lanes (SQLite) / bare HTTP   = {bare_ratio:.2f} (the cost of the record)")
    shown = ", ".join("?" if v is None else f"{v:.1f}" for v in steals)
    print(f"  host steal per round, % of the CPUs' time: {shown} (a slow spell shows here)")
    if experiment:
        gain = median[EXPERIMENT] / median["lanes, SQLite"]
        print(f"  experiment: no lane records / lanes (SQLite) = {gain:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=5_000, help="in all, over ten sessions")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--experiment-without-lane-records",
        action="store_true",
        help="also run lanes whose lane records are never written (never how the service runs)",
    )
    args = parser.parse_args()
    collector.tune()  # as `serve` does: every approach runs in this one process, alike
    asyncio.run(main(args.contacts, args.rounds, experiment=args.experiment_without_lane_records))
