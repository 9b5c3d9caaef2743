"""Sans-I/O WAHA replies: what an answer means, as a port value or as the port error it is."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any, Final

from adapters.waha.requests import WahaRequest, first_second_to_reconcile
from app.ports import (
    UNTIL_FURTHER_NOTICE,
    AccountLimits,
    AccountRestrictedError,
    GatewayError,
    GatewayRejectedError,
    GatewayRequestFailedError,
    MessageIdsUnsupportedError,
    RateLimitedError,
    SendOutcomeUnknownError,
    SendReceipt,
    SentMessage,
    SessionStatusFact,
)
from domain.contacts import ChatId, InvalidChatIdError, chat_id

REASON_MAX_CHARS: Final = 200

# WAHA's 500 echoes the request, media included; long unbroken runs of these characters are
# base64 (or a token), never words, so they are cut out of every reason we build.
_BASE64_RUN: Final = re.compile(r"[A-Za-z0-9+/=_-]{32,}")
# Control characters cannot be in a name, and lone surrogates cannot be stored as UTF-8.
_UNUSABLE_CHARACTERS: Final = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_ERROR_463: Final = re.compile(r"\b463\b")
_RATE_OVERLIMIT: Final = "rate-overlimit"
# NestJS's 404 for a route it does not have: `Cannot GET /api/…` (recorded from 2024.10.8).
_NO_SUCH_ROUTE: Final = re.compile(r"^Cannot [A-Z]+ /")
# A route's own 404 for a message it does not hold. WAHA's text is undocumented ("Message not
# found" is NestJS's shape with its chats controller's words), so a text that starts with
# "Message" and says "not found" counts; a session's 404 ("Session 'message-bot' not found",
# "We didn't find a session…") must not, or a lost send would look never sent.
_MESSAGE_NOT_FOUND: Final = re.compile(r"^message\b.*\bnot found\b", re.IGNORECASE)
_WHATSAPP_RATE_LIMIT_CODE: Final = 429
_SERIALIZED_ID_PARTS: Final = 3
_HTTP_SUCCESS: Final = range(200, 300)
_HTTP_NOT_FOUND: Final = 404
_HTTP_UNPROCESSABLE: Final = 422
_HTTP_TOO_MANY_REQUESTS: Final = 429
_HTTP_SERVER_ERROR: Final = 500

# Decoded JSON: every use narrows it with isinstance, since WAHA's shapes vary by engine.
Json = Any


def decode(body: bytes) -> Json:
    """Return `body` as JSON, or None when it is not JSON (or nests too deeply to read)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def usable_text(value: Json) -> str | None:
    """Return `value` if it is a non-empty string fit to name something and to store, or None."""
    if isinstance(value, str) and value and _UNUSABLE_CHARACTERS.search(value) is None:
        return value
    return None


def shorten(text: str) -> str:
    """Return `text` fit for logs and error text: one line, no base64, at most 200 chars."""
    flat = " ".join(_BASE64_RUN.sub("[data]", text).split())
    if len(flat) <= REASON_MAX_CHARS:
        return flat
    return flat[: REASON_MAX_CHARS - 1] + "…"


# Failures -----------------------------------------------------------------------------------


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
        named = (
            [item for item in expected if isinstance(item, str)]
            if isinstance(expected, list)
            else []
        )
        texts.append(f"(status {document['status']}, expected {', '.join(named) or '?'})")
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


def _says_no_such_route(document: Json) -> bool:
    message = document.get("message") if isinstance(document, dict) else None
    return isinstance(message, str) and _NO_SUCH_ROUTE.match(message) is not None


def is_message_not_found(status: int, body: bytes) -> bool:
    """Return whether a message-by-id answer says WAHA holds no such message (a real 404).

    Not an older WAHA's `Cannot GET …` (it has no such route), nor a session's 404.
    """
    if status != _HTTP_NOT_FOUND:
        return False
    document = decode(body)
    message = document.get("message") if isinstance(document, dict) else None
    return (
        isinstance(message, str)
        and not _says_no_such_route(document)
        and _MESSAGE_NOT_FOUND.match(message) is not None
    )


def error_for_reply(request: WahaRequest, status: int, body: bytes) -> GatewayError | None:
    """Return the port error WAHA's answer means, or None when it is a success (2xx)."""
    if status in _HTTP_SUCCESS:
        return None
    document = decode(body)
    reason = _reason(document, body)
    message = f"WAHA {request.operation} answered HTTP {status}: {reason}"
    if status == _HTTP_NOT_FOUND and request.needs_message_ids and _says_no_such_route(document):
        return MessageIdsUnsupportedError(message, status=status, reason=reason)
    if status >= _HTTP_SERVER_ERROR:
        return _server_error(request, document, message, status, reason)
    if status == _HTTP_TOO_MANY_REQUESTS:  # WAHA sends none, but a proxy in front of it may
        return RateLimitedError(message, status=status, reason=reason)
    # 401, 403, 404, 413, 422, other 4xx, and a redirect we do not follow: WAHA did not act on
    # it. The status always goes with the error: the runner tells systemic refusals by it.
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


# Answers ------------------------------------------------------------------------------------


def describe_session(me: Json) -> str:
    """Return the account limits WAHA reports in `me` (newer releases), or ""."""
    if not isinstance(me, dict):
        return ""
    notes = []
    timelock = me.get("reachoutTimelock")
    if isinstance(timelock, dict) and timelock.get("isActive") is True:
        notes.append("reachout timelock active")
    capping = me.get("messageCapping")
    if isinstance(capping, dict):
        capping_status = usable_text(capping.get("cappingStatus"))
        if capping_status is not None and capping_status != "NONE":
            notes.append(f"message capping {capping_status}")
    return shorten("; ".join(notes))


def _limit_end(value: Json) -> datetime:
    # A limit in force without a readable end holds until WAHA says otherwise.
    end = seconds_to_datetime(value)
    return UNTIL_FURTHER_NOTICE if end is None else end


def account_limits(me: Json) -> AccountLimits | None:
    """Return the account limits in `me`, or None when it reports none (older releases).

    Never raises: `me` may come from a webhook, and a limit it cannot read is not in force.
    """
    if not isinstance(me, dict):
        return None
    timelock, capping = me.get("reachoutTimelock"), me.get("messageCapping")
    if not isinstance(timelock, dict) and not isinstance(capping, dict):
        return None
    locked_until = capped_until = None
    if isinstance(timelock, dict) and timelock.get("isActive") is True:
        locked_until = _limit_end(timelock.get("timeEnforcementEnds"))
    if isinstance(capping, dict) and capping.get("cappingStatus") == "CAPPED":
        capped_until = _limit_end(capping.get("cycleEnd"))
    return AccountLimits(reachout_timelock_until=locked_until, capped_until=capped_until)


def parse_session_status(session: str, body: bytes, *, observed_at: datetime) -> SessionStatusFact:
    """Return the status fact in a `GET /api/sessions/{session}` answer; unknown values kept."""
    document = decode(body)
    status = usable_text(document.get("status")) if isinstance(document, dict) else None
    if status is None:
        raise _unreadable("sessions.get", "no session status")
    return SessionStatusFact(
        session=session,
        status=status,
        observed_at=observed_at,
        source="poll",
        detail=describe_session(document.get("me")),
        limits=account_limits(document.get("me")),
    )


def parse_new_message_id(body: bytes) -> str:
    """Return the id in a `GET /api/{session}/new-message-id` answer (`{"id": …}`)."""
    document = decode(body)
    found = usable_text(document.get("id")) if isinstance(document, dict) else None
    # It goes into a URL path and a JSON body later: no separators, no spaces.
    if found is None or any(character in found for character in "/_ "):
        raise _unreadable("new-message-id", "no message id we can use")
    return found


def split_serialized_id(value: Json) -> tuple[str, str] | None:
    """Return the chat and the raw id of `{fromMe}_{chatId}_{rawId}[_{participant}]`, or None.

    Chat ids carry no underscore; the chat part may be empty, the raw id may not.
    """
    if not isinstance(value, str):
        return None
    parts = value.split("_")
    if len(parts) < _SERIALIZED_ID_PARTS or parts[0] not in {"true", "false"}:
        return None
    raw = usable_text(parts[2])
    return None if raw is None else (parts[1], raw)


def _raw_from_serialized(value: Json) -> str | None:
    split = split_serialized_id(value)
    return None if split is None else split[1]


def raw_message_id(answer: Json) -> str | None:
    """Return the raw message id in any engine's message, or None when it has none we know."""
    if not isinstance(answer, dict):
        return None
    key = answer.get("key")  # NOWEB: the Baileys message
    if isinstance(key, dict) and usable_text(key.get("id")) is not None:
        return str(key["id"])
    identifier = answer.get("id")
    if isinstance(identifier, dict):  # WEBJS: whatsapp-web.js's MessageId
        if usable_text(identifier.get("id")) is not None:
            return str(identifier["id"])
        return _raw_from_serialized(identifier.get("_serialized"))
    return _raw_from_serialized(identifier)  # WAMessage


def parse_send_receipt(chat: str, body: bytes) -> SendReceipt:
    """Return the receipt for a 2xx send answer; an odd body means an unknown id, not an error."""
    return SendReceipt(message_id=raw_message_id(decode(body)), chat_id=chat)


def parse_check_exists(body: bytes) -> ChatId | None:
    """Return the chat id WAHA answered check-exists with, or None when the number has none."""
    document = decode(body)
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


def parse_phone_of_lid(body: bytes) -> ChatId | None:
    """Return the `pn` WAHA answered a linked id with, None when it knows no phone for it.

    WAHA answers `{"lid", "pn"}` with `pn` null for a linked id it cannot map (its NOWEB,
    GOWS and WEBJS engines all do).
    """
    document = decode(body)
    if not isinstance(document, dict):
        raise _unreadable("lids.get", "no object")
    found = document.get("pn")
    if found is None:
        return None
    if not isinstance(found, str):
        raise _unreadable("lids.get", "a pn that is no text")
    try:
        return chat_id(found)
    except InvalidChatIdError:
        raise _unreadable("lids.get", "a pn not of the form <digits>@c.us") from None


def seconds_to_datetime(value: Json) -> datetime | None:
    """Return a unix time in seconds as an aware datetime, or None when it is no such time."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def parse_found_message(body: bytes) -> SentMessage | None:
    """Return the message in a message-by-id answer (WAMessage): ours, or None if not ours."""
    document = decode(body)
    if not isinstance(document, dict) or not isinstance(document.get("fromMe"), bool):
        raise _unreadable("chats.message", "no message")
    if not document["fromMe"]:
        return None  # someone else's message under that id: not one we sent
    message_id = raw_message_id(document)
    sent_at = seconds_to_datetime(document.get("timestamp"))
    split = split_serialized_id(document.get("id"))
    chat = usable_text(document.get("to")) or (None if split is None else usable_text(split[0]))
    if message_id is None or sent_at is None or chat is None:
        raise _unreadable("chats.message", "a message without an id, a time or a chat")
    text = document.get("body")
    return SentMessage(message_id, chat, sent_at, text if isinstance(text, str) else None)


def parse_own_messages(chat: str, body: bytes, *, since: datetime) -> list[SentMessage]:
    """Return our own messages in a chat-messages answer from `since` on, newest first.

    WAHA stamps messages in whole seconds, so "from `since` on" is from its second, less the
    skew allowance (see `first_second_to_reconcile`). Items without a usable id or timestamp
    are skipped: a reconciliation can only use the rest.
    """
    document = decode(body)
    if not isinstance(document, list):
        raise _unreadable("chats.messages", "no list of messages")
    earliest = datetime.fromtimestamp(first_second_to_reconcile(since), UTC)
    found = []
    for item in document:
        # Filtered again here, so a WAHA that ignores a filter cannot mislead a reconciliation.
        if not isinstance(item, dict) or item.get("fromMe") is not True:
            continue
        message_id = raw_message_id(item)
        sent_at = seconds_to_datetime(item.get("timestamp"))
        if message_id is None or sent_at is None or sent_at < earliest:
            continue
        text = item.get("body")
        found.append(
            SentMessage(message_id, chat, sent_at, text if isinstance(text, str) else None)
        )
    return sorted(found, key=lambda message: message.timestamp, reverse=True)
