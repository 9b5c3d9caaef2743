"""/metrics: campaigns by status, attempts by outcome, WAHA latency, on a registry per app."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from adapters.http_api.keys import METRICS
from tests.adapters.http_api.conftest import Client, create, finish_runs
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
    registry = client.app[METRICS].registry
    assert registry is not REGISTRY
    assert "waha_campaigns_campaigns" not in {m.name for m in REGISTRY.collect()}
