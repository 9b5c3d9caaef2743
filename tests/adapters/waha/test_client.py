"""AiohttpWahaGateway against aioresponses: what it sends, and what each failure becomes."""

from __future__ import annotations

import json
import logging
import re
import socket
import traceback
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey
from aioresponses import aioresponses
from pydantic import SecretStr
from yarl import URL

from adapters.waha.client import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_TIMEOUT,
    DEFAULT_TOTAL_TIMEOUT_S,
    LOGGER_NAME,
    AiohttpWahaGateway,
)
from app.ports import (
    AccountRestrictedError,
    GatewayError,
    GatewayRejectedError,
    GatewayRequestFailedError,
    GatewayUnavailableError,
    ImagePayload,
    RateLimitedError,
    SendOutcomeUnknownError,
    SendReceipt,
    SentMessage,
    SessionStatusFact,
)
from domain.contacts import ChatId
from domain.session import SessionName
from tests.fakes.system import ManualClock

BASE = "http://waha.test:3000"
KEY = "waha-api-key-7f3a9c51e2"
SESSION = SessionName("default")
CHAT = ChatId("11111111111@c.us")
SAMPLES = Path(__file__).parents[2] / "samples" / "waha"


class _SentStreamWriter:
    output_size = 0


class Aiohttp314Response(aiohttp.ClientResponse):
    """A ClientResponse aioresponses 0.7.9 can build under aiohttp 3.14.

    aiohttp 3.14 added the required `stream_writer` argument that aioresponses does not pass
    (pnuckowski/aioresponses#289); drop this once a fixed aioresponses is released.
    """

    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", _SentStreamWriter())
        super().__init__(method, url, **kwargs)


def sample_answer(name: str) -> tuple[int, Any]:
    response = json.loads((SAMPLES / name).read_text(encoding="utf-8"))["response"]
    return response["status"], response["body"]


def route(path: str) -> re.Pattern[str]:
    """Match `path` with or without a query string."""
    return re.compile(re.escape(BASE + path) + r"(\?.*)?$")


def answer(mocked: aioresponses, method: str, path: str, status: int, payload: Any = None) -> None:
    body = "" if payload is None else json.dumps(payload)
    mocked.add(route(path), method, status=status, body=body, response_class=Aiohttp314Response)


def fail(mocked: aioresponses, method: str, path: str, exception: Exception) -> None:
    mocked.add(route(path), method, exception=exception)


def sent(mocked: aioresponses) -> list[tuple[str, URL, dict[str, Any]]]:
    return [
        (method, url, call.kwargs)
        for (method, url), calls in mocked.requests.items()
        for call in calls
    ]


def refused() -> aiohttp.ClientConnectorError:
    key = ConnectionKey("waha.test", 3000, False, True, None, None, None)
    return aiohttp.ClientConnectorError(key, OSError(111, "Connection refused"))


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
    with aioresponses() as mocking:
        yield mocking


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def gateway(http: aiohttp.ClientSession, clock: ManualClock) -> AiohttpWahaGateway:
    return AiohttpWahaGateway(http, base_url=BASE + "/", api_key=SecretStr(KEY), clock=clock)


# What it sends and reads --------------------------------------------------------------------


async def test_session_status_is_the_polled_status_at_the_clocks_time(
    mocked: aioresponses, gateway: AiohttpWahaGateway, clock: ManualClock
) -> None:
    answer(
        mocked, "GET", "/api/sessions/default", *sample_answer("07b_get_default_with_config.json")
    )

    fact = await gateway.session_status(SESSION)

    assert fact == SessionStatusFact("default", "STARTING", clock.now(), "poll", "")


async def test_session_status_keeps_a_status_it_does_not_know(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    answer(mocked, "GET", "/api/sessions/default", 200, {"name": "default", "status": "NAPPING"})

    assert (await gateway.session_status(SESSION)).status == "NAPPING"


async def test_send_text_posts_the_message_and_returns_the_raw_id(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    answer(mocked, "POST", "/api/sendText", *sample_answer("synthetic_sendText_201_noweb.json"))

    receipt = await gateway.send_text(SESSION, CHAT, "hi")

    assert receipt == SendReceipt("3EB0C0FFEE000001", CHAT)
    assert [(m, str(u), k["json"]) for m, u, k in sent(mocked)] == [
        ("POST", BASE + "/api/sendText", {"session": "default", "chatId": CHAT, "text": "hi"})
    ]


async def test_send_image_posts_the_bytes_as_base64(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    answer(mocked, "POST", "/api/sendImage", *sample_answer("synthetic_sendText_201_webjs.json"))

    receipt = await gateway.send_image(
        SESSION, CHAT, ImagePayload(b"\x89PNG", "image/png", "a.png"), "look"
    )

    assert receipt.message_id == "3EB0C0FFEE000002"
    assert [k["json"] for _, _, k in sent(mocked)] == [
        {
            "session": "default",
            "chatId": CHAT,
            "file": {"mimetype": "image/png", "filename": "a.png", "data": "iVBORw=="},
            "caption": "look",
        }
    ]


async def test_check_exists_returns_the_chat_id_waha_gives(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    answer(
        mocked,
        "GET",
        "/api/contacts/check-exists",
        *sample_answer("synthetic_check_exists_200_exists.json"),
    )

    found = await gateway.check_exists(SESSION, "+5511987654321")

    assert found == "551187654321@c.us"
    assert [str(u) for _, u, _ in sent(mocked)] == [
        BASE + "/api/contacts/check-exists?phone=5511987654321&session=default"
    ]


async def test_check_exists_returns_none_for_a_number_not_on_whatsapp(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    answer(
        mocked,
        "GET",
        "/api/contacts/check-exists",
        *sample_answer("synthetic_check_exists_200_absent.json"),
    )

    assert await gateway.check_exists(SESSION, "11111111111") is None


async def test_recent_own_messages_lists_our_messages_in_the_chat_since_then(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    path = "/api/default/chats/11111111111@c.us/messages"
    answer(mocked, "GET", path, *sample_answer("synthetic_chat_messages_200.json"))

    found = await gateway.recent_own_messages(
        SESSION, CHAT, datetime.fromtimestamp(1795889400, UTC)
    )

    assert [m.message_id for m in found] == ["3EB0AAAA000002", "3EB0AAAA000001"]
    assert found[1] == SentMessage(
        "3EB0AAAA000001", CHAT, datetime.fromtimestamp(1795889410, UTC), "first"
    )


@pytest.mark.parametrize(
    ("call", "path"),
    [
        ("send_seen", "/api/sendSeen"),
        ("start_typing", "/api/startTyping"),
        ("stop_typing", "/api/stopTyping"),
    ],
)
async def test_courtesy_calls_post_the_session_and_chat(
    mocked: aioresponses, gateway: AiohttpWahaGateway, call: str, path: str
) -> None:
    answer(mocked, "POST", path, 201)

    await getattr(gateway, call)(SESSION, CHAT)

    assert [(str(u), k["json"]) for _, u, k in sent(mocked)] == [
        (BASE + path, {"session": "default", "chatId": CHAT})
    ]


async def test_every_request_carries_the_api_key(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    answer(mocked, "GET", "/api/sessions/default", 200, {"status": "WORKING"})
    answer(mocked, "POST", "/api/sendText", 201, {})

    await gateway.session_status(SESSION)
    await gateway.send_text(SESSION, CHAT, "hi")

    assert [k["headers"]["X-Api-Key"] for _, _, k in sent(mocked)] == [KEY, KEY]


async def test_no_api_key_header_is_sent_without_a_key(
    mocked: aioresponses, http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    gateway = AiohttpWahaGateway(http, base_url=BASE, api_key=None, clock=clock)
    answer(mocked, "GET", "/api/sessions/default", 200, {"status": "WORKING"})

    await gateway.session_status(SESSION)

    assert ["X-Api-Key" in k["headers"] for _, _, k in sent(mocked)] == [False]


async def test_the_default_timeout_is_30_s_total_and_5_s_to_connect(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    answer(mocked, "GET", "/api/sessions/default", 200, {"status": "WORKING"})

    await gateway.session_status(SESSION)

    assert (DEFAULT_TOTAL_TIMEOUT_S, DEFAULT_CONNECT_TIMEOUT_S) == (30.0, 5.0)
    assert [k["timeout"] for _, _, k in sent(mocked)] == [
        aiohttp.ClientTimeout(total=30.0, connect=5.0)
    ]
    assert aiohttp.ClientTimeout(total=30.0, connect=5.0) == DEFAULT_TIMEOUT


async def test_a_given_timeout_replaces_the_default(
    mocked: aioresponses, http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    timeout = aiohttp.ClientTimeout(total=60, connect=2)
    gateway = AiohttpWahaGateway(http, base_url=BASE, api_key=None, clock=clock, timeout=timeout)
    answer(mocked, "GET", "/api/sessions/default", 200, {"status": "WORKING"})

    await gateway.session_status(SESSION)

    assert [k["timeout"] for _, _, k in sent(mocked)] == [timeout]


async def test_redirects_are_not_followed_so_the_key_stays_with_waha(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    answer(mocked, "POST", "/api/sendText", 201, {})

    await gateway.send_text(SESSION, CHAT, "hi")

    assert [k["allow_redirects"] for _, _, k in sent(mocked)] == [False]


# What each failure becomes ------------------------------------------------------------------


async def test_connection_refused_means_unavailable(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    fail(mocked, "POST", "/api/sendText", refused())

    with pytest.raises(GatewayUnavailableError):
        await gateway.send_text(SESSION, CHAT, "hi")


async def test_a_connect_timeout_means_unavailable(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    fail(mocked, "POST", "/api/sendText", aiohttp.ConnectionTimeoutError("connect timed out"))

    with pytest.raises(GatewayUnavailableError):
        await gateway.send_text(SESSION, CHAT, "hi")


async def test_a_real_refused_connection_means_unavailable(
    http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Closed without listening: nothing answers on that port now.
    gateway = AiohttpWahaGateway(
        http, base_url=f"http://127.0.0.1:{port}", api_key=SecretStr(KEY), clock=clock
    )

    with pytest.raises(GatewayUnavailableError):
        await gateway.send_text(SESSION, CHAT, "hi")


@pytest.mark.parametrize(
    ("status", "payload"),
    [
        (401, {"message": "Unauthorized", "statusCode": 401}),
        sample_answer("01d_sendText_before_start.json"),
        sample_answer("04b_sendText_unknown_session.json"),
        sample_answer("synthetic_sendText_400_validation.json"),
    ],
)
async def test_a_4xx_answer_is_a_rejection(
    mocked: aioresponses, gateway: AiohttpWahaGateway, status: int, payload: Any
) -> None:
    answer(mocked, "POST", "/api/sendText", status, payload)

    with pytest.raises(GatewayRejectedError) as raised:
        await gateway.send_text(SESSION, CHAT, "hi")

    assert (type(raised.value), raised.value.status) == (GatewayRejectedError, status)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, '{"message":"Unauthorized","statusCode":401}'),
        (403, '{"message":"Forbidden resource","error":"Forbidden","statusCode":403}'),
        (413, "<html><center><h1>413 Request Entity Too Large</h1></center></html>"),
        (413, ""),
    ],
)
@pytest.mark.parametrize(("call", "path"), [("text", "/api/sendText"), ("image", "/api/sendImage")])
async def test_a_refused_send_carries_the_http_status_whatever_the_body(
    mocked: aioresponses,
    gateway: AiohttpWahaGateway,
    status: int,
    body: str,
    call: str,
    path: str,
) -> None:
    # The runner treats 401, 403 and 413 on a send as systemic: it needs the status, always.
    mocked.add(route(path), "POST", status=status, body=body, response_class=Aiohttp314Response)

    sends = {
        "text": lambda: gateway.send_text(SESSION, CHAT, "hi"),
        "image": lambda: gateway.send_image(
            SESSION, CHAT, ImagePayload(b"p", "image/png", "a"), ""
        ),
    }

    with pytest.raises(GatewayRejectedError) as raised:
        await sends[call]()

    assert (raised.value.status, raised.value.session_status) == (status, None)


async def test_a_422_rejection_carries_the_session_status_waha_reported(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    answer(mocked, "POST", "/api/sendText", *sample_answer("02_sendText_not_working.json"))

    with pytest.raises(GatewayRejectedError) as raised:
        await gateway.send_text(SESSION, CHAT, "hi")

    assert (raised.value.status, raised.value.session_status) == (422, "STARTING")


async def test_a_500_on_a_send_leaves_the_outcome_unknown(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    answer(mocked, "POST", "/api/sendText", 500, {"statusCode": 500, "exception": {}})

    with pytest.raises(SendOutcomeUnknownError) as raised:
        await gateway.send_text(SESSION, CHAT, "hi")

    assert raised.value.status == 500


async def test_a_500_with_error_463_means_the_account_is_restricted(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    answer(mocked, "POST", "/api/sendText", *sample_answer("synthetic_sendText_500_error_463.json"))

    with pytest.raises(AccountRestrictedError):
        await gateway.send_text(SESSION, CHAT, "hi")


async def test_a_500_rate_overlimit_means_rate_limited(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    answer(
        mocked,
        "GET",
        "/api/contacts/check-exists",
        *sample_answer("synthetic_check_exists_500_rate_overlimit.json"),
    )

    with pytest.raises(RateLimitedError):
        await gateway.check_exists(SESSION, "11111111111")


@pytest.mark.parametrize(
    "exception",
    [
        TimeoutError(),  # what asyncio.TimeoutError is since Python 3.11
        aiohttp.SocketTimeoutError("read timed out"),
        aiohttp.ServerDisconnectedError(),
        aiohttp.ClientOSError(104, "Connection reset by peer"),
        aiohttp.ClientPayloadError("truncated"),
    ],
)
async def test_a_lost_answer_to_a_send_leaves_the_outcome_unknown(
    mocked: aioresponses, gateway: AiohttpWahaGateway, exception: Exception
) -> None:
    fail(mocked, "POST", "/api/sendText", exception)

    with pytest.raises(SendOutcomeUnknownError):
        await gateway.send_text(SESSION, CHAT, "hi")


async def test_a_timed_out_status_check_is_a_gateway_error_not_an_unknown_send(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    fail(mocked, "GET", "/api/sessions/default", TimeoutError())

    with pytest.raises(GatewayError) as raised:
        await gateway.session_status(SESSION)

    assert type(raised.value) is GatewayRequestFailedError


async def test_an_unreadable_status_answer_is_a_gateway_error(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    answer(mocked, "GET", "/api/sessions/default", 200, ["not", "a", "session"])

    with pytest.raises(GatewayError):
        await gateway.session_status(SESSION)


async def test_an_odd_send_answer_is_a_receipt_without_an_id(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    mocked.add(
        route("/api/sendText"),
        "POST",
        status=201,
        body="<ok/>",
        content_type="text/xml",
        response_class=Aiohttp314Response,
    )

    assert await gateway.send_text(SESSION, CHAT, "hi") == SendReceipt(None, CHAT)


# Secrets and bodies stay out of logs and errors ---------------------------------------------


async def _every_outcome(mocked: aioresponses, gateway: AiohttpWahaGateway) -> list[GatewayError]:
    """Drive the gateway through a success and each failure; return the errors raised."""
    answer(mocked, "POST", "/api/sendText", 201, {"key": {"id": "3EB0"}})
    answer(mocked, "POST", "/api/sendText", 401, {"message": "Unauthorized", "statusCode": 401})
    answer(mocked, "POST", "/api/sendText", *sample_answer("02_sendText_not_working.json"))
    answer(
        mocked,
        "POST",
        "/api/sendImage",
        *sample_answer("synthetic_sendImage_500_echoes_media.json"),
    )
    fail(mocked, "POST", "/api/sendText", TimeoutError())
    fail(mocked, "POST", "/api/sendText", refused())
    errors = []
    await gateway.send_text(SESSION, CHAT, "hi")
    for _ in range(4):
        try:
            await gateway.send_text(SESSION, CHAT, "hi")
        except GatewayError as error:
            errors.append(error)
    try:
        await gateway.send_image(SESSION, CHAT, ImagePayload(bytes(4096), "image/png", "a"), "")
    except GatewayError as error:
        errors.append(error)
    return errors


async def test_the_api_key_never_appears_in_log_records(
    mocked: aioresponses, gateway: AiohttpWahaGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    await _every_outcome(mocked, gateway)

    assert {record.name for record in caplog.records} >= {LOGGER_NAME}
    assert KEY not in caplog.text
    assert not [record for record in caplog.records if KEY in record.getMessage()]


async def test_the_api_key_never_appears_in_error_text(
    mocked: aioresponses, gateway: AiohttpWahaGateway
) -> None:
    errors = await _every_outcome(mocked, gateway)

    assert len(errors) == 5
    assert not [e for e in errors if KEY in "".join(traceback.format_exception(e)) + e.reason]


async def test_echoed_media_never_reaches_the_logs(
    mocked: aioresponses, gateway: AiohttpWahaGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    status, body = sample_answer("synthetic_sendImage_500_echoes_media.json")
    echoed = body["request"]["body"]["file"]["data"]
    answer(mocked, "POST", "/api/sendImage", status, body)

    with pytest.raises(SendOutcomeUnknownError):
        await gateway.send_image(SESSION, CHAT, ImagePayload(b"x", "image/png", "a.png"), "")

    assert echoed[:32] not in caplog.text
    assert max(len(record.getMessage()) for record in caplog.records) < 400
