"""The WAHA simulator: its WAHA answers, its controls, its faults, its ledger and its webhooks."""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from adapters.cli import build_parser
from adapters.cli.simulate_waha import config_from
from adapters.waha_simulator import (
    SIMULATOR_KEY,
    Endpoint,
    Fault,
    FaultKind,
    SimulatorConfig,
    StatusStep,
)
from tests.adapters.waha_simulator.support import (
    IMAGE,
    NOT_WORKING,
    PNG,
    TEXT,
    Client,
    Receiver,
    Simulate,
    verify,
)
from tests.fakes.system import InstantSleeper, ManualClock

# Sessions


async def test_session_list_leaves_out_stopped_sessions_unless_all(simulate: Simulate) -> None:
    client, sim = await simulate()
    sim.add_session("spare")

    listed = await (await client.get("/api/sessions")).json()
    everything = await (await client.get("/api/sessions?all=true")).json()

    assert [session["name"] for session in listed] == ["default"]
    assert [session["name"] for session in everything] == ["default", "spare"]


async def test_a_non_boolean_all_is_a_400(simulate: Simulate) -> None:
    client, _ = await simulate()

    answer = await client.get("/api/sessions?all=maybe")

    assert answer.status == 400
    assert await answer.json() == {
        "statusCode": 400,
        "message": ["all must be a boolean value"],
        "error": "Bad Request",
    }


async def test_a_working_session_shows_its_me_and_engine(simulate: Simulate) -> None:
    client, sim = await simulate()

    body = await (await client.get("/api/sessions/default")).json()

    assert body == {
        "name": "default",
        "status": "WORKING",
        "me": {"id": sim.me_id, "pushName": "WAHA Simulator"},
        "engine": {"engine": "NOWEB"},
    }


async def test_an_unknown_session_is_a_404_session_not_found(simulate: Simulate) -> None:
    client, _ = await simulate()

    answer = await client.get("/api/sessions/nope")

    assert answer.status == 404
    assert (await answer.json())["message"] == "Session not found"


async def test_any_status_string_is_reported_as_is(simulate: Simulate) -> None:
    client, sim = await simulate()
    sim.set_status("default", "PASSKEY_REQUIRED")

    body = await (await client.get("/api/sessions/default")).json()

    assert body["status"] == "PASSKEY_REQUIRED"


async def test_a_started_session_turns_working_after_starting_seconds(simulate: Simulate) -> None:
    config = SimulatorConfig(sessions=(), starting_seconds=0.01)
    client, sim = await simulate(config)
    sim.add_session("default")

    started = await client.post("/api/sessions/default/start")
    status_right_after = sim.status("default")
    await sim.settle()

    assert started.status == 201
    assert (await started.json())["status"] == "STARTING"
    assert status_right_after == "STARTING"
    assert sim.status_history("default") == ["STOPPED", "STARTING", "WORKING"]


async def test_starting_a_running_session_is_a_422_already_started(simulate: Simulate) -> None:
    client, _ = await simulate()

    answer = await client.post("/api/sessions/default/start")

    assert answer.status == 422
    assert (await answer.json())["message"] == "Session 'default' is already started."


async def test_stopping_is_idempotent(simulate: Simulate) -> None:
    client, sim = await simulate()

    first = await client.post("/api/sessions/default/stop")
    second = await client.post("/api/sessions/default/stop")

    assert (first.status, second.status) == (201, 201)
    assert (await second.json())["engine"] == {}
    assert sim.status_history("default") == ["WORKING", "STOPPED"]


async def test_creating_a_session_that_exists_is_a_422(simulate: Simulate) -> None:
    client, _ = await simulate()

    answer = await client.post("/api/sessions", json={"name": "default"})

    assert answer.status == 422
    assert "already exists" in (await answer.json())["message"]


async def test_a_created_session_keeps_its_config(simulate: Simulate) -> None:
    client, sim = await simulate()
    config = {"metadata": {"tenant": "a"}}

    answer = await client.post("/api/sessions", json={"name": "b", "config": config})

    assert answer.status == 201
    assert (await answer.json())["config"] == config
    assert sim.status("b") == "STARTING"


# Sending


async def test_send_text_answers_201_in_the_noweb_shape(simulate: Simulate) -> None:
    client, sim = await simulate()

    answer = await client.post("/api/sendText", json=TEXT)
    body = await answer.json()

    assert answer.status == 201
    assert body["key"]["remoteJid"] == "5511999990000@s.whatsapp.net"
    assert body["key"]["fromMe"] is True
    assert body["key"]["id"].startswith("3EB0")
    assert body["message"] == {"extendedTextMessage": {"text": "hello"}}
    assert body["messageTimestamp"].isdigit()
    assert body["status"] == "PENDING"
    assert [entry.message_id for entry in sim.ledger()] == [body["key"]["id"]]


async def test_the_ledger_shows_who_got_what_and_how_many_times(simulate: Simulate) -> None:
    client, sim = await simulate()

    await client.post("/api/sendText", json=TEXT)
    await client.post("/api/sendText", json=TEXT)
    await client.post("/api/sendImage", json=IMAGE)
    ledger = sim.ledger()

    assert [(entry.chat_id, entry.kind) for entry in ledger] == [
        ("5511999990000@c.us", "text"),
        ("5511999990000@c.us", "text"),
        ("5511999990000@c.us", "image"),
    ]
    assert ledger[0].text == "hello"
    assert ledger[2].media_sha256 == hashlib.sha256(PNG).hexdigest()
    assert ledger[2].caption == "look"
    assert ledger[2].mimetype == "image/png"
    assert len({entry.message_id for entry in ledger}) == 3


async def test_send_image_answers_an_image_message(simulate: Simulate) -> None:
    client, _ = await simulate()

    answer = await client.post("/api/sendImage", json=IMAGE)
    image = (await answer.json())["message"]["imageMessage"]

    assert answer.status == 201
    assert image["caption"] == "look"
    assert image["mimetype"] == "image/png"
    assert image["fileLength"] == str(len(PNG))


async def test_send_image_without_data_or_url_is_a_422(simulate: Simulate) -> None:
    client, sim = await simulate()

    answer = await client.post("/api/sendImage", json={**IMAGE, "file": {"mimetype": "image/png"}})

    assert answer.status == 422
    assert (await answer.json())["message"] == 'Either "file.url" or "file.data" must be specified.'
    assert sim.ledger() == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"session": "default", "text": "hi"}, "chatId must be a string"),
        ({"session": "default", "chatId": "1@c.us"}, "text must be a string"),
        ({"session": "default", "chatId": "1@c.us", "text": 5}, "text must be a string"),
    ],
    ids=["no chatId", "no text", "text not a string"],
)
async def test_an_invalid_send_body_is_a_400(
    simulate: Simulate, body: dict[str, Any], message: str
) -> None:
    client, sim = await simulate()

    answer = await client.post("/api/sendText", json=body)

    assert answer.status == 400
    assert await answer.json() == {"statusCode": 400, "message": [message], "error": "Bad Request"}
    assert sim.ledger() == []


async def test_a_body_that_is_not_json_is_a_400(simulate: Simulate) -> None:
    client, _ = await simulate()

    answer = await client.post(
        "/api/sendText", data=b"{oops", headers={"Content-Type": "application/json"}
    )

    assert answer.status == 400


@pytest.mark.parametrize("session", ["stopped", "nope"])
async def test_sending_through_a_stopped_or_unknown_session_is_a_404(
    simulate: Simulate, session: str
) -> None:
    client, sim = await simulate()
    sim.add_session("stopped")

    answer = await client.post("/api/sendText", json={**TEXT, "session": session})

    assert answer.status == 404
    assert await answer.json() == {
        "statusCode": 404,
        "message": f"We didn't find a session with name '{session}'.\n"
        f"Please start it first by using POST /api/sessions/{session}/start request",
        "error": "Not Found",
    }


async def test_sending_while_not_working_is_a_422_after_the_wait(simulate: Simulate) -> None:
    client, sim = await simulate(SimulatorConfig(not_working_wait=0.05))
    sim.set_status("default", "STARTING")
    loop = asyncio.get_running_loop()

    began = loop.time()
    answer = await client.post("/api/sendText", json=TEXT)
    waited = loop.time() - began

    assert answer.status == 422
    assert await answer.json() == {
        "error": NOT_WORKING,
        "session": "default",
        "status": "STARTING",
        "expected": ["WORKING"],
    }
    assert waited >= 0.05
    assert sim.ledger() == []


async def test_a_session_that_turns_working_during_the_wait_sends(simulate: Simulate) -> None:
    client, sim = await simulate(SimulatorConfig(not_working_wait=30, ack_seconds=(0, 0)))
    sim.set_status("default", "SCAN_QR_CODE")
    sim.schedule_statuses("default", [StatusStep("WORKING", 0.02)])

    answer = await client.post("/api/sendText", json=TEXT)

    assert answer.status == 201
    assert len(sim.ledger()) == 1


async def test_core_mode_refuses_any_session_but_default(simulate: Simulate) -> None:
    client, sim = await simulate(SimulatorConfig(not_working_wait=0, only_default_session=True))
    sim.add_session("other", status="WORKING")

    answer = await client.post("/api/sendText", json={**TEXT, "session": "other"})

    assert answer.status == 422
    assert "support only 'default' session" in (await answer.json())["message"]


async def test_send_seen_and_typing_answer_201(simulate: Simulate) -> None:
    client, _ = await simulate()
    chat = {"session": "default", "chatId": "5511999990000@c.us"}

    statuses = [
        (await client.post(path, json=chat)).status
        for path in ("/api/sendSeen", "/api/startTyping", "/api/stopTyping")
    ]

    assert statuses == [201, 201, 201]


async def test_typing_in_a_session_that_is_not_working_is_a_422(simulate: Simulate) -> None:
    client, sim = await simulate()
    sim.set_status("default", "FAILED")

    answer = await client.post("/api/startTyping", json={"chatId": "1@c.us"})

    assert answer.status == 422
    assert (await answer.json())["status"] == "FAILED"


# API key


@pytest.mark.parametrize("headers", [{}, {"X-Api-Key": "wrong"}], ids=["missing", "wrong"])
async def test_a_missing_or_wrong_api_key_is_a_401(
    simulate: Simulate, headers: dict[str, str]
) -> None:
    client, sim = await simulate(SimulatorConfig(api_key="secret", not_working_wait=0))

    answer = await client.post("/api/sendText", json=TEXT, headers=headers)

    assert answer.status == 401
    assert await answer.json() == {"message": "Unauthorized", "statusCode": 401}
    assert sim.ledger() == []


async def test_the_api_key_is_accepted_as_header_or_query(simulate: Simulate) -> None:
    client, _ = await simulate(SimulatorConfig(api_key="secret"))

    by_header = await client.get("/api/sessions", headers={"X-Api-Key": "secret"})
    by_query = await client.get("/api/sessions?x-api-key=secret")

    assert (by_header.status, by_query.status) == (200, 200)


async def test_ping_and_the_controls_need_no_key(simulate: Simulate) -> None:
    client, _ = await simulate(SimulatorConfig(api_key="secret"))

    ping = await client.get("/ping")
    state = await client.get("/_simulator/state")

    assert (ping.status, state.status) == (200, 200)
    assert await ping.json() == {"message": "pong"}


async def test_an_unknown_route_is_nestjs_404(simulate: Simulate) -> None:
    client, _ = await simulate()

    answer = await client.get("/api/nothing-here")

    assert answer.status == 404
    assert await answer.json() == {
        "message": "Cannot GET /api/nothing-here",
        "error": "Not Found",
        "statusCode": 404,
    }


# Contacts


async def test_check_exists_gives_the_chat_id_of_a_number(simulate: Simulate) -> None:
    client, _ = await simulate()

    answer = await client.get("/api/contacts/check-exists", params={"phone": "+5511999990000"})

    assert await answer.json() == {"numberExists": True, "chatId": "5511999990000@c.us"}


async def test_a_number_marked_not_on_whatsapp_does_not_exist(simulate: Simulate) -> None:
    client, sim = await simulate()
    sim.mark_not_on_whatsapp("5511999990000")

    answer = await client.get(
        "/api/contacts/check-exists", params={"phone": "5511999990000", "session": "default"}
    )

    assert await answer.json() == {"numberExists": False}


async def test_check_exists_while_not_working_is_a_422(simulate: Simulate) -> None:
    client, sim = await simulate()
    sim.set_status("default", "STARTING")

    answer = await client.get("/api/contacts/check-exists", params={"phone": "1"})

    assert answer.status == 422
    assert (await answer.json())["expected"] == ["WORKING"]


# Messages


async def send_at(client: Client, clock: ManualClock, when: datetime, chat: str) -> str:
    clock.current = when
    answer = await client.post("/api/sendText", json={**TEXT, "chatId": chat, "text": str(when)})
    return str((await answer.json())["key"]["id"])


async def test_messages_are_listed_newest_first_with_a_limit(simulate: Simulate) -> None:
    clock = ManualClock()
    client, _ = await simulate(clock=clock, sleeper=InstantSleeper())
    chat = "5511999990000@c.us"
    ids = [
        await send_at(client, clock, datetime(2026, 11, 28, 9, minute, tzinfo=UTC), chat)
        for minute in range(3)
    ]
    await send_at(client, clock, datetime(2026, 11, 28, 9, 5, tzinfo=UTC), "5511888880000@c.us")

    listed = await (await client.get(f"/api/default/chats/{chat}/messages?limit=2")).json()

    assert [message["id"] for message in listed] == [
        f"true_{chat}_{ids[2]}",
        f"true_{chat}_{ids[1]}",
    ]


async def test_messages_can_be_filtered_by_timestamp_and_from_me(simulate: Simulate) -> None:
    clock = ManualClock()
    client, _ = await simulate(clock=clock, sleeper=InstantSleeper())
    chat = "5511999990000@c.us"
    early = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    late = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    await send_at(client, clock, early, chat)
    late_id = await send_at(client, clock, late, chat)
    path = f"/api/default/chats/{chat}/messages"
    since = {"limit": "10", "filter.timestamp.gte": str(int(late.timestamp()))}

    recent = await (await client.get(path, params={**since, "filter.fromMe": "true"})).json()
    others = await (await client.get(path, params={**since, "filter.fromMe": "false"})).json()

    assert [message["id"] for message in recent] == [f"true_{chat}_{late_id}"]
    assert others == []


async def test_a_listed_message_looks_like_a_wamessage(simulate: Simulate) -> None:
    clock = ManualClock()
    client, sim = await simulate(clock=clock)
    message_id = await send_at(client, clock, clock.current, "5511999990000@c.us")
    await sim.settle()

    listed = await (
        await client.get("/api/default/chats/5511999990000@c.us/messages?filter.ack=DEVICE")
    ).json()

    assert listed == [
        {
            "id": f"true_5511999990000@c.us_{message_id}",
            "timestamp": int(clock.current.timestamp()),
            "from": sim.me_id,
            "fromMe": True,
            "source": "api",
            "to": "5511999990000@c.us",
            "participant": None,
            "body": str(clock.current),
            "hasMedia": False,
            "media": None,
            "ack": 2,
            "ackName": "DEVICE",
            "replyTo": None,
        }
    ]


async def test_a_bad_message_filter_is_a_400(simulate: Simulate) -> None:
    client, _ = await simulate()

    answer = await client.get("/api/default/chats/1@c.us/messages?filter.timestamp.gte=soon")

    assert answer.status == 400


async def test_a_message_is_found_by_raw_or_full_id(simulate: Simulate) -> None:
    client, _ = await simulate()
    sent = await (await client.post("/api/sendText", json=TEXT)).json()
    raw = sent["key"]["id"]

    by_raw = await client.get(f"/api/default/chats/all/messages/{raw}")
    by_full = await client.get(
        f"/api/default/chats/{TEXT['chatId']}/messages/true_{TEXT['chatId']}_{raw}"
    )
    missing = await client.get("/api/default/chats/all/messages/3EB0NOPE")

    assert (by_raw.status, by_full.status, missing.status) == (200, 200, 404)
    assert (await by_raw.json())["id"] == f"true_{TEXT['chatId']}_{raw}"


async def test_messages_of_a_stopped_session_are_a_404(simulate: Simulate) -> None:
    client, sim = await simulate()
    sim.set_status("default", "STOPPED")

    answer = await client.get("/api/default/chats/1@c.us/messages")

    assert answer.status == 404


# Faults


async def test_latency_delays_the_answer_by_the_sleeper(simulate: Simulate) -> None:
    sleeper = InstantSleeper()
    client, sim = await simulate(sleeper=sleeper)
    sim.add_fault(Endpoint.SEND_TEXT, Fault(FaultKind.LATENCY, seconds=7.5))

    answer = await client.post("/api/sendText", json=TEXT)

    assert answer.status == 201
    assert 7.5 in sleeper.waits
    assert len(sim.ledger()) == 1


async def test_a_500_fault_answers_the_given_body(simulate: Simulate) -> None:
    client, sim = await simulate()
    sim.add_fault(Endpoint.SEND_TEXT, Fault(FaultKind.ERROR_500, body={"boom": True}))

    answer = await client.post("/api/sendText", json=TEXT)

    assert answer.status == 500
    assert await answer.json() == {"boom": True}
    assert sim.ledger() == []


async def test_a_500_fault_without_body_echoes_the_request_like_waha(simulate: Simulate) -> None:
    client, _ = await simulate()
    client.app[SIMULATOR_KEY].add_fault(Endpoint.SEND_IMAGE, Fault(FaultKind.ERROR_500))

    answer = await client.post("/api/sendImage", json=IMAGE)
    body = await answer.json()

    assert answer.status == 500
    assert sorted(body) == ["exception", "request", "statusCode", "timestamp", "version"]
    assert body["request"]["body"] == IMAGE
    assert body["request"]["path"] == "/api/sendImage"


async def test_error_463_is_the_reachout_timelock_500(simulate: Simulate) -> None:
    client, sim = await simulate()
    sim.add_fault(Endpoint.SEND_TEXT, Fault(FaultKind.ERROR_463))

    answer = await client.post("/api/sendText", json=TEXT)

    assert answer.status == 500
    assert (await answer.json())["exception"]["message"] == "2 UNKNOWN: server returned error 463"


async def test_rate_overlimit_is_a_500_with_data_429(simulate: Simulate) -> None:
    client, sim = await simulate()
    sim.add_fault(Endpoint.CHECK_EXISTS, Fault(FaultKind.RATE_OVERLIMIT))

    answer = await client.get("/api/contacts/check-exists", params={"phone": "1"})
    exception = (await answer.json())["exception"]

    assert answer.status == 500
    assert (exception["message"], exception["data"]) == ("rate-overlimit", 429)


async def test_a_hang_never_answers_and_sends_nothing(simulate: Simulate) -> None:
    client, sim = await simulate()
    sim.add_fault(Endpoint.SEND_TEXT, Fault(FaultKind.HANG))

    with pytest.raises(TimeoutError):
        await client.post("/api/sendText", json=TEXT, timeout=aiohttp.ClientTimeout(total=0.1))

    assert sim.ledger() == []
    assert sim.call_count(Endpoint.SEND_TEXT) == 1


async def test_a_drop_closes_the_connection_and_sends_nothing(simulate: Simulate) -> None:
    client, sim = await simulate()
    sim.add_fault(Endpoint.SEND_TEXT, Fault(FaultKind.DROP))

    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.post("/api/sendText", json=TEXT)

    assert sim.ledger() == []


async def test_accept_then_hang_sends_but_never_answers(simulate: Simulate) -> None:
    client, sim = await simulate()
    sim.add_fault(Endpoint.SEND_TEXT, Fault(FaultKind.ACCEPT_THEN_HANG))

    with pytest.raises(TimeoutError):
        await client.post("/api/sendText", json=TEXT, timeout=aiohttp.ClientTimeout(total=0.1))

    assert [entry.text for entry in sim.ledger()] == ["hello"]


async def test_accept_then_drop_sends_but_closes_the_connection(simulate: Simulate) -> None:
    client, sim = await simulate()
    sim.add_fault(Endpoint.SEND_IMAGE, Fault(FaultKind.ACCEPT_THEN_DROP))

    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.post("/api/sendImage", json=IMAGE)

    assert [entry.kind for entry in sim.ledger()] == ["image"]


async def test_a_fault_lasts_its_number_of_calls(simulate: Simulate) -> None:
    client, sim = await simulate()
    sim.add_fault(Endpoint.SEND_TEXT, Fault(FaultKind.ERROR_463, times=2))

    statuses = [(await client.post("/api/sendText", json=TEXT)).status for _ in range(3)]

    assert statuses == [500, 500, 201]


async def test_a_fault_without_times_lasts_until_cleared(simulate: Simulate) -> None:
    client, sim = await simulate()
    sim.add_fault(Endpoint.SESSION_STATUS, Fault(FaultKind.ERROR_500, times=None))

    before = [(await client.get("/api/sessions/default")).status for _ in range(3)]
    sim.clear_faults(Endpoint.SESSION_STATUS)
    after = await client.get("/api/sessions/default")

    assert before == [500, 500, 500]
    assert after.status == 200


async def test_faults_on_the_messages_endpoint(simulate: Simulate) -> None:
    client, sim = await simulate()
    sim.add_fault(Endpoint.MESSAGES, Fault(FaultKind.ERROR_500))

    answer = await client.get("/api/default/chats/1@c.us/messages")

    assert answer.status == 500


def test_a_fault_needs_at_least_one_time() -> None:
    with pytest.raises(ValueError, match="times"):
        Fault(FaultKind.HANG, times=0)


# Schedules


async def test_a_schedule_walks_the_session_through_its_steps(simulate: Simulate) -> None:
    _, sim = await simulate(sleeper=InstantSleeper())
    steps = [StatusStep("STARTING", 1), StatusStep("FAILED", 2), StatusStep("WORKING", 3)]

    sim.schedule_statuses("default", steps)
    await sim.settle()

    assert sim.status_history("default") == ["WORKING", "STARTING", "FAILED", "WORKING"]


async def test_a_repeating_schedule_flaps_until_the_status_is_set(
    simulate: Simulate, receiver: Receiver
) -> None:
    config = SimulatorConfig(webhook_url=receiver.url, not_working_wait=0)
    _, sim = await simulate(config)
    flapping = [StatusStep("STARTING", 0.001), StatusStep("WORKING", 0.001)]

    sim.schedule_statuses("default", flapping, repeat=True)
    seen = [(await receiver.next())[2]["payload"]["status"] for _ in range(4)]
    sim.set_status("default", "FAILED")
    await sim.settle()

    assert seen == ["STARTING", "WORKING", "STARTING", "WORKING"]
    assert sim.status("default") == "FAILED"


async def test_a_repeating_schedule_needs_some_seconds(simulate: Simulate) -> None:
    _, sim = await simulate()

    with pytest.raises(ValueError, match="seconds"):
        sim.schedule_statuses("default", [StatusStep("STARTING", 0)], repeat=True)


# Webhooks


async def test_message_acks_arrive_signed_server_then_device(
    simulate: Simulate, receiver: Receiver
) -> None:
    config = SimulatorConfig(webhook_url=receiver.url, webhook_hmac_key="hook-secret")
    client, _ = await simulate(config, sleeper=InstantSleeper())

    sent = await (await client.post("/api/sendText", json=TEXT)).json()
    first_headers, first_raw, first = await receiver.next()
    second_headers, second_raw, second = await receiver.next()

    assert verify(first_raw, first_headers, "hook-secret")
    assert verify(second_raw, second_headers, "hook-secret")
    assert first_headers["X-Webhook-Hmac-Algorithm"] == "sha512"
    assert [first["event"], second["event"]] == ["message.ack", "message.ack"]
    assert [first["payload"]["ackName"], second["payload"]["ackName"]] == ["SERVER", "DEVICE"]
    assert first["payload"]["id"] == f"true_{TEXT['chatId']}_{sent['key']['id']}"
    assert first["payload"]["fromMe"] is True


async def test_a_webhook_envelope_is_the_new_one(simulate: Simulate, receiver: Receiver) -> None:
    clock = ManualClock()
    _, sim = await simulate(SimulatorConfig(webhook_url=receiver.url), clock=clock)

    sim.set_status("default", "STARTING")
    headers, _, body = await receiver.next()

    assert re.fullmatch(r"evt_[0-9a-hjkmnp-tv-z]{26}", body["id"])
    assert body["timestamp"] == int(clock.current.timestamp() * 1000)
    assert body["event"] == "session.status"
    assert body["session"] == "default"
    assert body["engine"] == "NOWEB"
    assert body["me"] is None
    assert body["payload"]["name"] == "default"
    assert body["payload"]["status"] == "STARTING"
    assert [point["status"] for point in body["payload"]["statuses"]] == ["WORKING", "STARTING"]
    assert set(body["environment"]) >= {"version", "engine", "tier", "browser"}
    assert "X-Webhook-Hmac" not in headers
    assert headers["X-Webhook-Timestamp"] == str(body["timestamp"])


async def test_setting_the_same_status_sends_no_webhook(
    simulate: Simulate, receiver: Receiver
) -> None:
    _, sim = await simulate(SimulatorConfig(webhook_url=receiver.url))

    sim.set_status("default", "WORKING")
    await sim.settle()

    assert receiver.deliveries.empty()


async def test_a_number_not_on_whatsapp_stops_at_ack_server(simulate: Simulate) -> None:
    client, sim = await simulate(sleeper=InstantSleeper())
    sim.mark_not_on_whatsapp(TEXT["chatId"])

    answer = await client.post("/api/sendText", json=TEXT)
    await sim.settle()

    assert answer.status == 201  # WAHA #2083: no error, only no delivery
    assert [sim.ack_of(entry) for entry in sim.ledger()] == [1]


async def test_a_dead_webhook_receiver_does_not_stop_the_simulator(
    simulate: Simulate, unused_tcp_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    config = SimulatorConfig(webhook_url=f"http://127.0.0.1:{unused_tcp_port}/hook")
    client, sim = await simulate(config, sleeper=InstantSleeper())

    first = await client.post("/api/sendText", json=TEXT)
    await sim.settle()
    second = await client.post("/api/sendText", json=TEXT)

    assert (first.status, second.status) == (201, 201)
    assert "not delivered to" in caplog.text


async def test_an_undeliverable_webhook_is_one_warning_line_without_credentials(
    simulate: Simulate, unused_tcp_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://hook-user:hook-password@127.0.0.1:{unused_tcp_port}/hook?token=hook-token"
    _, sim = await simulate(SimulatorConfig(webhook_url=url), sleeper=InstantSleeper())

    sim.set_status("default", "STARTING")
    await sim.settle()

    [record] = [r for r in caplog.records if r.name == "adapters.waha_simulator.webhooks"]
    line = record.getMessage()
    assert record.levelname == "WARNING"
    assert record.exc_info is None
    assert "\n" not in line
    assert f"to http://127.0.0.1:{unused_tcp_port}/hook: " in line
    assert "session.status" in line
    assert "ClientConnectorError" in line  # the reason
    assert "hook-user" not in caplog.text
    assert "hook-password" not in caplog.text
    assert "hook-token" not in caplog.text


# The control HTTP API


async def test_control_sets_a_status_now(simulate: Simulate) -> None:
    client, sim = await simulate()

    answer = await client.put("/_simulator/sessions/default/status", json={"status": "STARTING"})

    assert await answer.json() == {"name": "default", "status": "STARTING"}
    assert sim.status("default") == "STARTING"


async def test_control_schedules_statuses(simulate: Simulate) -> None:
    client, sim = await simulate(sleeper=InstantSleeper())
    steps = [{"status": "STARTING", "after_seconds": 1}, {"status": "WORKING", "after_seconds": 2}]

    answer = await client.put("/_simulator/sessions/default/schedule", json={"steps": steps})
    await client.post("/_simulator/settle")

    assert answer.status == 200
    assert sim.status_history("default") == ["WORKING", "STARTING", "WORKING"]


async def test_control_removes_a_session(simulate: Simulate) -> None:
    client, _ = await simulate()

    await client.delete("/_simulator/sessions/default")
    answer = await client.get("/api/sessions/default")

    assert answer.status == 404


async def test_control_arms_and_clears_faults(simulate: Simulate) -> None:
    client, _ = await simulate()

    armed = await client.post(
        "/_simulator/faults", json={"endpoint": "sendText", "kind": "error_463", "times": None}
    )
    failing = await client.post("/api/sendText", json=TEXT)
    await client.delete("/_simulator/faults", params={"endpoint": "sendText"})
    working = await client.post("/api/sendText", json=TEXT)

    assert armed.status == 201
    assert (failing.status, working.status) == (500, 201)


@pytest.mark.parametrize(
    "fault",
    [
        {"endpoint": "sendFax", "kind": "hang"},
        {"endpoint": "sendText", "kind": "explode"},
        {"endpoint": "sendText", "kind": "hang", "times": 0},
        {"endpoint": "sendText", "kind": "latency", "seconds": True},
        {"kind": "hang"},
    ],
    ids=["unknown endpoint", "unknown kind", "zero times", "bool seconds", "no endpoint"],
)
async def test_control_refuses_a_bad_fault_with_400(
    simulate: Simulate, fault: dict[str, Any]
) -> None:
    client, sim = await simulate()

    answer = await client.post("/_simulator/faults", json=fault)

    assert answer.status == 400
    assert "error" in await answer.json()
    assert sim.faults() == {}


async def test_control_marks_numbers_not_on_whatsapp_and_back(simulate: Simulate) -> None:
    client, sim = await simulate()
    phones = {"phones": ["5511999990000"]}

    marked = await client.post("/_simulator/numbers/not-on-whatsapp", json=phones)
    denied = sim.chat_id_of("5511999990000")
    await client.delete("/_simulator/numbers/not-on-whatsapp", json=phones)

    assert (await marked.json())["not_on_whatsapp"] == ["5511999990000"]
    assert denied is None
    assert sim.chat_id_of("5511999990000") == "5511999990000@c.us"


async def test_control_reads_the_ledger(simulate: Simulate) -> None:
    client, sim = await simulate()
    await client.post("/api/sendText", json=TEXT)
    await client.post("/api/sendImage", json=IMAGE)
    await sim.settle()

    entries = (await (await client.get("/_simulator/ledger")).json())["entries"]

    assert [(entry["kind"], entry["text"], entry["caption"]) for entry in entries] == [
        ("text", "hello", None),
        ("image", None, "look"),
    ]
    assert entries[1]["media_sha256"] == hashlib.sha256(PNG).hexdigest()
    assert {entry["ack"] for entry in entries} == {2}
    assert all(entry["chat_id"] == TEXT["chatId"] for entry in entries)


async def test_control_points_webhooks_somewhere(simulate: Simulate, receiver: Receiver) -> None:
    client, sim = await simulate()

    answer = await client.put("/_simulator/webhook", json={"url": receiver.url, "hmac_key": "k"})
    sim.set_status("default", "FAILED")
    headers, raw, body = await receiver.next()

    assert await answer.json() == {"url": receiver.url, "signed": True}
    assert body["payload"]["status"] == "FAILED"
    assert verify(raw, headers, "k")


async def test_control_reset_returns_to_the_configured_start(simulate: Simulate) -> None:
    client, sim = await simulate()
    await client.post("/api/sendText", json=TEXT)
    sim.set_status("default", "FAILED")
    sim.add_fault(Endpoint.SEND_TEXT, Fault(FaultKind.HANG, times=None))
    sim.mark_not_on_whatsapp("1")
    sim.set_webhook("http://127.0.0.1:9/hook")

    state = await (await client.post("/_simulator/reset")).json()

    assert state == {
        "sessions": [{"name": "default", "status": "WORKING", "history": ["WORKING"]}],
        "webhook": {"url": None, "signed": False},
        "faults": {},
        "calls": {},
        "not_on_whatsapp": [],
        "message_ids": True,
    }
    assert sim.ledger() == []


async def test_reset_ends_a_hanging_request(simulate: Simulate) -> None:
    client, sim = await simulate()
    sim.add_fault(Endpoint.SEND_TEXT, Fault(FaultKind.HANG))
    hanging = asyncio.ensure_future(client.post("/api/sendText", json=TEXT))
    while sim.call_count(Endpoint.SEND_TEXT) == 0:
        await asyncio.sleep(0.001)

    sim.reset()

    with pytest.raises(aiohttp.ServerDisconnectedError):
        await hanging


# The command line


def test_the_command_line_builds_the_simulator_config() -> None:
    args = build_parser().parse_args(
        [
            "simulate-waha",
            "--sessions",
            "default,sales",
            "support",
            "--not-working-wait",
            "0.5",
            "--api-key",
            "api-secret-1",
            "--webhook-url",
            "http://127.0.0.1:8099/hook",
            "--webhook-hmac-key",
            "hmac-secret-2",
        ]
    )

    config = config_from(args)

    assert (args.host, args.port) == ("127.0.0.1", 3000)
    assert config.sessions == ("default", "sales", "support")
    assert config.not_working_wait == 0.5
    assert (config.api_key, config.webhook_hmac_key) == ("api-secret-1", "hmac-secret-2")
    assert config.webhook_url == "http://127.0.0.1:8099/hook"
    assert "secret" not in repr(config)
