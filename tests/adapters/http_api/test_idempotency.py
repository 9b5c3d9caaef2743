"""Idempotency-Key on POST /campaigns: one campaign per key, across restarts and processes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pytest_aiohttp import AiohttpClient

from adapters.bootstrap import Services, build, http_app
from tests.adapters.http_api.conftest import (
    AUTH,
    TEST_LANES,
    Client,
    assert_problem,
    campaign_body,
    make_settings,
)
from tests.adapters.http_api.test_uploads import campaign_form
from tests.fakes.gateway import FakeWahaGateway
from tests.fakes.system import InstantSleeper, ManualClock, SeededRandom

KEY = {"Idempotency-Key": "order-2026-11-28-0001"}


async def test_the_same_key_and_body_answer_the_same_campaign(
    client: Client, services: Services
) -> None:
    first = await client.post("/campaigns", json=campaign_body(), headers=KEY)
    again = await client.post("/campaigns", json=campaign_body(), headers=KEY)
    created, repeated = await first.json(), await again.json()

    assert (first.status, again.status) == (201, 200)
    assert repeated["id"] == created["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == f"/campaigns/{created['id']}"
    assert len(services.campaigns.all_campaign_ids()) == 1
    recorded = services.campaigns.load(created["id"]).idempotency
    assert recorded is not None
    assert recorded["key"] == KEY["Idempotency-Key"]


async def test_the_same_key_with_another_body_is_a_conflict_and_records_nothing(
    client: Client, services: Services
) -> None:
    first = await (await client.post("/campaigns", json=campaign_body(), headers=KEY)).json()

    response = await client.post("/campaigns", json=campaign_body(name="Other sale"), headers=KEY)
    problem = await response.json()

    assert response.status == 409
    assert_problem(problem, 409)
    assert problem["type"].endswith("idempotency-conflict")
    assert problem["campaign_id"] == first["id"]
    assert services.campaigns.all_campaign_ids() == [services.campaigns.load(first["id"]).id]


async def test_a_key_holds_for_a_contacts_file_too(client: Client) -> None:
    csv_text = "phone,name\n+4915112345678,Ana\n"
    first = await client.post("/campaigns", data=campaign_form(csv_text), headers=KEY)
    again = await client.post("/campaigns", data=campaign_form(csv_text), headers=KEY)
    other = await client.post(
        "/campaigns", data=campaign_form(csv_text + "+4915112345679,Ben\n"), headers=KEY
    )

    assert (first.status, again.status, other.status) == (201, 200, 409)
    assert (await again.json())["id"] == (await first.json())["id"]


async def test_concurrent_requests_with_one_key_make_one_campaign(
    client: Client, services: Services
) -> None:
    responses = await asyncio.gather(
        *(client.post("/campaigns", json=campaign_body(), headers=KEY) for _ in range(4))
    )

    statuses = sorted(r.status for r in responses)
    ids = {(await r.json())["id"] for r in responses}
    assert statuses == [200, 200, 200, 201]
    assert len(ids) == 1
    assert len(services.campaigns.all_campaign_ids()) == 1


async def test_a_bad_key_is_refused_naming_the_header(client: Client, services: Services) -> None:
    response = await client.post(
        "/campaigns", json=campaign_body(), headers={"Idempotency-Key": "x" * 256}
    )
    problem = await response.json()

    assert response.status == 422
    assert problem["errors"][0]["field"] == "Idempotency-Key"
    assert services.campaigns.all_campaign_ids() == []


async def test_a_key_holds_across_a_restart_of_the_service(
    tmp_path: Path, aiohttp_client: AiohttpClient
) -> None:
    settings = make_settings(
        tmp_path, campaigns_database_url=f"sqlite:///{tmp_path / 'campaigns.sqlite3'}"
    )
    later = "2027-01-01T09:00:00+00:00"  # nothing runs: only the record matters here
    answers = []
    for _ in range(2):
        clock = ManualClock()
        services = build(settings, clock=clock, sleeper=InstantSleeper(clock), rng=SeededRandom(0))
        try:
            app = http_app(
                services,
                gateway=FakeWahaGateway(clock),
                lane_settings=TEST_LANES,
                start_supervisor=False,
            )
            client = await aiohttp_client(app, headers=AUTH)
            response = await client.post(
                "/campaigns", json=campaign_body(scheduled_for=later), headers=KEY
            )
            answers.append((response.status, (await response.json())["id"]))
            await client.close()
        finally:
            services.close()

    assert [status for status, _ in answers] == [201, 200]
    assert answers[0][1] == answers[1][1]
