"""Send lanes with the real service and the simulated WAHA: one sender per WhatsApp number."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters import processes
from adapters.system import AsyncioSleeper, SystemClock
from tests.e2e.conftest import Service, ServiceFactory, Simulator, eventually

pytestmark = pytest.mark.e2e


@pytest.fixture
async def simulator(tmp_path: Path, http: aiohttp.ClientSession) -> AsyncIterator[Simulator]:
    async with processes.simulator(
        tmp_path / "simulator.log",
        "--not-working-wait",
        "0",
        "--sessions",
        "default,other",
        clock=SystemClock(),
        sleeper=AsyncioSleeper(),
    ) as child:
        yield Simulator(child, http)


def people(n: int, start: int) -> list[dict[str, str]]:
    return [{"phone": f"+49151{30000000 + start + i}", "name": f"P{start + i}"} for i in range(n)]


def chat(person: dict[str, str]) -> str:
    return person["phone"].removeprefix("+") + "@c.us"


async def create(service: Service, **body: Any) -> dict[str, Any]:
    status, created = await service.call(
        "POST", "/campaigns", json={"message": {"text": "Hi {name}"}, **body}
    )
    assert status == 201, created
    return dict(created)


async def all_completed(service: Service, ids: list[str]) -> bool:
    for campaign_id in ids:
        if (await service.view(campaign_id))["status"] != "Completed":
            return False
    return True


async def sends_of(simulator: Simulator, session: str) -> tuple[list[dict[str, Any]], int]:
    body = await simulator.control("GET", f"/sends?session={session}")
    sends = sorted(body["sends"], key=lambda s: s["received_at"])
    return sends, int(body["max_in_flight"].get(session, 0))


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def soon(seconds: float = 2.0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


@pytest.mark.parametrize("campaigns", [2, 5])
async def test_campaigns_on_one_session_send_one_at_a_time_keeping_every_gap(
    start_service: ServiceFactory, simulator: Simulator, campaigns: int
) -> None:
    service = await start_service()
    due = soon()
    bounds: dict[str, float] = {}
    ids = []
    for k in range(campaigns):
        audience = people(5, start=100 * k)
        low = 0.15 + 0.05 * k  # each campaign its own bounds, so a gap says whose it was
        created = await create(
            service,
            name=f"campaign {k}",
            contacts=audience,
            pacing={"min_seconds": low, "max_seconds": low + 0.05},
            scheduled_for=due,
        )
        ids.append(created["id"])
        bounds.update({chat(p): low for p in audience})
    other = await create(
        service,
        name="another number",
        session="other",
        contacts=people(5, start=900),
        pacing={"min_seconds": 0.15, "max_seconds": 0.2},
        scheduled_for=due,
    )

    await eventually(lambda: all_completed(service, [*ids, other["id"]]), within=120)

    sends, most_at_once = await sends_of(simulator, "default")
    assert most_at_once == 1
    assert len(sends) == 5 * campaigns
    for before, after in itertools.pairwise(sends):
        gap = (moment(after["received_at"]) - moment(before["finished_at"])).total_seconds()
        # At least the lower bound of the campaign whose contact went next.
        assert gap >= bounds[after["chat_id"]], (before, after, gap)
    elsewhere, _ = await sends_of(simulator, "other")
    first, last = moment(sends[0]["received_at"]), moment(sends[-1]["received_at"])
    # Another number sends in its own lane at the same time.
    assert any(first < moment(s["received_at"]) < last for s in elsewhere)


async def test_three_campaigns_interleave_and_a_higher_priority_goes_first(
    start_service: ServiceFactory, simulator: Simulator
) -> None:
    service = await start_service()
    due = soon()
    owner: dict[str, str] = {}
    names = {"a": 0, "b": 0, "urgent": 5, "c": 0}
    for k, (name, priority) in enumerate(names.items()):
        audience = people(10 if name != "urgent" else 4, start=100 * k)
        await create(
            service,
            name=name,
            contacts=audience,
            pacing={"min_seconds": 0.02, "max_seconds": 0.04},
            scheduled_for=due,
            options={"priority": priority},
        )
        owner.update({chat(p): name for p in audience})
    listed = await service.call("GET", "/campaigns")
    ids = [c["id"] for c in listed[1]["items"]]

    await eventually(lambda: all_completed(service, ids), within=90)

    ledger = sorted(await simulator.ledger(), key=lambda e: e["accepted_at"])
    order = [owner[e["chat_id"]] for e in ledger]
    assert order[:4] == ["urgent"] * 4
    # Then the equals take turns, one contact each per round, in a fixed cycle.
    assert set(order[4:7]) == {"a", "b", "c"}
    assert order[4:] == order[4:7] * 10


async def test_an_outage_costs_at_most_the_guards_limit_then_the_campaign_completes(
    start_service: ServiceFactory, simulator: Simulator
) -> None:
    service = await start_service()
    for endpoint in ("sendText",):
        await simulator.control(
            "POST", "/faults", {"endpoint": endpoint, "kind": "error_500", "times": None}
        )
    created = await create(
        service,
        name="during an outage",
        contacts=people(8, start=0),
        pacing={"min_seconds": 0.05, "max_seconds": 0.1},
    )
    campaign_id = created["id"]

    async def paused() -> bool:
        return bool((await service.view(campaign_id))["status"] == "Paused")

    await eventually(paused, within=30, what="a pause for WAHA failing")
    during = await service.view(campaign_id)
    await simulator.control("DELETE", "/faults")
    await eventually(lambda: all_completed(service, [campaign_id]), within=60)

    done = await service.view(campaign_id)
    assert during["pause"]["reason"] == "waha_unavailable"
    # With message ids, a send WAHA failed is looked up by its id: not there, so not sent,
    # and it is sent later under the same id. Nobody is left in doubt.
    assert (during["in_doubt"], done["in_doubt"], done["sent"]) == (0, 0, 8)
    per_chat = Counter(e["chat_id"] for e in await simulator.ledger())
    assert max(per_chat.values()) == 1


async def test_without_message_ids_an_outage_leaves_at_most_the_limit_in_doubt(
    tmp_path: Path, http: aiohttp.ClientSession, start_service: ServiceFactory
) -> None:
    async with processes.simulator(
        tmp_path / "old-waha.log",
        "--not-working-wait",
        "0",
        "--no-message-ids",
        clock=SystemClock(),
        sleeper=AsyncioSleeper(),
    ) as child:
        old_waha = Simulator(child, http)
        service = await start_service(WAHA_URL=child.url)
        await old_waha.control(
            "POST", "/faults", {"endpoint": "sendText", "kind": "drop", "times": None}
        )
        created = await create(
            service,
            name="dropped connections",
            contacts=people(8, start=0),
            pacing={"min_seconds": 0.05, "max_seconds": 0.1},
        )
        campaign_id = created["id"]

        async def paused() -> bool:
            return bool((await service.view(campaign_id))["status"] == "Paused")

        await eventually(paused, within=30, what="a pause for WAHA failing")
        during = await service.view(campaign_id)
        await old_waha.control("DELETE", "/faults")
        await eventually(lambda: all_completed(service, [campaign_id]), within=60)
        done = await service.view(campaign_id)

    assert during["pause"]["reason"] == "waha_unavailable"
    assert during["in_doubt"] <= 3  # the guard's default limit (max_consecutive_unknown)
    assert done["sent"] + done["in_doubt"] == 8
