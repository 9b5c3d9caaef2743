"""A campaign whose service is killed with SIGKILL again and again still messages everyone once."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from tests.e2e.conftest import Service, ServiceFactory, Simulator, contacts, eventually

pytestmark = pytest.mark.e2e
KILLS = 10


async def test_a_campaign_killed_ten_times_completes_and_messages_nobody_twice(
    start_service: ServiceFactory, simulator: Simulator
) -> None:
    # A killed runner's campaign is taken up once it has been quieter than a live runner can
    # be (its pacing, two WAHA timeouts and the takeover margin): keep those short here.
    settings = {"WAHA_TIMEOUT_SECONDS": "5.5", "CAMPAIGNS_TAKEOVER_AFTER_SECONDS": "1"}
    service = await start_service(**settings)
    status, created = await service.call(
        "POST",
        "/campaigns",
        json={
            "name": "crash test",
            "message": {"text": "Hello {name}"},
            "contacts": contacts(200),
            "pacing": {"min_seconds": 0.01, "max_seconds": 0.03},
        },
    )
    assert status == 201, created
    campaign_id = created["id"]
    chance = random.Random(20261128)
    killed_at: list[int] = []

    for kill in range(KILLS):
        version = (await service.view(campaign_id))["version"]
        # A random moment: after a random number of further events, wherever the run is.
        target = version + chance.randint(1, 12)

        async def moved_on(target: int = target, service: Service = service) -> bool:
            view = await service.view(campaign_id)
            return bool(view["version"] >= target or view["status"] == "Completed")

        await eventually(moved_on, what=f"progress before kill {kill + 1}")
        service.child.kill()
        killed_at.append(target)
        await service.child.wait()
        service = await start_service(**settings)

    async def completed() -> bool:
        return bool((await service.view(campaign_id))["status"] == "Completed")

    await eventually(completed, within=90, what="completion after the kills")

    view = await service.view(campaign_id)
    # Every kill landed mid-campaign: 200 contacts take at least ~400 events.
    assert killed_at[-1] < view["version"], (killed_at, view["version"])
    ledger = await simulator.ledger()
    per_chat = Counter(entry["chat_id"] for entry in ledger)
    assert max(per_chat.values()) == 1, [c for c, n in per_chat.items() if n > 1]
    assert view["in_doubt"] <= KILLS
    assert view["sent"] + view["in_doubt"] == 200
    assert view["sent"] == len(ledger)
