"""The wire for client-supplied ids, media kinds, inbound messages and the account's limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.waha import wire
from app.ports import (
    UNTIL_FURTHER_NOTICE,
    AccountLimits,
    GatewayRejectedError,
    GatewayRequestFailedError,
    ImagePayload,
    InboundMessageFact,
    MediaKind,
    MediaPayload,
    MessageIdsUnsupportedError,
    SentMessage,
)

SAMPLES = Path(__file__).parents[2] / "samples" / "waha"
RECEIVED_AT = datetime(2026, 11, 28, 18, 10, 25, tzinfo=UTC)
CHAT = "11111111111@c.us"
OUR_ID = "3EB0C0FFEE0123456789AB"
ENDS = 1_795_893_000


def recorded(name: str) -> tuple[int, bytes]:
    response = json.loads((SAMPLES / name).read_text(encoding="utf-8"))["response"]
    return response["status"], json.dumps(response["body"]).encode()


def body_of(document: Any) -> bytes:
    return json.dumps(document).encode()


# Requests -------------------------------------------------------------------------------------


def test_a_text_with_our_id_sends_it_as_id() -> None:
    with_id = wire.send_text_request("default", CHAT, "hi", message_id=OUR_ID)
    without = wire.send_text_request("default", CHAT, "hi")

    assert with_id.body == {"session": "default", "chatId": CHAT, "text": "hi", "id": OUR_ID}
    assert without.body is not None
    assert "id" not in without.body


def test_a_new_message_id_is_asked_of_the_session() -> None:
    request = wire.new_message_id_request("sales team")

    assert (request.method, request.path) == ("GET", "/api/sales%20team/new-message-id")
    assert (request.may_message, request.needs_message_ids) == (False, True)


def test_a_message_is_looked_up_in_chat_all_by_its_raw_id() -> None:
    request = wire.find_message_request("default", "3EB0/../x")

    assert request.path == "/api/default/chats/all/messages/3EB0%2F..%2Fx"
    assert request.query == (("downloadMedia", "false"),)
    assert (request.may_message, request.needs_message_ids) == (False, True)


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        (MediaKind.IMAGE, "/api/sendImage"),
        (MediaKind.DOCUMENT, "/api/sendFile"),
        (MediaKind.VIDEO, "/api/sendVideo"),
        (MediaKind.VOICE, "/api/sendVoice"),
    ],
)
def test_each_media_kind_goes_to_its_endpoint_as_a_send(kind: MediaKind, path: str) -> None:
    request = wire.send_media_request("default", CHAT, MediaPayload(b"x", "a/b", "f", kind), "")

    assert (request.method, request.path, request.may_message) == ("POST", path, True)
    assert request.body is not None
    assert request.body["file"] == {"mimetype": "a/b", "filename": "f", "data": "eA=="}


def test_an_image_is_sent_alike_by_send_image_and_send_media() -> None:
    image = ImagePayload(b"\x89PNG", "image/png", "a.png")

    assert wire.send_image_request("default", CHAT, image, "look") == wire.send_media_request(
        "default", CHAT, image, "look"
    )


def test_send_image_sends_any_payload_as_an_image() -> None:
    document = MediaPayload(b"%PDF", "application/pdf", "a.pdf", MediaKind.DOCUMENT)

    assert wire.send_image_request("default", CHAT, document, "").path == "/api/sendImage"


@pytest.mark.parametrize(
    ("kind", "mimetype", "convert"),
    [
        (MediaKind.VIDEO, "video/mp4", False),
        (MediaKind.VIDEO, "video/quicktime", True),
        (MediaKind.VOICE, "audio/ogg; codecs=opus", False),
        (MediaKind.VOICE, "audio/mpeg", True),
    ],
)
def test_video_and_voice_are_converted_unless_already_whatsapps_format(
    kind: MediaKind, mimetype: str, convert: bool
) -> None:
    request = wire.send_media_request("default", CHAT, MediaPayload(b"x", mimetype, "f", kind), "")

    assert request.body is not None
    assert request.body["convert"] is convert


def test_a_voice_note_carries_no_caption_key_and_refuses_a_caption() -> None:
    voice = MediaPayload(b"OggS", "audio/ogg", "a.ogg", MediaKind.VOICE)

    plain = wire.send_media_request("default", CHAT, voice, "")
    with pytest.raises(ValueError, match="caption"):
        wire.send_media_request("default", CHAT, voice, "listen")

    assert plain.body is not None
    assert "caption" not in plain.body


def test_no_media_request_sends_an_id() -> None:
    for kind in MediaKind:
        media = MediaPayload(b"x", "a/b", "f", kind)
        request = wire.send_media_request("default", CHAT, media, "")
        assert request.body is not None
        assert "id" not in request.body


# Replies --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "request_"),
    [
        ("10b_get_message_by_id_unsupported.json", wire.find_message_request("default", "B")),
        ("10c_new_message_id_unsupported.json", wire.new_message_id_request("default")),
    ],
)
def test_an_older_wahas_recorded_404_means_message_ids_are_unsupported(
    sample: str, request_: wire.WahaRequest
) -> None:
    status, body = recorded(sample)

    error = wire.error_for_reply(request_, status, body)

    assert isinstance(error, MessageIdsUnsupportedError)
    assert error.status == 404
    assert "Cannot GET" in error.reason
    assert not wire.is_message_not_found(status, body)


def test_a_route_waha_lacks_is_a_plain_rejection_for_other_requests() -> None:
    status, body = recorded("10c_new_message_id_unsupported.json")

    error = wire.error_for_reply(wire.session_status_request("default"), status, body)

    assert isinstance(error, GatewayRejectedError)
    assert not isinstance(error, MessageIdsUnsupportedError)


def test_a_message_not_found_is_told_apart_from_a_missing_session() -> None:
    not_found = body_of({"statusCode": 404, "message": "Message not found", "error": "Not Found"})
    session_gone = body_of({"statusCode": 404, "message": "Session not found"})
    named_like_one = body_of({"statusCode": 404, "message": "Session 'message-bot' not found"})
    not_started = body_of(
        {"statusCode": 404, "message": "We didn't find a session with name 'message'."}
    )

    assert wire.is_message_not_found(404, not_found)
    assert not wire.is_message_not_found(404, session_gone)
    assert not wire.is_message_not_found(404, named_like_one)
    assert not wire.is_message_not_found(404, not_started)
    assert not wire.is_message_not_found(500, not_found)


def test_a_new_message_id_is_read_from_its_answer() -> None:
    assert wire.parse_new_message_id(b'{"id": "BBBBBBBBBBBBBBBBB"}') == "BBBBBBBBBBBBBBBBB"


@pytest.mark.parametrize(
    "body", [b"{}", b'{"id": ""}', b'{"id": 5}', b'{"id": "a/b"}', b'{"id": "x_y"}', b"[]", b"x"]
)
def test_an_unusable_new_message_id_is_a_failed_read(body: bytes) -> None:
    with pytest.raises(GatewayRequestFailedError):
        wire.parse_new_message_id(body)


def wa_message(**fields: Any) -> bytes:
    message = {
        "id": f"true_{CHAT}_{OUR_ID}",
        "timestamp": 1_795_889_470,
        "from": "22222222222@c.us",
        "fromMe": True,
        "to": CHAT,
        "body": "hi",
        "ack": 2,
        "ackName": "DEVICE",
    }
    message.update(fields)
    return body_of(message)


def test_a_found_message_of_ours_is_read() -> None:
    found = wire.parse_found_message(wa_message())

    assert found == SentMessage(OUR_ID, CHAT, datetime.fromtimestamp(1_795_889_470, UTC), "hi")


def test_a_found_message_that_is_not_ours_is_none() -> None:
    assert wire.parse_found_message(wa_message(fromMe=False)) is None


@pytest.mark.parametrize(
    "fields",
    [{"fromMe": None}, {"timestamp": "soon"}, {"id": "nonsense"}, {"to": None, "id": None}],
)
def test_a_found_message_we_cannot_read_is_a_failed_read(fields: dict[str, Any]) -> None:
    with pytest.raises(GatewayRequestFailedError):
        wire.parse_found_message(wa_message(**fields))


# The account's limits -------------------------------------------------------------------------


def test_limits_are_none_when_waha_reports_none() -> None:
    assert wire.account_limits({"id": CHAT, "pushName": "Shop"}) is None
    assert wire.account_limits(None) is None


def test_the_recorded_2026_shape_reads_as_a_timelock_and_a_cap_without_end() -> None:
    status, body = recorded("synthetic_get_default_2026_limits.json")

    fact = wire.parse_session_status("default", body, observed_at=RECEIVED_AT)

    assert status == 200
    assert fact.limits == AccountLimits(
        reachout_timelock_until=datetime.fromtimestamp(ENDS, UTC),
        capped_until=UNTIL_FURTHER_NOTICE,  # CAPPED, and no cycleEnd given
    )


@pytest.mark.parametrize(
    ("me", "limits"),
    [
        ({"reachoutTimelock": {"isActive": False, "timeEnforcementEnds": ENDS}}, (None, None)),
        ({"reachoutTimelock": {"isActive": True}}, ("max", None)),
        ({"reachoutTimelock": {"isActive": True, "timeEnforcementEnds": 1e400}}, ("max", None)),
        ({"messageCapping": {"cappingStatus": "SECOND_WARNING", "cycleEnd": ENDS}}, (None, None)),
        ({"messageCapping": {"cappingStatus": "CAPPED", "cycleEnd": ENDS}}, (None, "ends")),
        ({"reachoutTimelock": "yes", "messageCapping": []}, None),
    ],
    ids=["inactive", "no end", "end beyond any calendar", "a warning", "capped", "garbage"],
)
def test_limits_read_from_me(
    me: dict[str, Any], limits: tuple[str | None, str | None] | None
) -> None:
    def moment(value: str | None) -> datetime | None:
        named = {"max": UNTIL_FURTHER_NOTICE, "ends": datetime.fromtimestamp(ENDS, UTC)}
        return None if value is None else named[value]

    expected = None if limits is None else AccountLimits(moment(limits[0]), moment(limits[1]))

    assert wire.account_limits(me) == expected


# Webhooks -------------------------------------------------------------------------------------


def test_an_inbound_message_webhook_is_a_message_fact() -> None:
    raw = (SAMPLES / "webhook_new_message.json").read_bytes()

    hook = wire.parse_webhook(raw, received_at=RECEIVED_AT)

    assert hook == wire.MessageWebhook(
        InboundMessageFact(
            session="default",
            chat_id=CHAT,
            body="STOP",
            message_id="AAAAAAAAAAAAAAAAAAAA",
            observed_at=RECEIVED_AT,
        ),
        event_id="evt_01jdx0000000000000000000a4",
        event_time=datetime.fromtimestamp(1_795_889_480, UTC),
    )


def message_webhook(**payload: Any) -> bytes:
    document = json.loads((SAMPLES / "webhook_new_message.json").read_text(encoding="utf-8"))
    document["payload"].update(payload)
    return body_of(document)


def test_a_message_webhook_about_our_own_message_is_ignored() -> None:
    hook = wire.parse_webhook(
        message_webhook(fromMe=True, id=f"true_{CHAT}_{OUR_ID}"), received_at=RECEIVED_AT
    )

    assert hook == wire.IgnoredWebhook("message", "evt_01jdx0000000000000000000a4")


@pytest.mark.parametrize(
    ("body", "read"),
    [(None, ""), (7, ""), ("line one\nline two", "line one\nline two"), ("a\x00b\ud800", "a�b�")],
    ids=["none", "not text", "newlines kept", "unstorable replaced"],
)
def test_a_message_body_is_kept_readable(body: Any, read: str) -> None:
    hook = wire.parse_webhook(message_webhook(body=body), received_at=RECEIVED_AT)

    assert isinstance(hook, wire.MessageWebhook)
    assert hook.fact.body == read


def test_a_message_without_a_readable_id_is_malformed() -> None:
    with pytest.raises(wire.MalformedWebhookError):
        wire.parse_webhook(message_webhook(id="nonsense"), received_at=RECEIVED_AT)


def test_a_session_status_webhook_carries_the_limits_in_its_me() -> None:
    raw = (SAMPLES / "webhook_new_session_status_limits.json").read_bytes()

    hook = wire.parse_webhook(raw, received_at=RECEIVED_AT)

    assert isinstance(hook, wire.SessionStatusWebhook)
    assert hook.fact.limits == AccountLimits(
        reachout_timelock_until=datetime.fromtimestamp(ENDS, UTC),
        capped_until=datetime.fromtimestamp(1_795_892_800, UTC),
    )
