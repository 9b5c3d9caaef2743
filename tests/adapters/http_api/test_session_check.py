"""A campaign names a session WAHA has: an unknown one is refused at once, nothing recorded."""

from __future__ import annotations

from collections import deque

from adapters.bootstrap import Services
from app.ports import GatewayUnavailableError
from tests.adapters.http_api.conftest import NO_PACING_WARNINGS, Client, campaign_body
from tests.fakes.gateway import FakeWahaGateway


async def test_a_session_waha_does_not_have_is_refused_naming_session(
    client: Client, services: Services, gateway: FakeWahaGateway
) -> None:
    gateway.unknown_sessions.add("sales")

    response = await client.post(
        "/campaigns", json=campaign_body(session="sales", name="", pacing={"min_seconds": 5})
    )
    problem = await response.json()

    assert response.status == 422
    fields = [error["field"] for error in problem["errors"]]
    assert fields[0] == "session"
    assert "WAHA has no session named 'sales'" in problem["errors"][0]["reason"]
    assert "name" in fields  # the application's own problems come in the same answer
    assert services.campaigns.all_campaign_ids() == []
    assert gateway.sent == []


async def test_a_session_waha_cannot_be_asked_about_is_taken_with_a_warning(
    client: Client, gateway: FakeWahaGateway
) -> None:
    gateway.statuses = deque([GatewayUnavailableError("connection refused")])

    response = await client.post("/campaigns", json=campaign_body(session="sales"))
    created = await response.json()

    assert response.status == 201
    assert any(
        "WAHA could not be asked about session 'sales'" in warning
        for warning in created["warnings"]
    )


async def test_a_session_that_does_not_work_now_is_taken_with_a_warning(
    client: Client, gateway: FakeWahaGateway
) -> None:
    gateway.statuses = deque(["SCAN_QR_CODE"])

    response = await client.post("/campaigns", json=campaign_body())
    created = await response.json()

    assert response.status == 201
    assert any("is SCAN_QR_CODE now" in warning for warning in created["warnings"])


async def test_a_working_session_brings_no_warning(client: Client) -> None:
    response = await client.post("/campaigns", json=campaign_body())

    assert response.status == 201
    assert (await response.json())[
        "warnings"
    ] == NO_PACING_WARNINGS  # and nothing of the media or session
