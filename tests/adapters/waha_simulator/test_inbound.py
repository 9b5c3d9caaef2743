"""Inbound messages on demand: WAHA's `message` webhook, and the message kept in its chat."""

from __future__ import annotations

import re

import pytest

from adapters.waha_simulator import SimulatorConfig
from tests.adapters.waha_simulator.support import CHAT, TEXT, Receiver, Simulate, verify
from tests.fakes.system import ManualClock

ME = "10000000000@c.us"


async def test_an_inbound_message_is_wahas_message_webhook_signed(
    simulate: Simulate, receiver: Receiver
) -> None:
    clock = ManualClock()
    config = SimulatorConfig(webhook_url=receiver.url, webhook_hmac_key="hook-secret")
    client, _ = await simulate(config, clock=clock)

    answer = await client.post(
        "/_simulator/sessions/default/inbound", json={"from": "5511999990000", "body": "STOP"}
    )
    headers, raw, delivered = await receiver.next()

    assert answer.status == 201
    assert await answer.json() == delivered
    assert verify(raw, headers, "hook-secret")
    assert re.fullmatch(r"evt_[0-9a-hjkmnp-tv-z]{26}", delivered["id"])
    assert delivered["timestamp"] == int(clock.now().timestamp() * 1000)
    assert (delivered["event"], delivered["session"], delivered["engine"]) == (
        "message",
        "default",
        "NOWEB",
    )
    assert delivered["me"]["id"] == ME
    assert set(delivered["environment"]) >= {"version", "engine", "tier", "browser"}


async def test_the_message_payload_is_a_wamessage_from_the_sender(simulate: Simulate) -> None:
    clock = ManualClock()
    client, _ = await simulate(clock=clock)

    answer = await client.post(
        "/_simulator/sessions/default/inbound", json={"from": "+55 11 99999-0000", "body": "STOP"}
    )
    payload = (await answer.json())["payload"]

    assert re.fullmatch(rf"false_{CHAT}_[0-9A-F]{{32}}", payload["id"])
    assert payload["timestamp"] == int(clock.now().timestamp())  # seconds, not milliseconds
    assert (payload["from"], payload["to"], payload["fromMe"]) == (CHAT, ME, False)
    assert (payload["body"], payload["hasMedia"]) == ("STOP", False)
    assert payload["_data"]["key"]["fromMe"] is False


async def test_a_sender_may_be_given_as_a_chat_id(simulate: Simulate) -> None:
    client, _ = await simulate()

    answer = await client.post(
        "/_simulator/sessions/default/inbound", json={"from": CHAT, "body": "hi"}
    )

    assert (await answer.json())["payload"]["from"] == CHAT


async def test_an_inbound_message_is_listed_in_its_chat_as_not_ours(simulate: Simulate) -> None:
    client, _ = await simulate()
    await client.post("/api/sendText", json=TEXT)
    await client.post("/_simulator/sessions/default/inbound", json={"from": CHAT, "body": "STOP"})
    messages = f"/api/default/chats/{CHAT}/messages"

    everything = await (await client.get(messages)).json()
    ours = await (await client.get(messages, params={"filter.fromMe": "true"})).json()
    theirs = await (await client.get(messages, params={"filter.fromMe": "false"})).json()

    assert sorted(m["body"] for m in everything) == ["STOP", "hello"]
    assert [m["body"] for m in ours] == ["hello"]
    assert [(m["body"], m["fromMe"], m["from"]) for m in theirs] == [("STOP", False, CHAT)]


async def test_an_inbound_message_is_found_by_its_id(simulate: Simulate) -> None:
    client, _ = await simulate()
    sent = await client.post(
        "/_simulator/sessions/default/inbound", json={"from": CHAT, "body": "STOP"}
    )
    full_id = (await sent.json())["payload"]["id"]

    answer = await client.get(f"/api/default/chats/all/messages/{full_id}")

    assert answer.status == 200
    assert (await answer.json())["body"] == "STOP"


async def test_without_a_webhook_the_envelope_is_still_answered(simulate: Simulate) -> None:
    client, sim = await simulate()

    answer = await client.post(
        "/_simulator/sessions/default/inbound", json={"from": CHAT, "body": "STOP"}
    )

    assert answer.status == 201
    assert (await answer.json())["event"] == "message"
    assert sim.ledger() == []  # theirs, not ours


@pytest.mark.parametrize(
    ("session", "body"),
    [
        ("default", {"from": "not a number", "body": "x"}),
        ("default", {"from": CHAT}),
        ("default", {"from": CHAT, "body": 7}),
        ("nobody", {"from": CHAT, "body": "x"}),
    ],
    ids=["bad sender", "no body", "body not text", "unknown session"],
)
async def test_the_control_refuses_an_inbound_message_it_cannot_deliver(
    simulate: Simulate, session: str, body: dict[str, object]
) -> None:
    client, _ = await simulate()

    answer = await client.post(f"/_simulator/sessions/{session}/inbound", json=body)

    assert answer.status == 400
    assert "error" in await answer.json()


async def test_a_session_that_is_not_working_receives_nothing(simulate: Simulate) -> None:
    client, sim = await simulate()
    sim.set_status("default", "STARTING")

    answer = await client.post(
        "/_simulator/sessions/default/inbound", json={"from": CHAT, "body": "STOP"}
    )

    assert answer.status == 400
    assert "not WORKING" in (await answer.json())["error"]
