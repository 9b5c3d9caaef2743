"""Signed notifications of pauses, completions and cancellations, to a receiver on loopback."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient, AiohttpServer

from adapters.bootstrap import Services, build, http_app
from app.notifications import NotificationSender
from domain.notification import Notification
from domain.session import SessionName
from tests.adapters.http_api.conftest import (
    AUTH,
    TEST_LANES,
    Client,
    create,
    finish_runs,
    make_settings,
    runtime_of,
)
from tests.fakes.gateway import FakeWahaGateway
from tests.fakes.system import ManualClock, ParkingSleeper, SeededRandom

NOTIFY_KEY = "notify-key-6e2d9b4f1a7c3e5d"


@dataclass
class Receiver:
    """A tiny webhook receiver: answers the scripted statuses (then 204), keeps what came."""

    statuses: deque[int] = field(default_factory=deque)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    hold: asyncio.Event | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append((dict(request.headers), body))
        self.arrived.set()
        if self.hold is not None:
            await self.hold.wait()
        return web.Response(status=self.statuses.popleft() if self.statuses else 204)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]


@pytest.fixture
async def receiver(aiohttp_server: AiohttpServer) -> Receiver:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hooks/campaigns", found.handle)
    server = await aiohttp_server(app)
    found.url = str(server.make_url("/hooks/campaigns"))
    return found


@pytest.fixture
def services(
    tmp_path: Path,
    receiver: Receiver,
    clock: ManualClock,
    sleeper: ParkingSleeper,
    rng: SeededRandom,
) -> Iterator[Services]:
    settings = make_settings(
        tmp_path, campaigns_notify_url=receiver.url, campaigns_notify_hmac_key=NOTIFY_KEY
    )
    built = build(settings, clock=clock, sleeper=sleeper, rng=rng)
    yield built
    built.campaigns.close()


def sender_of(client: Client) -> NotificationSender:
    sender = runtime_of(client).notifications
    assert sender is not None
    return sender


async def test_a_pause_is_told_once_signed_and_its_automatic_resume_is_not(
    client: Client,
    services: Services,
    receiver: Receiver,
    gateway: FakeWahaGateway,
) -> None:
    gateway.status = "STOPPED"
    created = await create(client)
    await finish_runs(client)
    sent_first = await sender_of(client).deliver_due()
    gateway.status = "WORKING"
    await runtime_of(client).supervisor.on_session_status(SessionName("default"), "WORKING")
    await finish_runs(client)
    await sender_of(client).deliver_due()

    headers, body = receiver.received[0]
    told = receiver.bodies()
    assert sent_first == 1
    assert [t["event"] for t in told] == ["campaign.paused", "campaign.completed"]
    assert headers["X-Campaigns-Signature"] == (
        "sha256=" + hmac.new(NOTIFY_KEY.encode(), body, hashlib.sha256).hexdigest()
    )
    assert headers["X-Campaigns-Notification-Id"] == told[0]["id"]
    assert headers["X-Campaigns-Event"] == "campaign.paused"
    assert told[0]["campaign"]["id"] == created["id"]
    assert told[0]["pause"]["reason"] == "session_not_working"
    assert told[0]["pause"]["contact"] == "contact 1 of 2 (index 0)"
    assert told[0]["pause"]["resumes_by_itself"] is True
    assert told[1]["campaign"]["sent"] == 2


async def test_a_cancellation_is_told(
    client: Client, receiver: Receiver, clock: ManualClock
) -> None:
    later = (clock.now() + timedelta(days=1)).isoformat()
    created = await create(client, scheduled_for=later)
    await client.post(f"/campaigns/{created['id']}/cancel", json={"reason": "wrong list"})

    await sender_of(client).deliver_due()

    assert [(t["event"], t["cancelled"]["reason"]) for t in receiver.bodies()] == [
        ("campaign.cancelled", "wrong list")
    ]


async def test_a_failed_delivery_is_tried_again_after_its_back_off_and_each_attempt_recorded(
    client: Client, services: Services, receiver: Receiver, clock: ManualClock
) -> None:
    receiver.statuses.extend([500, 503])
    await create(client)
    await finish_runs(client)
    sender = sender_of(client)

    await sender.deliver_due()
    await sender.deliver_due()  # nothing is due yet: the first wait is 10 s
    clock.advance(10)
    await sender.deliver_due()
    clock.advance(29)
    await sender.deliver_due()
    clock.advance(1)
    await sender.deliver_due()

    assert [h["X-Campaigns-Delivery-Attempt"] for h, _ in receiver.received] == ["1", "2", "3"]
    assert len({body for _, body in receiver.received}) == 1  # the same bytes every time
    notification_id = receiver.bodies()[0]["id"]
    events = list(services.campaigns.events.get(UUID(notification_id)))
    assert [type(e).__name__ for e in events] == [
        "NotificationDue",
        "DeliveryStarted",
        "DeliveryFailed",
        "DeliveryStarted",
        "DeliveryFailed",
        "DeliveryStarted",
        "DeliverySucceeded",
    ]
    failed = [e for e in events if isinstance(e, Notification.DeliveryFailed)]
    assert [(e.status, e.error) for e in failed] == [(500, "HTTP 500"), (503, "HTTP 503")]
    services.follower.catch_up()
    assert sender.pending.open_count() == 0


async def test_a_slow_receiver_holds_no_lane(
    client: Client, services: Services, receiver: Receiver
) -> None:
    receiver.hold = asyncio.Event()
    first = await create(client)
    await finish_runs(client)
    delivering = asyncio.create_task(sender_of(client).deliver_due())
    await receiver.arrived.wait()  # the delivery is under way, held by the receiver

    second = await create(client, name="Second")
    await finish_runs(client)
    second_status = services.campaigns.campaign(second["id"]).status
    receiver.hold.set()
    await delivering

    assert second_status == "Completed"
    assert receiver.bodies()[0]["campaign"]["id"] == first["id"]


@pytest.fixture
def sqlite_settings(tmp_path: Path, receiver: Receiver) -> dict[str, Any]:
    return {
        "campaigns_database_url": f"sqlite:///{tmp_path / 'campaigns.sqlite3'}",
        "campaigns_notify_url": receiver.url,
        "campaigns_notify_hmac_key": NOTIFY_KEY,
    }


@pytest.fixture
async def restartable(
    tmp_path: Path, sqlite_settings: dict[str, Any], aiohttp_client: AiohttpClient
) -> AsyncIterator[Any]:
    opened: list[Services] = []

    async def start(clock: ManualClock, **overrides: Any) -> Client:
        settings = make_settings(tmp_path, **(sqlite_settings | overrides))
        services = build(settings, clock=clock, sleeper=ParkingSleeper(clock, park_at=3600.0))
        opened.append(services)
        app = http_app(
            services,
            gateway=FakeWahaGateway(clock),
            lane_settings=TEST_LANES,
            start_supervisor=False,
        )
        return await aiohttp_client(app, headers=AUTH)

    yield start
    for services in opened:
        services.close()


async def test_a_restart_sends_what_was_not_delivered_and_never_what_was(
    restartable: Any, receiver: Receiver, clock: ManualClock
) -> None:
    nowhere = "http://127.0.0.1:9/hooks"  # nothing listens: the first service cannot deliver
    first = await restartable(clock, campaigns_notify_url=nowhere)
    await create(first)
    await finish_runs(first)
    await sender_of(first).deliver_due()
    await first.close()

    clock.advance(10)
    second = await restartable(clock)
    delivered = await sender_of(second).deliver_due()
    await second.close()
    clock.advance(3600)
    third = await restartable(clock)
    again = await sender_of(third).deliver_due()

    assert (delivered, again) == (1, 0)
    assert [t["event"] for t in receiver.bodies()] == ["campaign.completed"]
    assert receiver.received[0][0]["X-Campaigns-Delivery-Attempt"] == "2"


async def test_events_from_before_notifications_were_turned_on_are_not_told(
    restartable: Any, receiver: Receiver, clock: ManualClock
) -> None:
    quiet = await restartable(clock, campaigns_notify_url=None)
    await create(quiet)
    await finish_runs(quiet)
    await quiet.close()

    told = await restartable(clock)
    sent = await sender_of(told).deliver_due()

    assert sent == 0
    assert receiver.received == []
