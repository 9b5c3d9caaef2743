"""A campaign whose service is killed with SIGKILL again and again still messages everyone once.

With the default settings: the lane's lease (a lock on a file beside the SQLite store) dies
with its process, so each restarted service takes the lane up at once, settles the send that
was in flight, and goes on sending within seconds.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.e2e.conftest import Service, ServiceFactory, Simulator, contacts, eventually

pytestmark = pytest.mark.e2e
KILLS = 10
RESUMED_WITHIN_SECONDS = 10.0


async def every_event(service: Service) -> list[dict[str, Any]]:
    """Return the whole store's events, page by page."""
    events: list[dict[str, Any]] = []
    cursor = 0
    while True:
        status, page = await service.call(
            "GET", "/events", params={"limit": 1000, "cursor": cursor}
        )
        assert status == 200, page
        events.extend(page["items"])
        if page["next_cursor"] is None:
            return events
        cursor = page["next_cursor"]


async def last_version(service: Service, campaign_id: str, after: int) -> int:
    """Return the campaign's last recorded version, read from its events after `after`."""
    while True:
        status, page = await service.call(
            "GET", f"/campaigns/{campaign_id}/events", params={"cursor": after, "limit": 1000}
        )
        assert status == 200, page
        if page["items"]:
            after = page["items"][-1]["version"]
        if page["next_cursor"] is None:
            return after


async def test_a_campaign_killed_ten_times_resumes_each_time_and_messages_nobody_twice(
    start_service: ServiceFactory, simulator: Simulator
) -> None:
    service = await start_service()
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
    resumed_after: list[float] = []

    recorded = 0
    for kill in range(KILLS):
        recorded = await last_version(service, campaign_id, recorded)
        # A random moment: after a random number of further events, wherever the run is.
        # (Read from the events: a running campaign's view may show its progress a second late.)
        target = recorded + chance.randint(1, 12)

        async def moved_on(
            target: int = target, service: Service = service, since: int = recorded
        ) -> bool:
            if await last_version(service, campaign_id, since) >= target:
                return True
            return bool((await service.view(campaign_id))["status"] == "Completed")

        await eventually(moved_on, what=f"progress before kill {kill + 1}")
        service.child.kill()
        await service.child.wait()
        sent_before = len(await simulator.ledger())
        restarted_at = datetime.now(UTC)
        service = await start_service()

        async def sending_again(sent_before: int = sent_before, service: Service = service) -> bool:
            view = await service.view(campaign_id)
            return view["status"] == "Completed" or len(await simulator.ledger()) > sent_before

        await eventually(sending_again, within=RESUMED_WITHIN_SECONDS + 5, what="sending again")
        resumed_after.append((datetime.now(UTC) - restarted_at).total_seconds())

    async def completed() -> bool:
        return bool((await service.view(campaign_id))["status"] == "Completed")

    await eventually(completed, within=90, what="completion after the kills")

    view = await service.view(campaign_id)
    ledger = await simulator.ledger()
    per_chat = Counter(entry["chat_id"] for entry in ledger)
    assert max(per_chat.values()) == 1, [c for c, n in per_chat.items() if n > 1]
    assert view["sent"] + view["in_doubt"] == 200  # every contact accounted for
    assert view["sent"] == len(ledger)
    # Each restart took the lane up at once (a new process start included).
    assert max(resumed_after) <= RESUMED_WITHIN_SECONDS, resumed_after
    # Every takeover is on the lane's record, naming the holder before.
    takeovers = [e["data"] for e in await every_event(service) if e["type"] == "LaneTakenUp"]
    assert len(takeovers) >= KILLS + 1
    assert all(t["previous_owner"] for t in takeovers[1:])
