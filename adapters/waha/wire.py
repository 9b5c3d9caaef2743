"""Sans-I/O WAHA: build its requests, read its replies and webhooks, map failures to port errors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal
from urllib.parse import quote

from pydantic import SecretStr

from app.ports import (
    AccountRestrictedError,
    DeliveryFact,
    GatewayError,
    GatewayRejectedError,
    GatewayRequestFailedError,
    ImagePayload,
    RateLimitedError,
    SendOutcomeUnknownError,
    SendReceipt,
    SentMessage,
    SessionStatusFact,
)
from domain.contacts import ChatId, InvalidChatIdError, chat_id

REASON_MAX_CHARS: Final = 200
RECENT_MESSAGES_LIMIT: Final = 100
WEBHOOK_HMAC_HEADER: Final = "X-Webhook-Hmac"
ACK_NAMES: Final[Mapping[int, str]] = {
    -1: "ERROR",
    0: "PENDING",
    1: "SERVER",
    2: "DEVICE",
    3: "READ",
    4: "PLAYED",
}

# WAHA's 500 echoes the request, media included; long unbroken runs of these characters are
# base64 (or a token), never words, so they are cut out of every reason we build.
_BASE64_RUN: Final = re.compile(r"[A-Za-z0-9+/=_-]{32,}")
_ERROR_463: Final = re.compile(r"\b463\b")
_RATE_OVERLIMIT: Final = "rate-overlimit"
_WHATSAPP_RATE_LIMIT_CODE: Final = 429
_SERIALIZED_ID_PARTS: Final = 3
_HTTP_SUCCESS: Final = range(200, 300)
_HTTP_UNPROCESSABLE: Final = 422
_HTTP_TOO_MANY_REQUESTS: Final = 429
_HTTP_SERVER_ERROR: Final = 500

# Decoded JSON: every use narrows it with isinstance, since WAHA's shapes vary by engine.
Json = Any


class MalformedWebhookError(ValueError):
    """A webhook body that is not a JSON object, or lacks what its event must carry."""


@dataclass(frozen=True)
class WahaRequest:
    """One HTTP request to WAHA, described before any I/O happens.

    `operation` names it in logs and errors; `may_message` is True when an answer lost in
    transit may mean WhatsApp got a message (the sends), so the outcome is unknown.
    """

    method: Literal["GET", "POST"]
    path: str
    operation: str
    query: tuple[tuple[str, str], ...] = ()
    body: Mapping[str, Json] | None = None
    may_message: bool = False


@dataclass(frozen=True)
class SessionStatusWebhook:
    """A `session.status` webhook: the status fact and the envelope id that carried it."""

    fact: SessionStatusFact
    event_id: str | None
    event_time: datetime | None


@dataclass(frozen=True)
class MessageAckWebhook:
    """A `message.ack` webhook: the delivery fact and the envelope id that carried it."""

    fact: DeliveryFact
    event_id: str | None
    event_time: datetime | None


@dataclass(frozen=True)
class MessageAnyWebhook:
    """A `message.any` webhook: a message WAHA saw created; one of ours when `from_me`.

    `message_id` is the raw id (as in SendReceipt); `source` is "api" or "app" for our own.
    """

    session: str
    message_id: str
    chat_id: str
    from_me: bool
    source: str | None
    observed_at: datetime
    event_id: str | None
    event_time: datetime | None


@dataclass(frozen=True)
class IgnoredWebhook:
    """A webhook event this application does not act on."""

    event: str
    event_id: str | None


WahaWebhook = SessionStatusWebhook | MessageAckWebhook | MessageAnyWebhook | IgnoredWebhook


# Requests -----------------------------------------------------------------------------------


def _segment(value: str) -> str:
    return quote(value, safe="")


def session_status_request(session: str) -> WahaRequest:
    """Return the request for a session's status: GET /api/sessions/{session}."""
    return WahaRequest("GET", f"/api/sessions/{_segment(session)}", "sessions.get")


def send_text_request(session: str, chat: str, text: str) -> WahaRequest:
    """Return the request that sends a text message: POST /api/sendText."""
    body = {"session": session, "chatId": chat, "text": text}
    return WahaRequest("POST", "/api/sendText", "sendText", body=body, may_message=True)


def send_image_request(session: str, chat: str, image: ImagePayload, caption: str) -> WahaRequest:
    """Return the request that sends an image with its bytes inline: POST /api/sendImage."""
    body = {
        "session": session,
        "chatId": chat,
        "file": {
            "mimetype": image.mimetype,
            "filename": image.filename,
            "data": base64.b64encode(image.data).decode("ascii"),
        },
        "caption": caption,
    }
    return WahaRequest("POST", "/api/sendImage", "sendImage", body=body, may_message=True)


def check_exists_request(session: str, phone: str) -> WahaRequest:
    """Return the request asking whether a phone is on WhatsApp: GET /api/contacts/check-exists."""
    digits = "".join(character for character in phone if character.isdigit())
    if not digits:
        raise ValueError("a phone number to check needs digits")
    query = (("phone", digits), ("session", session))
    return WahaRequest("GET", "/api/contacts/check-exists", "contacts.check-exists", query=query)


def recent_own_messages_request(
    session: str, chat: str, since: datetime, *, limit: int = RECENT_MESSAGES_LIMIT
) -> WahaRequest:
    """Return the request listing our own messages in a chat since `since`, newest first."""
    query = (
        ("limit", str(limit)),
        ("filter.fromMe", "true"),
        # WAHA's filter is inclusive and in whole seconds: flooring keeps the boundary message.
        ("filter.timestamp.gte", str(int(since.timestamp()))),
        ("downloadMedia", "false"),
        ("sortOrder", "desc"),
    )
    path = f"/api/{_segment(session)}/chats/{_segment(chat)}/messages"
    return WahaRequest("GET", path, "chats.messages", query=query)


def _chat_request(path: str, operation: str, session: str, chat: str) -> WahaRequest:
    return WahaRequest("POST", path, operation, body={"session": session, "chatId": chat})


def send_seen_request(session: str, chat: str) -> WahaRequest:
    """Return the request that marks a chat as seen: POST /api/sendSeen."""
    return _chat_request("/api/sendSeen", "sendSeen", session, chat)


def start_typing_request(session: str, chat: str) -> WahaRequest:
    """Return the request that shows "typing…" in a chat: POST /api/startTyping."""
    return _chat_request("/api/startTyping", "startTyping", session, chat)


def stop_typing_request(session: str, chat: str) -> WahaRequest:
    """Return the request that stops showing "typing…": POST /api/stopTyping."""
    return _chat_request("/api/stopTyping", "stopTyping", session, chat)


# Failures -----------------------------------------------------------------------------------


def shorten(text: str) -> str:
    """Return `text` fit for logs and error text: one line, no base64, at most 200 chars."""
    flat = " ".join(_BASE64_RUN.sub("[data]", text).split())
    if len(flat) <= REASON_MAX_CHARS:
        return flat
    return flat[: REASON_MAX_CHARS - 1] + "…"


def _decode(body: bytes) -> Json:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _error_texts(document: Json) -> list[str]:
    """Return the messages an error body carries, never the request it echoes nor a stack."""
    if not isinstance(document, dict):
        return []
    texts: list[str] = []
    exception = document.get("exception")
    if isinstance(exception, dict) and isinstance(exception.get("message"), str):
        texts.append(exception["message"])
    for field in ("message", "error"):
        value = document.get(field)
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, list):
            texts.extend(item for item in value if isinstance(item, str))
    return texts


def _reason(document: Json, body: bytes) -> str:
    texts = _error_texts(document)
    if isinstance(document, dict) and isinstance(document.get("status"), str):
        expected = document.get("expected")
        wanted = ", ".join(str(item) for item in expected) if isinstance(expected, list) else "?"
        texts.append(f"(status {document['status']}, expected {wanted})")
    if texts:
        return shorten(" ".join(texts))
    if document is None and body.strip():
        return shorten(body.decode("utf-8", errors="replace"))
    return "no error message"


def _says_account_restricted(document: Json) -> bool:
    return any(_ERROR_463.search(text) for text in _error_texts(document))


def _says_rate_limited(document: Json) -> bool:
    if any(_RATE_OVERLIMIT in text for text in _error_texts(document)):
        return True
    exception = document.get("exception") if isinstance(document, dict) else None
    return isinstance(exception, dict) and exception.get("data") == _WHATSAPP_RATE_LIMIT_CODE


def _status_in_422(document: Json) -> str | None:
    # `waitUntilStatus` throws {error, session, status, expected} as the body; NestJS's own
    # 422s carry `statusCode` and no `status`, so a string `status` is WAHA's session status.
    if isinstance(document, dict) and isinstance(document.get("status"), str):
        return str(document["status"])
    return None


def _server_error(
    request: WahaRequest, document: Json, message: str, status: int, reason: str
) -> GatewayError:
    if _says_account_restricted(document):
        return AccountRestrictedError(message, status=status, reason=reason)
    if _says_rate_limited(document):
        return RateLimitedError(message, status=status, reason=reason)
    if request.may_message:
        return SendOutcomeUnknownError(message, status=status, reason=reason)
    return GatewayRequestFailedError(message, status=status, reason=reason)


def error_for_reply(request: WahaRequest, status: int, body: bytes) -> GatewayError | None:
    """Return the port error WAHA's answer means, or None when it is a success (2xx)."""
    if status in _HTTP_SUCCESS:
        return None
    document = _decode(body)
    reason = _reason(document, body)
    message = f"WAHA {request.operation} answered HTTP {status}: {reason}"
    if status >= _HTTP_SERVER_ERROR:
        return _server_error(request, document, message, status, reason)
    if status == _HTTP_TOO_MANY_REQUESTS:  # WAHA sends none, but a proxy in front of it may
        return RateLimitedError(message, status=status, reason=reason)
    # 401, 404, 422, other 4xx, and a redirect we do not follow: WAHA did not act on it.
    session_status = _status_in_422(document) if status == _HTTP_UNPROCESSABLE else None
    return GatewayRejectedError(
        message, status=status, reason=reason, session_status=session_status
    )


def error_for_lost_answer(request: WahaRequest, reason: str) -> GatewayError:
    """Return the port error for a request written to WAHA whose answer never came."""
    message = f"WAHA {request.operation} got no answer: {reason}"
    if request.may_message:
        return SendOutcomeUnknownError(message, reason=reason)
    return GatewayRequestFailedError(message, reason=reason)


def _unreadable(operation: str, what: str) -> GatewayRequestFailedError:
    return GatewayRequestFailedError(f"WAHA {operation} answered {what}", reason=what)


# Replies ------------------------------------------------------------------------------------


def _describe_session(me: Json) -> str:
    """Return the account limits WAHA reports in `me` (newer releases), or ""."""
    if not isinstance(me, dict):
        return ""
    notes = []
    timelock = me.get("reachoutTimelock")
    if isinstance(timelock, dict) and timelock.get("isActive") is True:
        notes.append("reachout timelock active")
    capping = me.get("messageCapping")
    if isinstance(capping, dict):
        capping_status = capping.get("cappingStatus")
        if isinstance(capping_status, str) and capping_status != "NONE":
            notes.append(f"message capping {capping_status}")
    return shorten("; ".join(notes))


def parse_session_status(session: str, body: bytes, *, observed_at: datetime) -> SessionStatusFact:
    """Return the status fact in a `GET /api/sessions/{session}` answer; unknown values kept."""
    document = _decode(body)
    if not isinstance(document, dict) or not isinstance(document.get("status"), str):
        raise _unreadable("sessions.get", "no session status")
    return SessionStatusFact(
        session=session,
        status=document["status"],
        observed_at=observed_at,
        source="poll",
        detail=_describe_session(document.get("me")),
    )


def _raw_from_serialized(value: Json) -> str | None:
    # `{fromMe}_{chatId}_{rawId}[_{participant}]`; chat ids carry no underscore.
    if not isinstance(value, str):
        return None
    parts = value.split("_")
    if len(parts) >= _SERIALIZED_ID_PARTS and parts[0] in {"true", "false"} and parts[2]:
        return parts[2]
    return None


def raw_message_id(answer: Json) -> str | None:
    """Return the raw message id in any engine's message, or None when it has none we know."""
    if not isinstance(answer, dict):
        return None
    key = answer.get("key")  # NOWEB: the Baileys message
    if isinstance(key, dict) and isinstance(key.get("id"), str) and key["id"]:
        return str(key["id"])
    identifier = answer.get("id")
    if isinstance(identifier, dict):  # WEBJS: whatsapp-web.js's MessageId
        if isinstance(identifier.get("id"), str) and identifier["id"]:
            return str(identifier["id"])
        return _raw_from_serialized(identifier.get("_serialized"))
    return _raw_from_serialized(identifier)  # WAMessage


def parse_send_receipt(chat: str, body: bytes) -> SendReceipt:
    """Return the receipt for a 2xx send answer; an odd body means an unknown id, not an error."""
    return SendReceipt(message_id=raw_message_id(_decode(body)), chat_id=chat)


def parse_check_exists(body: bytes) -> ChatId | None:
    """Return the chat id WAHA answered check-exists with, or None when the number has none."""
    document = _decode(body)
    if not isinstance(document, dict) or not isinstance(document.get("numberExists"), bool):
        raise _unreadable("contacts.check-exists", "no numberExists")
    if not document["numberExists"]:
        return None
    found = document.get("chatId")
    if not isinstance(found, str):
        raise _unreadable("contacts.check-exists", "numberExists without a chatId")
    try:
        return chat_id(found)
    except InvalidChatIdError:
        raise _unreadable(
            "contacts.check-exists", "a chatId not of the form <digits>@c.us"
        ) from None


def _seconds_to_datetime(value: Json) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def parse_own_messages(chat: str, body: bytes, *, since: datetime) -> list[SentMessage]:
    """Return our own messages in a chat-messages answer from `since` on, newest first.

    Items without a usable id or timestamp are skipped: a reconciliation can only use the rest.
    """
    document = _decode(body)
    if not isinstance(document, list):
        raise _unreadable("chats.messages", "no list of messages")
    found = []
    for item in document:
        # Filtered again here, so a WAHA that ignores a filter cannot mislead a reconciliation.
        if not isinstance(item, dict) or item.get("fromMe") is not True:
            continue
        message_id = raw_message_id(item)
        sent_at = _seconds_to_datetime(item.get("timestamp"))
        if message_id is None or sent_at is None or sent_at < since:
            continue
        text = item.get("body")
        found.append(
            SentMessage(message_id, chat, sent_at, text if isinstance(text, str) else None)
        )
    return sorted(found, key=lambda message: message.timestamp, reverse=True)


# Webhooks -----------------------------------------------------------------------------------


def webhook_signature(raw_body: bytes, key: bytes) -> str:
    """Return the lower-case hex HMAC-SHA512 of `raw_body` that WAHA sends in X-Webhook-Hmac."""
    return hmac.new(key, raw_body, hashlib.sha512).hexdigest()


def verify_webhook_signature(
    raw_body: bytes, signature: str | None, key: bytes | SecretStr
) -> bool:
    """Return whether `signature` (X-Webhook-Hmac) signs the raw body with `key`; constant-time."""
    secret = key.get_secret_value().encode("utf-8") if isinstance(key, SecretStr) else key
    if not secret:
        raise ValueError("an empty webhook HMAC key verifies nothing")
    if signature is None:
        return False
    expected = webhook_signature(raw_body, secret).encode("ascii")
    return hmac.compare_digest(expected, signature.strip().lower().encode("utf-8"))


@dataclass(frozen=True)
class _Envelope:
    session: str
    event_id: str | None
    event_time: datetime | None
    received_at: datetime
    document: Mapping[str, Json]
    payload: Mapping[str, Json]


def _milliseconds_to_datetime(value: Json) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return _seconds_to_datetime(value / 1000)


def _text(mapping: Mapping[str, Json], field: str, where: str) -> str:
    value = mapping.get(field)
    if not isinstance(value, str) or not value:
        raise MalformedWebhookError(f"{where} without {field}")
    return value


def _session_status(envelope: _Envelope) -> SessionStatusWebhook:
    fact = SessionStatusFact(
        session=envelope.session,
        status=_text(envelope.payload, "status", "session.status payload"),
        observed_at=envelope.received_at,
        source="webhook",
        detail=_describe_session(envelope.document.get("me")),
    )
    return SessionStatusWebhook(fact, envelope.event_id, envelope.event_time)


def _message_ids(payload: Mapping[str, Json], event: str) -> tuple[str, str, bool]:
    """Return the raw id, the chat and whether it is ours, for a message or ack payload."""
    from_me = payload.get("fromMe") is True
    serialized = payload.get("id")
    if isinstance(serialized, dict):
        serialized = serialized.get("_serialized")
    message_id = _raw_from_serialized(serialized)
    if message_id is None:
        raise MalformedWebhookError(f"{event} payload without a message id we can read")
    # Ours went *to* the chat; theirs came *from* it. The serialized id names the chat too.
    chat = payload.get("to" if from_me else "from")
    if not isinstance(chat, str) or not chat:
        chat = str(serialized).split("_")[1]
    return message_id, chat, from_me


def _message_ack(envelope: _Envelope) -> MessageAckWebhook:
    payload = envelope.payload
    message_id, chat, _ = _message_ids(payload, "message.ack")
    ack = payload.get("ack")
    if isinstance(ack, bool) or not isinstance(ack, int | float) or ack != int(ack):
        raise MalformedWebhookError("message.ack payload without an integer ack")
    ack_name = payload.get("ackName")
    fact = DeliveryFact(
        session=envelope.session,
        message_id=message_id,
        chat_id=chat,
        ack=int(ack),
        ack_name=ack_name if isinstance(ack_name, str) else ACK_NAMES.get(int(ack), str(ack)),
        observed_at=envelope.received_at,
    )
    return MessageAckWebhook(fact, envelope.event_id, envelope.event_time)


def _message_any(envelope: _Envelope) -> MessageAnyWebhook:
    message_id, chat, from_me = _message_ids(envelope.payload, "message.any")
    source = envelope.payload.get("source")
    return MessageAnyWebhook(
        session=envelope.session,
        message_id=message_id,
        chat_id=chat,
        from_me=from_me,
        source=source if isinstance(source, str) else None,
        observed_at=envelope.received_at,
        event_id=envelope.event_id,
        event_time=envelope.event_time,
    )


_PARSERS: Final[Mapping[str, Callable[[_Envelope], WahaWebhook]]] = {
    "session.status": _session_status,
    "message.ack": _message_ack,
    "message.any": _message_any,
}


def parse_webhook(raw_body: bytes, *, received_at: datetime) -> WahaWebhook:
    """Return what a WAHA webhook says, in the old envelope (no id) or the new one.

    Facts are stamped `received_at` (our clock); `event_time` is WAHA's envelope timestamp,
    when the envelope has one. Unknown events are IgnoredWebhook; a body that is not a JSON
    object, or a known event without what it must carry, raises MalformedWebhookError.
    """
    try:
        document = json.loads(raw_body)
    except ValueError:
        raise MalformedWebhookError("webhook body is not JSON") from None
    if not isinstance(document, dict):
        raise MalformedWebhookError("webhook body is not a JSON object")
    event = document.get("event")
    if not isinstance(event, str) or not event:
        raise MalformedWebhookError("webhook body names no event")
    event_id = document.get("id")
    event_id = event_id if isinstance(event_id, str) and event_id else None
    parser = _PARSERS.get(event)
    if parser is None:
        return IgnoredWebhook(event, event_id)
    payload = document.get("payload")
    if not isinstance(payload, dict):
        raise MalformedWebhookError(f"{event} without a payload object")
    envelope = _Envelope(
        session=_text(document, "session", f"{event} envelope"),
        event_id=event_id,
        event_time=_milliseconds_to_datetime(document.get("timestamp")),
        received_at=received_at,
        document=document,
        payload=payload,
    )
    return parser(envelope)
