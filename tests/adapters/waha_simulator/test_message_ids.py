"""Client-supplied message ids (WAHA 2026.4.3+), and the older WAHA that knows none of it."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from adapters.cli import build_parser
from adapters.cli.simulate_waha import config_from
from tests.adapters.waha_simulator.support import CHAT, IMAGE, QUICK, TEXT, Simulate
from tests.fakes.system import InstantSleeper

OLD_WAHA = replace(QUICK, message_ids=False)
OWN_ID = "3EB0C0FFEE0123456789AB"


async def test_a_new_message_id_looks_like_the_engines(simulate: Simulate) -> None:
    client, _ = await simulate()

    first = await client.get("/api/default/new-message-id")
    second = await client.get("/api/default/new-message-id")
    ids = [(await first.json())["id"], (await second.json())["id"]]

    assert (first.status, second.status) == (200, 200)
    assert all(re.fullmatch(r"3EB0[0-9A-F]{18}", raw) for raw in ids)
    assert ids[0] != ids[1]


async def test_a_new_message_id_needs_the_session_working(simulate: Simulate) -> None:
    client, sim = await simulate()
    sim.set_status("default", "STARTING")

    starting = await client.get("/api/default/new-message-id")
    unknown = await client.get("/api/nobody/new-message-id")

    assert (starting.status, (await starting.json())["status"]) == (422, "STARTING")
    assert unknown.status == 404


async def test_send_text_takes_the_clients_id_as_the_messages(simulate: Simulate) -> None:
    client, sim = await simulate()

    answer = await client.post("/api/sendText", json={**TEXT, "id": OWN_ID})

    assert answer.status == 201
    assert (await answer.json())["key"]["id"] == OWN_ID
    assert [entry.message_id for entry in sim.ledger()] == [OWN_ID]


async def test_an_id_that_is_not_a_string_is_a_400(simulate: Simulate) -> None:
    client, sim = await simulate()

    answer = await client.post("/api/sendText", json={**TEXT, "id": 12})

    assert answer.status == 400
    assert (await answer.json())["message"] == ["id must be a string"]
    assert sim.ledger() == []


@pytest.mark.parametrize("chat", ["all", CHAT])
async def test_a_sent_message_is_found_by_its_id_with_its_ack(
    simulate: Simulate, chat: str
) -> None:
    client, sim = await simulate(sleeper=InstantSleeper())
    await client.post("/api/sendText", json={**TEXT, "id": OWN_ID})
    await sim.settle()

    answer = await client.get(f"/api/default/chats/{chat}/messages/{OWN_ID}")
    message = await answer.json()

    assert answer.status == 200
    assert message["id"] == f"true_{CHAT}_{OWN_ID}"
    assert (message["fromMe"], message["body"]) == (True, "hello")
    assert (message["ack"], message["ackName"]) == (2, "DEVICE")


async def test_an_unknown_message_id_is_a_404_message_not_found(simulate: Simulate) -> None:
    client, _ = await simulate()

    answer = await client.get(f"/api/default/chats/all/messages/{OWN_ID}")

    assert answer.status == 404
    assert await answer.json() == {
        "statusCode": 404,
        "message": "Message not found",
        "error": "Not Found",
    }


async def test_a_message_is_not_found_in_another_chat(simulate: Simulate) -> None:
    client, _ = await simulate()
    await client.post("/api/sendText", json={**TEXT, "id": OWN_ID})

    answer = await client.get(f"/api/default/chats/4915100000000@c.us/messages/{OWN_ID}")

    assert answer.status == 404


async def test_a_media_send_ignores_an_id_as_wahas_whitelist_does(simulate: Simulate) -> None:
    client, sim = await simulate()

    answer = await client.post("/api/sendImage", json={**IMAGE, "id": OWN_ID})
    raw_id = (await answer.json())["key"]["id"]

    assert answer.status == 201
    assert raw_id != OWN_ID
    assert [entry.message_id for entry in sim.ledger()] == [raw_id]


async def test_the_same_id_twice_is_two_messages_as_waha_does_not_dedupe(
    simulate: Simulate,
) -> None:
    client, sim = await simulate()

    for _ in range(2):
        await client.post("/api/sendText", json={**TEXT, "id": OWN_ID})

    assert [entry.message_id for entry in sim.ledger()] == [OWN_ID, OWN_ID]


# An older WAHA (before 2026.4.3), as recorded from 2024.10.8


async def test_an_older_waha_has_no_new_message_id_route(simulate: Simulate) -> None:
    client, _ = await simulate(OLD_WAHA)

    answer = await client.get("/api/default/new-message-id")

    assert answer.status == 404
    assert await answer.json() == {
        "statusCode": 404,
        "message": "Cannot GET /api/default/new-message-id",
        "error": "Not Found",
    }


@pytest.mark.parametrize("chat", ["all", CHAT])
async def test_an_older_waha_has_no_message_by_id_route(simulate: Simulate, chat: str) -> None:
    client, _ = await simulate(OLD_WAHA)
    await client.post("/api/sendText", json={**TEXT, "id": OWN_ID})

    answer = await client.get(f"/api/default/chats/{chat}/messages/{OWN_ID}")

    assert answer.status == 404
    assert (await answer.json())["message"] == (
        f"Cannot GET /api/default/chats/{chat}/messages/{OWN_ID}"
    )


async def test_an_older_waha_ignores_the_id_in_send_text(simulate: Simulate) -> None:
    client, sim = await simulate(OLD_WAHA)

    answer = await client.post("/api/sendText", json={**TEXT, "id": 12})
    raw_id = (await answer.json())["key"]["id"]

    assert answer.status == 201
    assert raw_id != 12
    assert [entry.message_id for entry in sim.ledger()] == [raw_id]


async def test_the_control_switches_message_ids_off_and_on(simulate: Simulate) -> None:
    client, _ = await simulate()

    off = await client.put("/_simulator/message-ids", json={"supported": False})
    while_off = await client.get("/api/default/new-message-id")
    state = await (await client.get("/_simulator/state")).json()
    await client.put("/_simulator/message-ids", json={"supported": True})
    while_on = await client.get("/api/default/new-message-id")

    assert await off.json() == {"supported": False}
    assert (while_off.status, state["message_ids"]) == (404, False)
    assert while_on.status == 200


async def test_a_reset_returns_to_the_configured_message_ids(simulate: Simulate) -> None:
    client, sim = await simulate()
    await client.put("/_simulator/message-ids", json={"supported": False})

    await client.post("/_simulator/reset")

    assert sim.message_ids is True


async def test_the_control_refuses_a_switch_that_is_not_a_boolean(simulate: Simulate) -> None:
    client, sim = await simulate()

    answer = await client.put("/_simulator/message-ids", json={"supported": "no"})

    assert answer.status == 400
    assert sim.message_ids is True


def test_the_command_line_can_start_an_older_waha() -> None:
    older = config_from(build_parser().parse_args(["simulate-waha", "--no-message-ids"]))
    newer = config_from(build_parser().parse_args(["simulate-waha"]))

    assert (older.message_ids, newer.message_ids) == (False, True)
