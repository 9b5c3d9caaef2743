"""Pause, resume and cancel through the supervisor; 409 names the state or asks for a retry."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, cast
from uuid import UUID

from pytest_aiohttp import AiohttpClient

from adapters.bootstrap import Services, http_app
from app.ports import SendReceipt, WahaGateway
from app.supervisor import SupervisorSettings
from domain.contacts import ChatId
from domain.session import SessionName
from tests import histories
from tests.adapters.http_api.conftest import AUTH, Client, assert_problem, create, finish_runs
from tests.builders import a_campaign
from tests.fakes.gateway import FakeWahaGateway
from tests.fakes.system import ManualClock


def running_campaign(services: Services, clock: ManualClock) -> UUID:
    """A campaign Running in the store with no run in this process (as after a crash)."""
    later = clock.now() + timedelta(minutes=1)
    view = services.campaigns.schedule_campaign(a_campaign(2, scheduled_for=later)).view
    clock.advance(120)
    services.campaigns.start_campaign(view.id)
    return view.id


async def conflict(client: Client, path: str) -> dict[str, Any]:
    response = await client.post(path)
    assert response.status == 409, await response.text()
    problem: dict[str, Any] = await response.json()
    assert_problem(problem, 409)
    return problem


async def test_pause_then_resume_a_running_campaign(
    client: Client, services: Services, clock: ManualClock, gateway: FakeWahaGateway
) -> None:
    campaign_id = running_campaign(services, clock)

    paused = await client.post(f"/campaigns/{campaign_id}/pause")
    paused_view = await paused.json()
    resumed = await client.post(f"/campaigns/{campaign_id}/resume")
    resumed_view = await resumed.json()
    await finish_runs(client)

    assert paused.status == 200
    assert paused_view["status"] == "Paused"
    assert paused_view["pause"]["reason"] == "manual"
    assert resumed.status == 200
    assert resumed_view["status"] == "Running"
    assert services.campaigns.campaign(campaign_id).status == "Completed"
    assert len(gateway.sent) == 2


async def test_a_session_that_is_down_pauses_the_run(
    client: Client, gateway: FakeWahaGateway
) -> None:
    gateway.status = "STOPPED"
    created = await create(client)
    await finish_runs(client)

    shown = await (await client.get(f"/campaigns/{created['id']}")).json()

    assert shown["status"] == "Paused"
    assert shown["pause"]["reason"] == "session_not_working"
    assert shown["next_index"] == 0


async def test_a_pause_says_whether_it_lifts_by_itself(
    client: Client, services: Services, clock: ManualClock, gateway: FakeWahaGateway
) -> None:
    manual_id = running_campaign(services, clock)
    await client.post(f"/campaigns/{manual_id}/pause")
    gateway.status = "STOPPED"
    waits = await create(client, session="one")
    stays = await create(client, session="two", options={"auto_resume": False})
    await finish_runs(client)

    views = [
        await (await client.get(f"/campaigns/{campaign_id}")).json()
        for campaign_id in (waits["id"], stays["id"], manual_id)
    ]

    assert [v["pause"]["reason"] for v in views] == [
        "session_not_working",
        "session_not_working",
        "manual",
    ]
    assert [v["pause"]["resumes_by_itself"] for v in views] == [True, False, False]
    assert [v["pause"]["resume_at"] for v in views] == [None, None, None]


async def test_cancel_a_scheduled_campaign_with_a_reason(
    client: Client, clock: ManualClock
) -> None:
    later = (clock.now() + timedelta(days=1)).isoformat()
    created = await create(client, scheduled_for=later)

    response = await client.post(
        f"/campaigns/{created['id']}/cancel", json={"reason": "wrong audience"}
    )

    assert response.status == 200
    view = await response.json()
    assert view["status"] == "Cancelled"
    assert view["cancelled"]["reason"] == "wrong audience"


async def test_cancel_without_a_body(client: Client, clock: ManualClock) -> None:
    later = (clock.now() + timedelta(days=1)).isoformat()
    created = await create(client, scheduled_for=later)

    response = await client.post(f"/campaigns/{created['id']}/cancel")

    assert response.status == 200
    assert (await response.json())["status"] == "Cancelled"


async def test_pausing_a_completed_campaign_names_its_state(client: Client) -> None:
    created = await create(client)
    await finish_runs(client)

    problem = await conflict(client, f"/campaigns/{created['id']}/pause")

    assert problem["campaign_status"] == "Completed"
    assert "Completed" in problem["detail"]


async def test_resuming_a_scheduled_campaign_names_its_state(
    client: Client, clock: ManualClock
) -> None:
    later = (clock.now() + timedelta(days=1)).isoformat()
    created = await create(client, scheduled_for=later)

    problem = await conflict(client, f"/campaigns/{created['id']}/resume")

    assert problem["campaign_status"] == "Scheduled"


async def test_cancelling_twice_names_the_state(client: Client, clock: ManualClock) -> None:
    later = (clock.now() + timedelta(days=1)).isoformat()
    created = await create(client, scheduled_for=later)
    await client.post(f"/campaigns/{created['id']}/cancel")

    problem = await conflict(client, f"/campaigns/{created['id']}/cancel")

    assert problem["campaign_status"] == "Cancelled"


async def test_a_cancel_of_a_campaign_left_mid_send_settles_the_send_then_cancels(
    client: Client, services: Services, clock: ManualClock, gateway: FakeWahaGateway
) -> None:
    campaign_id = running_campaign(services, clock)
    # A process died between this intent and its send: nothing reached WAHA.
    histories.begin_attempt(
        services.campaigns, campaign_id, index=0, attempt_id="a-1", chat_id="4915110000000@c.us"
    )

    response = await client.post(f"/campaigns/{campaign_id}/cancel")

    view = await response.json()
    assert (response.status, view["status"]) == (200, "Cancelled")
    # The lane that obeyed settled the send first (not found: in doubt), and sent nothing.
    assert (view["in_doubt"], view["in_flight"], view["cancelled"]["index"]) == (1, None, 1)
    assert gateway.sent == []


async def test_commands_on_an_unknown_campaign_are_not_found(client: Client) -> None:
    for command in ("pause", "resume", "cancel"):
        response = await client.post(f"/campaigns/{UUID(int=7)}/{command}")
        assert response.status == 404, command


async def test_cancel_refuses_an_unknown_body_field(client: Client, clock: ManualClock) -> None:
    later = (clock.now() + timedelta(days=1)).isoformat()
    created = await create(client, scheduled_for=later)

    response = await client.post(f"/campaigns/{created['id']}/cancel", json={"why": "x"})

    assert response.status == 422


class HeldSends:
    """Wraps the fake WAHA so that a send waits until the test lets it through."""

    def __init__(self, inner: FakeWahaGateway) -> None:
        self.inner = inner
        self.release = asyncio.Event()
        self.waiting = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def send_text(
        self, session: SessionName, chat_id: ChatId, text: str, *, message_id: str | None = None
    ) -> SendReceipt:
        self.waiting.set()
        await self.release.wait()
        return await self.inner.send_text(session, chat_id, text, message_id=message_id)


async def test_a_pause_during_a_send_is_accepted_and_lands_at_the_boundary(
    services: Services, gateway: FakeWahaGateway, aiohttp_client: AiohttpClient
) -> None:
    held = HeldSends(gateway)
    # No wait for the run: the answer comes while the send is still in flight.
    app = http_app(
        services,
        gateway=cast("WahaGateway", held),
        supervisor_settings=SupervisorSettings(command_timeout_seconds=0),
        start_supervisor=False,
    )
    client = await aiohttp_client(app, headers=AUTH)
    created = await create(client, n=3)
    await held.waiting.wait()

    response = await client.post(f"/campaigns/{created['id']}/pause")
    held.release.set()
    await finish_runs(client)

    assert response.status == 202
    assert (await response.json())["status"] == "Running"
    view = services.campaigns.campaign(UUID(created["id"]))
    assert view.status == "Paused"
    assert view.next_index == 1
    assert len(gateway.sent) == 1
