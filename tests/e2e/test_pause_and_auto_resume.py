"""The real service against the simulator: created, paused by its session, resumed by itself."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.e2e.conftest import ServiceFactory, Simulator, contacts, eventually

pytestmark = pytest.mark.e2e


async def test_a_campaign_pauses_when_its_session_drops_and_resumes_by_itself(
    start_service: ServiceFactory, simulator: Simulator
) -> None:
    service = await start_service()
    status, created = await service.call(
        "POST",
        "/campaigns",
        json={
            "name": "e2e pause",
            "message": {"text": "Hi {name}"},
            "contacts": contacts(20),
            "pacing": {"min_seconds": 0.05, "max_seconds": 0.1},
        },
    )
    assert status == 201, created
    campaign_id = created["id"]

    async def some_sent() -> bool:
        return bool((await service.view(campaign_id))["sent"] >= 5)

    await eventually(some_sent, what="five sends")
    await simulator.control("PUT", "/sessions/default/status", {"status": "STARTING"})

    async def paused() -> bool:
        return bool((await service.view(campaign_id))["status"] == "Paused")

    await eventually(paused, what="the pause")
    view = await service.view(campaign_id)
    assert view["pause"]["reason"] == "session_not_working"
    # From the status check before a contact, or (when the session dropped between that check
    # and the send) from WAHA's 422 naming the status: either way it says STARTING.
    assert "STARTING" in view["pause"]["detail"]
    paused_at = view["next_index"]
    assert 5 <= paused_at < 20

    await simulator.control("PUT", "/sessions/default/status", {"status": "WORKING"})

    async def completed() -> bool:
        return bool((await service.view(campaign_id))["status"] == "Completed")

    await eventually(completed, what="completion after the automatic resume")

    ledger = await simulator.ledger()
    assert sorted(Counter(e["chat_id"] for e in ledger).values()) == [1] * 20
    assert [e["text"] for e in ledger][:2] == ["Hi Person 0", "Hi Person 1"]
    status, events = await service.call("GET", f"/campaigns/{campaign_id}/events?limit=1000")
    assert status == 200
    items = events["items"] if isinstance(events, dict) else events
    resumed = [e for e in items if e["type"] == "CampaignResumed"]
    assert [(e["data"]["index"], e["data"]["automatic"]) for e in resumed] == [(paused_at, True)]
