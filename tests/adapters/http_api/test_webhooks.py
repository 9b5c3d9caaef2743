"""POST /webhooks/waha: signatures, repeats, acks as delivery states, statuses that resume."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from pytest_aiohttp import AiohttpClient

from adapters.bootstrap import Services, build, http_app
from tests.adapters.http_api.conftest import (
    Client,
    assert_problem,
    create,
    finish_runs,
    make_settings,
    signed,
)
from tests.fakes.gateway import FakeWahaGateway
from tests.fakes.system import InstantSleeper, ManualClock, SeededRandom

WEBHOOK = "/webhooks/waha"
# The fixtures' ManualClock starts here: a webhook stamped then is fresh.
START = ManualClock().now()


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def ack(
    message_id: str,
    chat_id: str,
    level: int,
    *,
    event_id: str = "evt_1",
    at: datetime = START,
) -> dict[str, Any]:
    return {
        "id": event_id,
        "timestamp": epoch_ms(at),
        "event": "message.ack",
        "session": "default",
        "payload": {
            "id": f"true_{chat_id}_{message_id}",
            "from": chat_id,
            "to": chat_id,
            "fromMe": True,
            "ack": level,
        },
    }


def session_status(status: str, *, event_id: str = "evt_s", at: datetime = START) -> dict[str, Any]:
    return {
        "id": event_id,
        "timestamp": epoch_ms(at),
        "event": "session.status",
        "session": "default",
        "payload": {"name": "default", "status": status},
    }


async def post_webhook(client: Client, body: dict[str, Any]) -> ClientResponse:
    raw, headers = signed(body)
    # The webhook is public: no bearer token, so that WAHA needs none.
    return await client.post(WEBHOOK, data=raw, headers=headers | {"Authorization": ""})


async def sent_campaign(client: Client, gateway: FakeWahaGateway) -> dict[str, Any]:
    created = await create(client, n=1)
    await finish_runs(client)
    return created


async def test_an_ack_becomes_the_contacts_delivery_state(
    client: Client, gateway: FakeWahaGateway
) -> None:
    created = await sent_campaign(client, gateway)
    sent = gateway.sent[0]

    response = await post_webhook(client, ack(sent.message_id, sent.chat_id, 3))

    assert response.status == 200
    assert await response.json() == {"status": "recorded"}
    view = await (await client.get(f"/campaigns/{created['id']}")).json()
    assert (view["delivered"], view["read"]) == (1, 1)
    contacts = await (await client.get(f"/campaigns/{created['id']}/contacts")).json()
    assert contacts["items"][0]["delivery"] == "read"


async def test_a_repeated_webhook_is_ignored(client: Client, gateway: FakeWahaGateway) -> None:
    created = await sent_campaign(client, gateway)
    sent = gateway.sent[0]

    first = await post_webhook(client, ack(sent.message_id, sent.chat_id, 2, event_id="evt_9"))
    # Same envelope id: a redelivery; its content must not count, even if it differs.
    second = await post_webhook(client, ack(sent.message_id, sent.chat_id, 3, event_id="evt_9"))

    assert await first.json() == {"status": "recorded"}
    assert second.status == 200
    assert await second.json() == {"status": "duplicate"}
    view = await (await client.get(f"/campaigns/{created['id']}")).json()
    assert (view["delivered"], view["read"]) == (1, 0)
    events = await (await client.get("/events", params={"limit": "1000"})).json()
    assert [e["type"] for e in events["items"]].count("DeliveryReported") == 1


async def test_an_ack_for_a_message_not_ours_is_ignored(client: Client) -> None:
    response = await post_webhook(client, ack("3EBFFFFFFFFF", "4915199999999@c.us", 3))

    assert await response.json() == {"status": "ignored"}


async def test_a_working_session_resumes_its_paused_campaign(
    client: Client, gateway: FakeWahaGateway
) -> None:
    gateway.status = "STOPPED"
    created = await create(client)
    await finish_runs(client)
    gateway.status = "WORKING"

    response = await post_webhook(client, session_status("WORKING"))
    await finish_runs(client)

    assert await response.json() == {"status": "recorded"}
    view = await (await client.get(f"/campaigns/{created['id']}")).json()
    assert view["status"] == "Completed"
    assert len(gateway.sent) == 2


async def test_other_events_are_ignored(client: Client) -> None:
    body = {"id": "evt_p", "event": "presence.update", "session": "default", "payload": {}}

    response = await post_webhook(client, body)

    assert await response.json() == {"status": "ignored"}


async def test_a_bad_signature_is_refused(client: Client, gateway: FakeWahaGateway) -> None:
    created = await sent_campaign(client, gateway)
    sent = gateway.sent[0]
    raw, headers = signed(ack(sent.message_id, sent.chat_id, 3))

    response = await client.post(WEBHOOK, data=raw, headers=headers | {"X-Webhook-Hmac": "ab" * 64})

    assert response.status == 401
    assert_problem(await response.json(), 401)
    view = await (await client.get(f"/campaigns/{created['id']}")).json()
    assert view["read"] == 0


async def test_a_missing_signature_is_refused(client: Client) -> None:
    raw, _ = signed(session_status("WORKING"))

    response = await client.post(WEBHOOK, data=raw, headers={"Content-Type": "application/json"})

    assert response.status == 401


async def test_a_body_changed_after_signing_is_refused(client: Client) -> None:
    raw, headers = signed(session_status("WORKING"))

    response = await client.post(WEBHOOK, data=raw.replace(b"WORKING", b"FAILED"), headers=headers)

    assert response.status == 401


async def test_a_malformed_webhook_is_a_bad_request(client: Client) -> None:
    response = await post_webhook(client, {"event": "message.ack", "session": "default"})

    assert response.status == 400
    assert_problem(await response.json(), 400)


@pytest.fixture
def unsigned_services(
    tmp_path: Path, clock: ManualClock, sleeper: InstantSleeper, rng: SeededRandom
) -> Iterator[Services]:
    settings = make_settings(tmp_path, waha_webhook_hmac_key=None)
    services = build(settings, clock=clock, sleeper=sleeper, rng=rng)
    yield services
    services.campaigns.close()


@pytest.fixture
async def unsigned_client(
    unsigned_services: Services, clock: ManualClock, aiohttp_client: AiohttpClient
) -> Client:
    app = http_app(unsigned_services, gateway=FakeWahaGateway(clock), start_supervisor=False)
    return await aiohttp_client(app)


async def test_without_a_key_webhooks_are_taken_unsigned(unsigned_client: Client) -> None:
    response = await unsigned_client.post(WEBHOOK, json=session_status("WORKING"))

    assert response.status == 200


@pytest.mark.parametrize(
    "age", [timedelta(hours=1, seconds=1), timedelta(days=3), -timedelta(minutes=5, seconds=1)]
)
async def test_a_stale_webhook_is_answered_but_not_acted_on(
    client: Client, gateway: FakeWahaGateway, clock: ManualClock, age: timedelta
) -> None:
    created = await sent_campaign(client, gateway)
    sent = gateway.sent[0]
    stamped = clock.now() - age

    response = await post_webhook(client, ack(sent.message_id, sent.chat_id, 3, at=stamped))

    assert response.status == 200
    assert await response.json() == {"status": "stale"}
    view = await (await client.get(f"/campaigns/{created['id']}")).json()
    assert (view["delivered"], view["read"]) == (0, 0)


async def test_a_stale_session_status_resumes_nothing(
    client: Client, gateway: FakeWahaGateway, clock: ManualClock
) -> None:
    gateway.status = "STOPPED"
    created = await create(client)
    await finish_runs(client)
    gateway.status = "WORKING"

    old = clock.now() - timedelta(hours=2)
    response = await post_webhook(client, session_status("WORKING", at=old))
    await finish_runs(client)

    assert await response.json() == {"status": "stale"}
    view = await (await client.get(f"/campaigns/{created['id']}")).json()
    assert view["status"] == "Paused"
    assert gateway.sent == []


async def test_a_webhook_within_the_hour_is_acted_on(
    client: Client, gateway: FakeWahaGateway, clock: ManualClock
) -> None:
    created = await sent_campaign(client, gateway)
    sent = gateway.sent[0]
    stamped = clock.now() - timedelta(minutes=59)

    response = await post_webhook(client, ack(sent.message_id, sent.chat_id, 3, at=stamped))

    assert await response.json() == {"status": "recorded"}
    view = await (await client.get(f"/campaigns/{created['id']}")).json()
    assert view["read"] == 1


async def test_an_unknown_event_name_is_counted_as_other_so_labels_stay_bounded(
    client: Client,
) -> None:
    for n, name in enumerate(("made.up.one", "made.up.two")):
        body = {"id": f"evt_u{n}", "event": name, "session": "default", "payload": {}}
        assert (await post_webhook(client, body)).status == 200

    metrics = await (await client.get("/metrics")).text()

    assert "made.up" not in metrics
    assert 'event="other"' in metrics
