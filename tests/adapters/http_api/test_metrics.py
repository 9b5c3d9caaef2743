"""/metrics: campaigns by status, attempts by outcome, WAHA latency, on a registry per app."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.bootstrap import Services
from adapters.http_api.keys import CONTEXT
from app.views import CampaignView
from domain.campaign import Campaign
from tests.adapters.http_api.conftest import Client, create, finish_runs, signed
from tests.adapters.http_api.test_webhooks import ack
from tests.fakes.gateway import FakeWahaGateway
from tests.fakes.system import ManualClock


async def samples(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.content_type == "text/plain"
    found = {}
    for family in text_string_to_metric_families(await response.text()):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


async def test_campaigns_and_attempts_are_counted_from_the_store(
    client: Client, clock: ManualClock, gateway: FakeWahaGateway
) -> None:
    gateway.not_on_whatsapp.add("4915110000002")
    await create(client, n=3, options={"check_numbers": True})
    await create(client, name="later", scheduled_for=(clock.now() + timedelta(days=1)).isoformat())
    await finish_runs(client)

    found = await samples(client)

    assert found["waha_campaigns_campaigns", (("status", "Completed"),)] == 1
    assert found["waha_campaigns_campaigns", (("status", "Scheduled"),)] == 1
    assert found["waha_campaigns_campaigns", (("status", "Paused"),)] == 0
    assert found["waha_campaigns_attempts_total", (("outcome", "sent"),)] == 2
    assert found["waha_campaigns_attempts_total", (("outcome", "skipped"),)] == 1


async def test_waha_calls_are_timed_by_operation(client: Client) -> None:
    await create(client, n=2)
    await finish_runs(client)

    found = await samples(client)

    sends = (("operation", "send_text"), ("outcome", "ok"))
    assert found["waha_campaigns_waha_request_seconds_count", sends] == 2
    statuses = (("operation", "session_status"), ("outcome", "ok"))
    assert found["waha_campaigns_waha_request_seconds_count", statuses] >= 2


async def test_requests_are_counted_by_route_pattern(client: Client) -> None:
    await client.get("/campaigns/00000000-0000-4000-8000-000000000000")

    found = await samples(client)

    key = (("method", "GET"), ("route", "/campaigns/{campaign_id}"), ("status", "404"))
    assert found["waha_campaigns_http_requests_total", key] == 1


async def test_each_app_has_its_own_registry(client: Client) -> None:
    from prometheus_client import REGISTRY

    assert client.app is not None
    registry = client.app[CONTEXT].metrics.registry
    assert registry is not REGISTRY
    assert "waha_campaigns_campaigns" not in {m.name for m in REGISTRY.collect()}


async def test_a_scrape_replays_no_campaign(
    client: Client, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(3):
        await create(client, name=f"campaign {i}", n=2)
    await finish_runs(client)
    await samples(client)  # the supervisor's first look at the store
    replayed: list[UUID] = []
    campaigns = services.campaigns
    view_of, load = campaigns.campaign, campaigns.load

    def counted_view(campaign_id: UUID) -> CampaignView:
        replayed.append(campaign_id)
        return view_of(campaign_id)

    def counted_load(campaign_id: UUID, version: int | None = None) -> Campaign:
        replayed.append(campaign_id)
        return load(campaign_id, version)

    monkeypatch.setattr(campaigns, "campaign", counted_view)
    monkeypatch.setattr(campaigns, "load", counted_load)

    found = await samples(client)

    assert replayed == []
    assert found["waha_campaigns_campaigns", (("status", "Completed"),)] == 3
    assert found["waha_campaigns_attempts_total", (("outcome", "sent"),)] == 6


async def test_a_new_campaign_is_counted_at_the_next_scrape(client: Client) -> None:
    await create(client, n=2)
    await finish_runs(client)
    before = await samples(client)

    await create(client, n=1)
    await finish_runs(client)
    after = await samples(client)

    completed = ("waha_campaigns_campaigns", (("status", "Completed"),))
    sent = ("waha_campaigns_attempts_total", (("outcome", "sent"),))
    assert (before[completed], before[sent]) == (1, 2)
    assert (after[completed], after[sent]) == (2, 3)


async def test_acks_are_counted_by_state(client: Client, gateway: FakeWahaGateway) -> None:
    await create(client, n=2)
    await finish_runs(client)
    first, second = gateway.sent
    await samples(client)

    for sent, level, event_id in ((first, 3, "evt_a"), (second, 2, "evt_b")):
        raw, headers = signed(ack(sent.message_id, sent.chat_id, level, event_id=event_id))
        await client.post("/webhooks/waha", data=raw, headers=headers)
    found = await samples(client)

    assert found["waha_campaigns_deliveries_total", (("state", "delivered"),)] == 2
    assert found["waha_campaigns_deliveries_total", (("state", "read"),)] == 1
