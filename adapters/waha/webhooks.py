"""Sans-I/O WAHA webhooks: verify the HMAC over the raw body, then read what the event says.

Whatever the body, parse_webhook returns a webhook or raises MalformedWebhookError: nothing
else, since the body comes from the network.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from pydantic import SecretStr

from adapters.waha.replies import (
    Json,
    account_limits,
    describe_session,
    split_serialized_id,
    usable_text,
)
from app.ports import DeliveryFact, InboundMessageFact, SessionStatusFact

WEBHOOK_HMAC_HEADER: Final = "X-Webhook-Hmac"
ACK_NAMES: Final[Mapping[int, str]] = {
    -1: "ERROR",
    0: "PENDING",
    1: "SERVER",
    2: "DEVICE",
    3: "READ",
    4: "PLAYED",
}
_MILLISECONDS: Final = 1000
# A message's text may hold any character but these: lone surrogates cannot be stored as UTF-8,
# and NUL not in PostgreSQL text. Each becomes U+FFFD, so what came is kept, only readable.
_UNSTORABLE: Final = re.compile("[\x00\ud800-\udfff]")


class MalformedWebhookError(ValueError):
    """A webhook body that is not a JSON object, or lacks what its event must carry."""


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
class MessageWebhook:
    """A `message` webhook: someone wrote to the account (never one of our own messages)."""

    fact: InboundMessageFact
    event_id: str | None
    event_time: datetime | None


@dataclass(frozen=True)
class IgnoredWebhook:
    """A webhook event this application does not act on."""

    event: str
    event_id: str | None


WahaWebhook = (
    SessionStatusWebhook | MessageAckWebhook | MessageAnyWebhook | MessageWebhook | IgnoredWebhook
)


# Signatures ---------------------------------------------------------------------------------


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


# Events -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Envelope:
    event: str
    session: str
    event_id: str | None
    event_time: datetime | None
    received_at: datetime
    document: Mapping[str, Json]
    payload: Mapping[str, Json]


def _event_time(document: Mapping[str, Json]) -> datetime | None:
    """Return the envelope's time (milliseconds); None in the old envelope, which has none."""
    value = document.get("timestamp")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedWebhookError("webhook timestamp is not a number of milliseconds")
    try:
        # Whole milliseconds divide exactly; a float may be NaN or ±inf, which no time is.
        seconds = value / _MILLISECONDS if math.isfinite(value) else math.nan
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise MalformedWebhookError("webhook timestamp is outside any calendar") from None


def _text(mapping: Mapping[str, Json], field: str, where: str) -> str:
    value = usable_text(mapping.get(field))
    if value is None:
        raise MalformedWebhookError(f"{where} without a usable {field}")
    return value


def _session_status(envelope: _Envelope) -> WahaWebhook:
    fact = SessionStatusFact(
        session=envelope.session,
        status=_text(envelope.payload, "status", "session.status payload"),
        observed_at=envelope.received_at,
        source="webhook",
        detail=describe_session(envelope.document.get("me")),
        limits=account_limits(envelope.document.get("me")),
    )
    return SessionStatusWebhook(fact, envelope.event_id, envelope.event_time)


def _message_ids(envelope: _Envelope) -> tuple[str, str, bool]:
    """Return the raw id, the chat and whether it is ours, for a message or ack payload."""
    payload = envelope.payload
    from_me = payload.get("fromMe") is True
    serialized = payload.get("id")
    if isinstance(serialized, dict):
        serialized = serialized.get("_serialized")
    split = split_serialized_id(serialized)
    if split is None:
        raise MalformedWebhookError(f"{envelope.event} payload without a message id we can read")
    named_chat, message_id = split
    # Ours went *to* the chat; theirs came *from* it. The serialized id names the chat too.
    chat = usable_text(payload.get("to" if from_me else "from")) or usable_text(named_chat)
    if chat is None:
        raise MalformedWebhookError(f"{envelope.event} payload without a chat we can read")
    return message_id, chat, from_me


def _integer_ack(value: Json) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():  # False for NaN and ±inf
        return int(value)
    raise MalformedWebhookError("message.ack payload without an integer ack")


def _message_ack(envelope: _Envelope) -> WahaWebhook:
    message_id, chat, _ = _message_ids(envelope)
    ack = _integer_ack(envelope.payload.get("ack"))
    if ack not in ACK_NAMES:
        # Well-formed, but no state we know: a later WAHA's, perhaps. Nothing to record.
        return IgnoredWebhook(envelope.event, envelope.event_id)
    fact = DeliveryFact(
        session=envelope.session,
        message_id=message_id,
        chat_id=chat,
        ack=ack,
        ack_name=usable_text(envelope.payload.get("ackName")) or ACK_NAMES[ack],
        observed_at=envelope.received_at,
    )
    return MessageAckWebhook(fact, envelope.event_id, envelope.event_time)


def _message_any(envelope: _Envelope) -> WahaWebhook:
    message_id, chat, from_me = _message_ids(envelope)
    return MessageAnyWebhook(
        session=envelope.session,
        message_id=message_id,
        chat_id=chat,
        from_me=from_me,
        source=usable_text(envelope.payload.get("source")),
        observed_at=envelope.received_at,
        event_id=envelope.event_id,
        event_time=envelope.event_time,
    )


def _readable_body(value: Json) -> str:
    # A media message without a caption has no text: that is "", not a malformed webhook.
    return _UNSTORABLE.sub("\ufffd", value) if isinstance(value, str) else ""


def _message(envelope: _Envelope) -> WahaWebhook:
    message_id, chat, from_me = _message_ids(envelope)
    if from_me:
        # `message` is for what others send; one of ours here is not an inbound message.
        return IgnoredWebhook(envelope.event, envelope.event_id)
    fact = InboundMessageFact(
        session=envelope.session,
        chat_id=chat,
        body=_readable_body(envelope.payload.get("body")),
        message_id=message_id,
        observed_at=envelope.received_at,
    )
    return MessageWebhook(fact, envelope.event_id, envelope.event_time)


_PARSERS: Final[Mapping[str, Callable[[_Envelope], WahaWebhook]]] = {
    "session.status": _session_status,
    "message.ack": _message_ack,
    "message.any": _message_any,
    "message": _message,
}


def _load(raw_body: bytes) -> dict[str, Json]:
    try:
        document = json.loads(raw_body)
    except ValueError:  # also invalid UTF-8, and integers too long to read
        raise MalformedWebhookError("webhook body is not JSON") from None
    except RecursionError:
        raise MalformedWebhookError("webhook body nests too deeply") from None
    if not isinstance(document, dict):
        raise MalformedWebhookError("webhook body is not a JSON object")
    return document


def parse_webhook(raw_body: bytes, *, received_at: datetime) -> WahaWebhook:
    """Return what a WAHA webhook says, in the old envelope (no id) or the new one.

    Facts are stamped `received_at` (our clock); `event_time` is WAHA's envelope timestamp,
    when the envelope has one. Unknown events, and acks of a value WAHA does not define, are
    IgnoredWebhook; any other body that is not a JSON object, or a known event without what it
    must carry, raises MalformedWebhookError. Nothing else is raised, whatever the body.
    """
    document = _load(raw_body)
    event = usable_text(document.get("event"))
    if event is None:
        raise MalformedWebhookError("webhook body names no event")
    event_id = usable_text(document.get("id"))
    parser = _PARSERS.get(event)
    if parser is None:
        return IgnoredWebhook(event, event_id)
    payload = document.get("payload")
    if not isinstance(payload, dict):
        raise MalformedWebhookError(f"{event} without a payload object")
    envelope = _Envelope(
        event=event,
        session=_text(document, "session", f"{event} envelope"),
        event_id=event_id,
        event_time=_event_time(document),
        received_at=received_at,
        document=document,
        payload=payload,
    )
    return parser(envelope)
