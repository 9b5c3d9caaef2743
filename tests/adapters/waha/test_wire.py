"""WAHA's recorded and documented answers and webhooks, read by the sans-I/O wire module."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from pydantic import SecretStr

from adapters.waha import wire
from app.ports import (
    AccountRestrictedError,
    DeliveryFact,
    GatewayError,
    GatewayRejectedError,
    GatewayRequestFailedError,
    ImagePayload,
    RateLimitedError,
    SendOutcomeUnknownError,
    SessionStatusFact,
)

SAMPLES = Path(__file__).parents[2] / "samples" / "waha"
RECEIVED_AT = datetime(2026, 11, 28, 18, 10, 25, tzinfo=UTC)
DOCS_HMAC_KEY = b"my-secret-key"
DOCS_HMAC_BODY = b'{"event":"message","session":"default","engine":"WEBJS"}'
SEND_PATHS = {"/api/sendText", "/api/sendImage"}


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    return loaded


def answer_body(name: str) -> bytes:
    return json.dumps(sample(name)["response"]["body"]).encode()


def request_like(recorded: dict[str, Any]) -> wire.WahaRequest:
    """Return the request the adapter would make for a recorded one, by its path alone."""
    path = recorded["path"].split("?")[0]
    operation = path.rsplit("/", 1)[-1]
    return wire.WahaRequest(
        recorded["method"], path, operation, body=recorded["body"], may_message=path in SEND_PATHS
    )


def webhook_bodies(jsonl: str) -> list[bytes]:
    lines = (SAMPLES / jsonl).read_text(encoding="utf-8").splitlines()
    return [base64.b64decode(json.loads(line)["raw_b64"]) for line in lines if line]


# Answers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "error_class", "status", "session_status"),
    [
        ("01d_sendText_before_start.json", GatewayRejectedError, 404, None),
        ("01n_sendText_after_stop.json", GatewayRejectedError, 404, None),
        ("02_sendText_not_working.json", GatewayRejectedError, 422, "STARTING"),
        ("03_sendImage_not_working.json", GatewayRejectedError, 422, "STARTING"),
        ("04a_get_unknown_session.json", GatewayRejectedError, 404, None),
        ("04b_sendText_unknown_session.json", GatewayRejectedError, 422, None),
        ("05c_sendText_no_key.json", GatewayRejectedError, 422, "STARTING"),
        ("06_check_exists_not_working.json", GatewayRejectedError, 422, "STARTING"),
        ("08c_sendText_invalid_body.json", GatewayRejectedError, 422, "STARTING"),
        ("synthetic_sendText_401_wrong_key.json", GatewayRejectedError, 401, None),
        ("synthetic_sendText_400_validation.json", GatewayRejectedError, 400, None),
        ("synthetic_sendText_500_error_463.json", AccountRestrictedError, 500, None),
        ("synthetic_check_exists_500_rate_overlimit.json", RateLimitedError, 500, None),
        ("synthetic_sendImage_500_echoes_media.json", SendOutcomeUnknownError, 500, None),
        ("synthetic_sendText_500_echo_mentions_463.json", SendOutcomeUnknownError, 500, None),
    ],
)
def test_each_sample_error_answer_maps_to_the_port_error_it_means(
    name: str, error_class: type[GatewayError], status: int, session_status: str | None
) -> None:
    recorded = sample(name)

    error = wire.error_for_reply(
        request_like(recorded["request"]), recorded["response"]["status"], answer_body(name)
    )

    assert type(error) is error_class
    assert error.status == status
    assert getattr(error, "session_status", None) == session_status


@pytest.mark.parametrize(
    "name", ["05a_list_sessions_no_key.json", "05b_list_sessions_wrong_key.json"]
)
def test_the_recorded_release_answered_without_a_valid_key_as_a_success(name: str) -> None:
    listing = wire.WahaRequest("GET", "/api/sessions", "sessions.list", query=(("all", "true"),))

    assert (
        wire.error_for_reply(listing, sample(name)["response"]["status"], answer_body(name)) is None
    )


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("01c_get_default_before_start.json", "STOPPED"),
        ("01k_get_default_after_stop.json", "STOPPED"),
        ("07b_get_default_with_config.json", "STARTING"),
    ],
)
def test_recorded_session_answers_give_the_polled_status(name: str, status: str) -> None:
    fact = wire.parse_session_status("default", answer_body(name), observed_at=RECEIVED_AT)

    assert (fact.session, fact.status, fact.source, fact.observed_at, fact.detail) == (
        "default",
        status,
        "poll",
        RECEIVED_AT,
        "",
    )


def test_a_status_wahas_enum_lacks_is_kept_as_given() -> None:
    fact = wire.parse_session_status(
        "default", b'{"name":"default","status":"HIBERNATING"}', observed_at=RECEIVED_AT
    )

    assert fact.status == "HIBERNATING"


def test_the_status_detail_names_the_account_limits_wahas_me_reports() -> None:
    fact = wire.parse_session_status(
        "default", answer_body("synthetic_get_default_2026_limits.json"), observed_at=RECEIVED_AT
    )

    assert (fact.status, fact.detail) == (
        "PASSKEY_REQUIRED",
        "reachout timelock active; message capping CAPPED",
    )


@pytest.mark.parametrize("body", [b"", b"<html>", b"[]", b'{"name":"default"}', b'{"status":null}'])
def test_a_session_answer_without_a_status_is_a_failed_read(body: bytes) -> None:
    with pytest.raises(GatewayRequestFailedError):
        wire.parse_session_status("default", body, observed_at=RECEIVED_AT)


@pytest.mark.parametrize(
    ("name", "raw_id"),
    [
        ("synthetic_sendText_201_noweb.json", "3EB0C0FFEE000001"),
        ("synthetic_sendText_201_webjs.json", "3EB0C0FFEE000002"),
        ("synthetic_sendText_201_wamessage.json", "3EB0C0FFEE000003"),
    ],
)
def test_every_engines_send_answer_gives_the_raw_message_id(name: str, raw_id: str) -> None:
    receipt = wire.parse_send_receipt("11111111111@c.us", answer_body(name))

    assert (receipt.message_id, receipt.chat_id) == (raw_id, "11111111111@c.us")


def test_a_webjs_answer_without_the_raw_part_falls_back_to_the_serialized_id() -> None:
    body = b'{"id":{"fromMe":true,"_serialized":"true_11111111111@c.us_3EB0C0FFEE000004"}}'

    assert wire.parse_send_receipt("11111111111@c.us", body).message_id == "3EB0C0FFEE000004"


@pytest.mark.parametrize(
    "body",
    [
        answer_body("synthetic_sendImage_201_unknown_shape.json"),
        b"",
        b"not json",
        b"null",
        b"[]",
        b'""',
        b'{"id":"3EB0C0FFEE000005"}',
        b'{"id":"maybe_111@c.us_3EB0"}',
        b'{"key":{"id":""}}',
        b'{"key":"3EB0"}',
        b'{"id":{"id":42,"_serialized":null}}',
    ],
)
def test_an_odd_send_answer_gives_no_message_id_rather_than_an_error(body: bytes) -> None:
    assert wire.parse_send_receipt("11111111111@c.us", body).message_id is None


@pytest.mark.parametrize(
    ("name", "build"),
    [
        (
            "01d_sendText_before_start.json",
            lambda: wire.send_text_request("default", "11111111111@c.us", "hi"),
        ),
        (
            "04b_sendText_unknown_session.json",
            lambda: wire.send_text_request("nope", "11111111111@c.us", "hi"),
        ),
        (
            "03_sendImage_not_working.json",
            lambda: wire.send_image_request(
                "default",
                "11111111111@c.us",
                ImagePayload(
                    base64.b64decode(
                        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="
                    ),
                    "image/png",
                    "tiny.png",
                ),
                "hi",
            ),
        ),
        ("01c_get_default_before_start.json", lambda: wire.session_status_request("default")),
        ("04a_get_unknown_session.json", lambda: wire.session_status_request("nope")),
        (
            "06_check_exists_not_working.json",
            lambda: wire.check_exists_request("default", "111"),
        ),
    ],
)
def test_built_requests_are_the_ones_recorded_against_real_waha(
    name: str, build: Callable[[], wire.WahaRequest]
) -> None:
    recorded = sample(name)["request"]
    request: wire.WahaRequest = build()

    query = f"?{urlencode(request.query)}" if request.query else ""
    assert (request.method, request.path + query, request.body) == (
        recorded["method"],
        recorded["path"],
        recorded["body"],
    )


def test_check_exists_gives_the_chat_id_waha_answers_not_one_built_from_the_phone() -> None:
    found = wire.parse_check_exists(answer_body("synthetic_check_exists_200_exists.json"))

    assert found == "551187654321@c.us"


def test_check_exists_gives_none_for_a_number_not_on_whatsapp() -> None:
    assert wire.parse_check_exists(answer_body("synthetic_check_exists_200_absent.json")) is None


def test_check_exists_sends_only_the_phones_digits() -> None:
    request = wire.check_exists_request("default", "+55 (11) 98765-4321")

    assert request.query == (("phone", "5511987654321"), ("session", "default"))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b'{"chatId":"111@c.us"}',
        b'{"numberExists":true}',
        b'{"numberExists":true,"chatId":"123456789@lid"}',
    ],
)
def test_an_unusable_check_exists_answer_is_a_failed_read(body: bytes) -> None:
    with pytest.raises(GatewayRequestFailedError):
        wire.parse_check_exists(body)


def test_path_segments_are_url_quoted() -> None:
    since = datetime(2026, 11, 28, tzinfo=UTC)

    paths = (
        wire.session_status_request("my team/1").path,
        wire.recent_own_messages_request("my team/1", "11111111111@c.us", since).path,
    )

    assert paths == (
        "/api/sessions/my%20team%2F1",
        "/api/my%20team%2F1/chats/11111111111%40c.us/messages",
    )


def test_the_own_messages_listing_asks_for_our_messages_from_whole_seconds_before_since() -> None:
    since = datetime(2026, 11, 28, 18, 10, 0, 750_000, tzinfo=UTC)

    request = wire.recent_own_messages_request("default", "11111111111@c.us", since, limit=20)

    assert dict(request.query) == {
        "limit": "20",
        "filter.fromMe": "true",
        "filter.timestamp.gte": str(1795889400 - wire.RECONCILIATION_SKEW_SECONDS),
        "downloadMedia": "false",
        "sortOrder": "desc",
    }


def test_the_own_messages_answer_keeps_our_usable_messages_since_then_newest_first() -> None:
    since = datetime.fromtimestamp(1795889400, UTC)

    found = wire.parse_own_messages(
        "11111111111@c.us", answer_body("synthetic_chat_messages_200.json"), since=since
    )

    assert [(m.message_id, m.body, m.timestamp.timestamp()) for m in found] == [
        ("3EB0AAAA000002", None, 1795889470),
        ("3EB0AAAA000001", "first", 1795889410),
    ]


def test_an_own_messages_answer_that_is_not_a_list_is_a_failed_read() -> None:
    with pytest.raises(GatewayRequestFailedError):
        wire.parse_own_messages("11111111111@c.us", b'{"messages":[]}', since=RECEIVED_AT)


def test_error_text_never_carries_the_media_a_500_echoes() -> None:
    name = "synthetic_sendImage_500_echoes_media.json"
    media = sample(name)["request"]["body"]["file"]["data"]

    error = wire.error_for_reply(request_like(sample(name)["request"]), 500, answer_body(name))

    assert error is not None
    assert error.reason == "Media upload failed on all hosts"
    assert media[:32] not in str(error)


def test_error_reasons_are_at_most_200_characters() -> None:
    body = json.dumps({"statusCode": 400, "message": ["x is wrong"] * 100}).encode()

    error = wire.error_for_reply(wire.send_text_request("default", "1@c.us", "hi"), 400, body)

    assert error is not None
    assert len(error.reason) == wire.REASON_MAX_CHARS


def test_a_422_reason_names_the_session_status_and_the_one_expected() -> None:
    error = wire.error_for_reply(
        request_like(sample("02_sendText_not_working.json")["request"]),
        422,
        answer_body("02_sendText_not_working.json"),
    )

    assert error is not None
    assert error.reason.endswith("(status STARTING, expected WORKING)")


@pytest.mark.parametrize(
    "request_",
    [
        wire.session_status_request("default"),
        wire.check_exists_request("default", "111"),
        wire.send_seen_request("default", "11111111111@c.us"),
    ],
)
def test_a_server_error_on_a_request_that_sends_nothing_is_a_failed_request(
    request_: wire.WahaRequest,
) -> None:
    error = wire.error_for_reply(request_, 500, b'{"statusCode":500,"exception":{"message":"x"}}')

    assert type(error) is GatewayRequestFailedError


def test_a_non_json_gateway_error_from_a_proxy_leaves_a_send_unknown() -> None:
    request = wire.send_text_request("default", "11111111111@c.us", "hi")

    error = wire.error_for_reply(request, 502, b"<html><body>502 Bad Gateway</body></html>")

    assert type(error) is SendOutcomeUnknownError


def test_a_429_from_a_proxy_in_front_of_waha_means_rate_limited() -> None:
    request = wire.send_text_request("default", "11111111111@c.us", "hi")

    assert type(wire.error_for_reply(request, 429, b"")) is RateLimitedError


def test_a_redirect_is_a_rejection() -> None:
    request = wire.send_text_request("default", "11111111111@c.us", "hi")

    assert type(wire.error_for_reply(request, 302, b"")) is GatewayRejectedError


def test_a_lost_answer_to_a_send_leaves_the_outcome_unknown() -> None:
    request = wire.send_text_request("default", "11111111111@c.us", "hi")

    assert type(wire.error_for_lost_answer(request, "timeout")) is SendOutcomeUnknownError


def test_a_lost_answer_to_a_read_is_a_failed_request() -> None:
    error = wire.error_for_lost_answer(wire.session_status_request("default"), "timeout")

    assert type(error) is GatewayRequestFailedError


# Webhooks -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "jsonl", ["webhooks_step1_global.jsonl", "webhooks_step7_session_and_global.jsonl"]
)
def test_recorded_old_envelope_webhooks_parse_as_session_status_facts(jsonl: str) -> None:
    parsed = [wire.parse_webhook(body, received_at=RECEIVED_AT) for body in webhook_bodies(jsonl)]

    assert {type(hook) for hook in parsed} == {wire.SessionStatusWebhook}
    assert {
        (hook.fact.session, hook.fact.status, hook.fact.source, hook.event_id, hook.event_time)
        for hook in parsed
        if isinstance(hook, wire.SessionStatusWebhook)
    } == {
        ("default", "STARTING", "webhook", None, None),
        ("default", "STOPPED", "webhook", None, None),
    }


def test_a_new_envelope_session_status_carries_its_event_id_and_time() -> None:
    hook = wire.parse_webhook(
        (SAMPLES / "webhook_new_session_status.json").read_bytes(), received_at=RECEIVED_AT
    )

    assert hook == wire.SessionStatusWebhook(
        fact=SessionStatusFact("default", "WORKING", RECEIVED_AT, "webhook", ""),
        event_id="evt_01jdx0000000000000000000a1",
        event_time=datetime(2026, 11, 28, 18, 10, 25, 138_000, tzinfo=UTC),
    )


def test_a_new_envelope_message_ack_gives_a_delivery_fact() -> None:
    hook = wire.parse_webhook(
        (SAMPLES / "webhook_new_message_ack.json").read_bytes(), received_at=RECEIVED_AT
    )

    assert hook == wire.MessageAckWebhook(
        fact=DeliveryFact("default", "3EB0C0FFEE", "11111111111@c.us", 3, "READ", RECEIVED_AT),
        event_id="evt_01aaaaaaaaaaaaaaaaaaaaaaaa",
        event_time=datetime.fromtimestamp(1634567890.123, UTC),
    )


def test_an_old_envelope_message_ack_parses_without_an_event_id() -> None:
    document = json.loads((SAMPLES / "webhook_new_message_ack.json").read_bytes())
    del document["id"], document["timestamp"]

    hook = wire.parse_webhook(json.dumps(document).encode(), received_at=RECEIVED_AT)

    assert isinstance(hook, wire.MessageAckWebhook)
    assert (hook.event_id, hook.event_time, hook.fact.message_id) == (None, None, "3EB0C0FFEE")


def test_an_ack_without_a_name_is_named_from_its_number() -> None:
    body = (
        b'{"event":"message.ack","session":"default","payload":'
        b'{"id":"true_11111111111@c.us_3EB0C0FFEE","fromMe":true,"ack":2}}'
    )

    hook = wire.parse_webhook(body, received_at=RECEIVED_AT)

    assert isinstance(hook, wire.MessageAckWebhook)
    assert (hook.fact.ack_name, hook.fact.chat_id) == ("DEVICE", "11111111111@c.us")


def test_a_new_envelope_message_any_shows_our_own_sent_message() -> None:
    hook = wire.parse_webhook(
        (SAMPLES / "webhook_new_message_any.json").read_bytes(), received_at=RECEIVED_AT
    )

    assert hook == wire.MessageAnyWebhook(
        session="default",
        message_id="3EB0AAAA000002",
        chat_id="11111111111@c.us",
        from_me=True,
        source="api",
        observed_at=RECEIVED_AT,
        event_id="evt_01jdx0000000000000000000a2",
        event_time=datetime.fromtimestamp(1795889471, UTC),
    )


def test_an_incoming_message_any_is_marked_not_ours_and_keyed_by_its_sender() -> None:
    body = (
        b'{"event":"message.any","session":"default","payload":{"id":'
        b'"false_11111111111@c.us_3EB0BBBB000003","from":"11111111111@c.us",'
        b'"to":"22222222222@c.us","fromMe":false,"body":"a reply"}}'
    )

    hook = wire.parse_webhook(body, received_at=RECEIVED_AT)

    assert isinstance(hook, wire.MessageAnyWebhook)
    assert (hook.from_me, hook.chat_id, hook.source) == (False, "11111111111@c.us", None)


@pytest.mark.parametrize(
    ("body", "event", "event_id"),
    [
        (
            (SAMPLES / "webhook_new_presence_update.json").read_bytes(),
            "presence.update",
            "evt_01jdx0000000000000000000a3",
        ),
        (
            b'{"event":"message.reaction","session":"default","engine":"WEBJS"}',
            "message.reaction",
            None,
        ),
        (
            b'{"event":"engine.event","session":"default","payload":"anything"}',
            "engine.event",
            None,
        ),
    ],
)
def test_events_we_do_not_act_on_are_ignored(body: bytes, event: str, event_id: str | None) -> None:
    assert wire.parse_webhook(body, received_at=RECEIVED_AT) == wire.IgnoredWebhook(event, event_id)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{not json",
        b"\xff\xfe",
        b"[]",
        b'"session.status"',
        b'{"session":"default","payload":{}}',
        b'{"event":"session.status","session":"default"}',
        b'{"event":"session.status","session":"default","payload":{"name":"default"}}',
        b'{"event":"session.status","payload":{"name":"default","status":"WORKING"}}',
        b'{"event":"message.ack","session":"default","payload":{"id":"3EB0","ack":3}}',
        (
            b'{"event":"message.ack","session":"default","payload":'
            b'{"id":"true_1@c.us_3EB0","fromMe":true,"to":"1@c.us","ack":"READ"}}'
        ),
    ],
)
def test_a_malformed_webhook_raises_the_wire_error(body: bytes) -> None:
    with pytest.raises(wire.MalformedWebhookError):
        wire.parse_webhook(body, received_at=RECEIVED_AT)


def test_the_webhook_hmac_matches_the_documented_vector() -> None:
    expected = hmac.new(DOCS_HMAC_KEY, DOCS_HMAC_BODY, hashlib.sha512).hexdigest()

    assert expected.startswith("208f8a55")
    assert expected.endswith("3fa89")
    assert wire.webhook_signature(DOCS_HMAC_BODY, DOCS_HMAC_KEY) == expected
    assert wire.verify_webhook_signature(DOCS_HMAC_BODY, expected, DOCS_HMAC_KEY)


def test_the_webhook_hmac_verifies_a_recorded_body_against_its_recorded_digest() -> None:
    starting = sample("07d_webhook_session_status_hmac_config.json")["starting"]
    check = starting["hmac_check"]

    assert wire.verify_webhook_signature(
        starting["raw_body"].encode(),
        check["hmac_sha512_hex_of_raw_body_computed_locally"],
        SecretStr(check["configured_key"]),
    )


@pytest.mark.parametrize(
    ("body", "signature", "key"),
    [
        (DOCS_HMAC_BODY + b" ", "documented", DOCS_HMAC_KEY),
        (DOCS_HMAC_BODY, "documented", b"another-key"),
        (DOCS_HMAC_BODY, None, DOCS_HMAC_KEY),
        (DOCS_HMAC_BODY, "", DOCS_HMAC_KEY),
        (DOCS_HMAC_BODY, "208f8a55…3fa89", DOCS_HMAC_KEY),
    ],
)
def test_the_webhook_hmac_rejects_any_other_body_key_or_signature(
    body: bytes, signature: str | None, key: bytes
) -> None:
    documented = hmac.new(DOCS_HMAC_KEY, DOCS_HMAC_BODY, hashlib.sha512).hexdigest()
    given = documented if signature == "documented" else signature

    assert not wire.verify_webhook_signature(body, given, key)


def test_an_empty_webhook_hmac_key_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        wire.verify_webhook_signature(DOCS_HMAC_BODY, "00", SecretStr(""))
