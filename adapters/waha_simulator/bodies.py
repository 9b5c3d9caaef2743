"""The JSON bodies a real WAHA answers with, built to the shapes recorded from WAHA 2024.10.8."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from typing import Any, Final

JSONObject = dict[str, Any]

STOPPED: Final = "STOPPED"
STARTING: Final = "STARTING"
SCAN_QR_CODE: Final = "SCAN_QR_CODE"
WORKING: Final = "WORKING"
FAILED: Final = "FAILED"

ENGINE: Final = "NOWEB"
TIER: Final = "CORE"
# NOWEB needs no browser, but WAHA still reports the image's one: keep the recorded string type.
BROWSER: Final = "/usr/bin/chromium"

NOT_WORKING_ERROR: Final = (
    "Session status is not as expected. Try again later or restart the session"
)
SESSION_NOT_FOUND: Final = "Session not found"
CORE_ONLY_DEFAULT: Final = (
    "WAHA Core support only 'default' session. If you want to run more then one WhatsApp "
    "account - please get WAHA PLUS version. Check this out: https://waha.devlike.pro/"
)
UNAUTHORIZED: Final[JSONObject] = {"message": "Unauthorized", "statusCode": 401}
ERROR_463: Final = "2 UNKNOWN: server returned error 463"
RATE_OVERLIMIT: Final = "rate-overlimit"

_REASONS: Final = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
}
ACK_NAMES: Final = {-1: "ERROR", 0: "PENDING", 1: "SERVER", 2: "DEVICE", 3: "READ", 4: "PLAYED"}
_CROCKFORD: Final = "0123456789abcdefghjkmnpqrstvwxyz"


def nest_error(status: int, message: str | list[str]) -> JSONObject:
    """Return NestJS's standard HttpException body."""
    return {"statusCode": status, "message": message, "error": _REASONS[status]}


def no_session_to_use(session: str) -> JSONObject:
    """Return the 404 WAHA answers when a send names a stopped or unknown session."""
    return nest_error(
        404,
        f"We didn't find a session with name '{session}'.\n"
        f"Please start it first by using POST /api/sessions/{session}/start request",
    )


def not_working(session: str, status: str, expected: str = WORKING) -> JSONObject:
    """Return the 422 `waitUntilStatus` throws as the body itself: note, no `statusCode`."""
    return {
        "error": NOT_WORKING_ERROR,
        "session": session,
        "status": status,
        "expected": [expected],
    }


def route_not_found(method: str, path: str) -> JSONObject:
    """Return NestJS's answer for a route it does not have (also a WAHA older than the route).

    Distinct from a route's own 404s (`Message not found`, `Session not found`): the message
    starts `Cannot <METHOD> `, which is how a client tells an old WAHA from a missing thing.
    """
    return {"message": f"Cannot {method} {path}", "error": "Not Found", "statusCode": 404}


# WAHA's text for an unknown message id is undocumented; this is NestJS's NotFoundException
# shape with the text WAHA's chats controller uses, `{"statusCode":404,"message":"Message not
# found","error":"Not Found"}`: a client must not branch on more than "404, not `Cannot GET`".
MESSAGE_NOT_FOUND: Final = "Message not found"


def version_info(version: str) -> JSONObject:
    """Return the body of `GET /api/version`, also the webhook `environment` core."""
    return {"version": version, "engine": ENGINE, "tier": TIER, "browser": BROWSER}


def environment(version: str) -> JSONObject:
    """Return a webhook envelope's `environment`, as OAS 2026.7.1 lists it."""
    return {**version_info(version), "platform": "linux/x64", "worker": {"id": "simulator"}}


def server_error(
    exception: JSONObject, request: JSONObject, version: str, now: datetime
) -> JSONObject:
    """Return the 500 body of WAHA's AllExceptionsFilter, which echoes the request."""
    return {
        "statusCode": 500,
        "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "exception": exception,
        "request": request,
        "version": version_info(version),
    }


def plain_exception(message: str) -> JSONObject:
    """Return a serialized JavaScript Error, as `serialize-error` writes it."""
    return {"message": message, "name": "Error", "stack": f"Error: {message}\n    at simulator"}


def exception_463() -> JSONObject:
    """Return the gRPC error GOWS raises under WhatsApp's reachout timelock."""
    return {
        **plain_exception(ERROR_463),
        "code": 2,
        "details": "server returned error 463",
        "metadata": {},
    }


def exception_rate_overlimit() -> JSONObject:
    """Return the Boom error Baileys raises when WhatsApp throttles the account."""
    return {
        **plain_exception(RATE_OVERLIMIT),
        "data": 429,
        "isBoom": True,
        "isServer": False,
        "output": {
            "statusCode": 429,
            "payload": {"statusCode": 429, "error": "Too Many Requests", "message": RATE_OVERLIMIT},
            "headers": {},
        },
    }


def new_message_id() -> str:
    """Return a raw message id in the WhatsApp Web style NOWEB uses (`3EB0…`)."""
    return "3EB0" + secrets.token_hex(9).upper()


def phone_message_id() -> str:
    """Return a raw message id in the style a phone gives the messages it sends (32 hex)."""
    return secrets.token_hex(16).upper()


def new_event_id(now: datetime) -> str:
    """Return `evt_` and a lower-case ULID: 48 bits of milliseconds, 80 random bits."""
    value = (epoch_ms(now) << 80) | int.from_bytes(secrets.token_bytes(10), "big")
    chars = [_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5)]
    return "evt_" + "".join(chars)


def epoch_ms(moment: datetime) -> int:
    """Return `moment` as unix milliseconds."""
    return int(moment.timestamp() * 1000)


def to_jid(chat_id: str) -> str:
    """Return the Baileys jid of a chat: users are `@s.whatsapp.net` inside the engine."""
    user, _, server = chat_id.partition("@")
    return f"{user}@s.whatsapp.net" if server == "c.us" else chat_id


def noweb_sent(chat_id: str, message_id: str, message: JSONObject, sent_at: datetime) -> JSONObject:
    """Return NOWEB's send answer: the raw Baileys message, not a WAMessage (WAHA #760)."""
    return {
        "key": {"remoteJid": to_jid(chat_id), "fromMe": True, "id": message_id},
        "message": message,
        "messageTimestamp": str(int(sent_at.timestamp())),
        "status": "PENDING",
    }


def noweb_text(text: str) -> JSONObject:
    """Return the Baileys `message` of a text."""
    return {"extendedTextMessage": {"text": text}}


def noweb_media(
    kind: str,
    mimetype: str,
    media: bytes,
    sha256: bytes,
    *,
    caption: str | None = None,
    filename: str | None = None,
    as_note: bool = False,
) -> JSONObject:
    """Return the Baileys `message` of a media send: image, document, video or voice."""
    content: JSONObject = {
        "mimetype": mimetype,
        "fileSha256": base64.b64encode(sha256).decode(),
        "fileLength": str(len(media)),
    }
    if kind == "document" and filename is not None:
        content["fileName"] = filename
    if kind == "voice":
        content["ptt"] = True  # a voice note, not an audio file
    if caption is not None:
        content["caption"] = caption
    field = {
        "image": "imageMessage",
        "document": "documentMessage",
        "video": "ptvMessage" if as_note else "videoMessage",
        "voice": "audioMessage",
    }[kind]
    return {field: content}


def message_ack(chat_id: str, message_id: str, ack: int) -> JSONObject:
    """Return a `message.ack` payload (WAMessageAckBody) for a message we sent."""
    key = {"remoteJid": to_jid(chat_id), "fromMe": True, "id": message_id}
    return {
        "id": f"true_{chat_id}_{message_id}",
        "from": chat_id,
        "to": chat_id,
        "participant": None,
        "fromMe": True,
        "ack": ack,
        "ackName": ACK_NAMES[ack],
        "_data": {"key": key, "update": {"status": ack + 1}},
    }
