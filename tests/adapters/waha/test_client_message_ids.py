"""AiohttpWahaGateway's newer calls against aioresponses: ids, lookups by id, media kinds."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import aiohttp
import pytest
from aioresponses import aioresponses
from pydantic import SecretStr

from adapters.waha.client import LOGGER_NAME, AiohttpWahaGateway
from app.ports import (
    GatewayRejectedError,
    GatewayRequestFailedError,
    MediaKind,
    MediaPayload,
    MessageIdsUnsupportedError,
    SendOutcomeUnknownError,
    SentMessage,
)
from domain.contacts import ChatId
from domain.session import SessionName
from tests.adapters.waha.test_client import BASE, KEY, answer, fail, sample_answer, sent
from tests.fakes.system import ManualClock

SESSION = SessionName("default")
CHAT = ChatId("11111111111@c.us")
OUR_ID = "3EB0C0FFEE0123456789AB"
FIND_PATH = f"/api/default/chats/all/messages/{OUR_ID}"


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
    with aioresponses() as mocking:
        yield mocking


@pytest.fixture
async def gateway() -> AsyncIterator[AiohttpWahaGateway]:
    async with aiohttp.ClientSession() as http:
        yield AiohttpWahaGateway(http, base_url=BASE, api_key=SecretStr(KEY), clock=ManualClock())


async def test_a_new_message_id_is_asked_of_the_session(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    answer(mocked, "GET", "/api/default/new-message-id", 200, {"id": "BBBBBBBBBBBBBBBBB"})

    assert await gateway.new_message_id(SESSION) == "BBBBBBBBBBBBBBBBB"


async def test_an_older_waha_without_the_route_raises_unsupported(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    path = "/api/default/new-message-id"
    answer(mocked, "GET", path, *sample_answer("10c_new_message_id_unsupported.json"))

    with pytest.raises(MessageIdsUnsupportedError) as raised:
        await gateway.new_message_id(SESSION)

    assert raised.value.status == 404


async def test_a_text_goes_with_our_id(mocked: aioresponses, gateway: AiohttpWahaGateway) -> None:
    answer(mocked, "POST", "/api/sendText", 201, {"key": {"id": OUR_ID}})

    receipt = await gateway.send_text(SESSION, CHAT, "hi", message_id=OUR_ID)

    assert receipt.message_id == OUR_ID
    assert [k["json"]["id"] for _, _, k in sent(mocked)] == [OUR_ID]


async def test_a_message_is_found_by_its_raw_id(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    message = {
        "id": f"true_{CHAT}_{OUR_ID}",
        "timestamp": 1_795_889_470,
        "fromMe": True,
        "to": CHAT,
        "body": "hi",
        "ack": 3,
        "ackName": "READ",
    }
    answer(mocked, "GET", FIND_PATH, 200, message)

    found = await gateway.find_message(SESSION, OUR_ID)

    assert found == SentMessage(OUR_ID, CHAT, datetime.fromtimestamp(1_795_889_470, UTC), "hi")
    assert [str(u) for _, u, _ in sent(mocked)] == [BASE + FIND_PATH + "?downloadMedia=false"]


async def test_a_message_waha_does_not_hold_is_none_and_no_warning(
    mocked: aioresponses, gateway: AiohttpWahaGateway, caplog: pytest.LogCaptureFixture
) -> None:
    not_found = {"statusCode": 404, "message": "Message not found", "error": "Not Found"}
    answer(mocked, "GET", FIND_PATH, 404, not_found)

    assert await gateway.find_message(SESSION, OUR_ID) is None
    assert not [r for r in caplog.records if r.name == LOGGER_NAME and r.levelno >= logging.INFO]


async def test_finding_a_message_on_an_older_waha_raises_unsupported(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    answer(mocked, "GET", FIND_PATH, *sample_answer("10b_get_message_by_id_unsupported.json"))

    with pytest.raises(MessageIdsUnsupportedError):
        await gateway.find_message(SESSION, OUR_ID)


async def test_finding_a_message_in_an_unknown_session_is_a_rejection_not_none(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    answer(mocked, "GET", FIND_PATH, 404, {"statusCode": 404, "message": "Session not found"})

    with pytest.raises(GatewayRejectedError) as raised:
        await gateway.find_message(SESSION, OUR_ID)

    assert not isinstance(raised.value, MessageIdsUnsupportedError)


async def test_a_lost_lookup_answer_is_safe_to_repeat(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    fail(mocked, "GET", FIND_PATH, aiohttp.ServerDisconnectedError())

    with pytest.raises(GatewayRequestFailedError):
        await gateway.find_message(SESSION, OUR_ID)


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        (MediaKind.DOCUMENT, "/api/sendFile"),
        (MediaKind.VIDEO, "/api/sendVideo"),
        (MediaKind.VOICE, "/api/sendVoice"),
    ],
)
async def test_media_is_posted_to_its_kinds_endpoint_without_our_id(
    mocked: aioresponses, gateway: AiohttpWahaGateway, kind: MediaKind, path: str
) -> None:
    answer(mocked, "POST", path, 201, {"key": {"id": "3EB0WAHAS0WN"}})
    media = MediaPayload(b"x", "application/octet-stream", "a.bin", kind)

    receipt = await gateway.send_media(SESSION, CHAT, media, "", message_id=OUR_ID)

    assert receipt.message_id == "3EB0WAHAS0WN"
    [(method, url, call)] = sent(mocked)
    assert (method, str(url)) == ("POST", BASE + path)
    assert "id" not in call["json"]


async def test_a_lost_media_answer_is_an_unknown_outcome(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    fail(mocked, "POST", "/api/sendFile", aiohttp.ServerDisconnectedError())
    document = MediaPayload(b"x", "application/pdf", "a.pdf", MediaKind.DOCUMENT)

    with pytest.raises(SendOutcomeUnknownError):
        await gateway.send_media(SESSION, CHAT, document, "the offer")


async def test_a_voice_note_with_a_caption_sends_nothing(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    voice = MediaPayload(b"OggS", "audio/ogg", "a.ogg", MediaKind.VOICE)

    with pytest.raises(ValueError, match="caption"):
        await gateway.send_media(SESSION, CHAT, voice, "listen")

    assert sent(mocked) == []
