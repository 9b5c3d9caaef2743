"""Finding an uncertain send again: WAHA stamps messages in whole seconds, intents are finer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from pytest_aiohttp import AiohttpServer

from adapters.waha import wire
from adapters.waha.client import AiohttpWahaGateway
from adapters.waha_simulator import SimulatorConfig, make_simulator_app
from domain.contacts import ChatId
from domain.session import SessionName
from tests.fakes.system import InstantSleeper, ManualClock

CHAT = ChatId("11111111111@c.us")
# 2026-11-28 18:10:00 UTC, and an intent recorded 0.7 s into that second.
SECOND = 1795889400
INTENT = datetime.fromtimestamp(SECOND, UTC) + timedelta(microseconds=700_000)


def listing(*stamps: int) -> bytes:
    return json.dumps(
        [
            {"id": f"true_{CHAT}_3EB0{stamp}", "timestamp": stamp, "fromMe": True, "body": "hi"}
            for stamp in stamps
        ]
    ).encode()


def test_the_listing_asks_from_two_seconds_before_the_intents_whole_second() -> None:
    request = wire.recent_own_messages_request("default", CHAT, INTENT)

    assert dict(request.query)["filter.timestamp.gte"] == str(SECOND - 2)


def test_a_message_stamped_in_the_intents_own_second_is_found() -> None:
    found = wire.parse_own_messages(CHAT, listing(SECOND), since=INTENT)

    assert [message.message_id for message in found] == [f"3EB0{SECOND}"]


def test_a_message_stamped_up_to_two_seconds_before_the_intents_second_is_found() -> None:
    found = wire.parse_own_messages(CHAT, listing(SECOND - 1, SECOND - 2), since=INTENT)

    assert [message.timestamp.timestamp() for message in found] == [SECOND - 1, SECOND - 2]


def test_a_message_stamped_three_seconds_before_the_intents_second_is_not_ours_to_claim() -> None:
    assert wire.parse_own_messages(CHAT, listing(SECOND - 3), since=INTENT) == []


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(INTENT)


@pytest.fixture
async def gateway(
    aiohttp_server: AiohttpServer, clock: ManualClock
) -> AsyncIterator[AiohttpWahaGateway]:
    config = SimulatorConfig(not_working_wait=0, starting_seconds=None, ack_seconds=(0, 0))
    server = await aiohttp_server(make_simulator_app(config, clock=clock, sleeper=InstantSleeper()))
    async with aiohttp.ClientSession() as http:
        yield AiohttpWahaGateway(http, base_url=str(server.make_url("")), api_key=None, clock=clock)


async def test_a_send_5_ms_after_its_intent_is_found_in_the_simulated_waha(
    gateway: AiohttpWahaGateway, clock: ManualClock
) -> None:
    intent_at = clock.now()
    clock.advance(0.005)
    receipt = await gateway.send_text(SessionName("default"), CHAT, "hello")

    found = await gateway.recent_own_messages(SessionName("default"), CHAT, intent_at)

    assert [(m.message_id, m.body) for m in found] == [(receipt.message_id, "hello")]
