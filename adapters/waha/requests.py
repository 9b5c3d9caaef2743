"""Sans-I/O WAHA requests: what each port call asks of WAHA, described before any I/O."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal
from urllib.parse import quote

from app.ports import ImagePayload

RECENT_MESSAGES_LIMIT: Final = 100
# WAHA stamps messages in whole seconds (truncated), and its clock and ours may drift apart a
# little: a reconciliation looks this far before the second its intent was recorded in.
RECONCILIATION_SKEW_SECONDS: Final = 2

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND: Final = timedelta(seconds=1)


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
    body: Mapping[str, Any] | None = None
    may_message: bool = False


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


def first_second_to_reconcile(since: datetime) -> int:
    """Return the earliest WAHA message stamp (unix seconds) a lookup from `since` keeps.

    WAHA truncates a message's time to its second, so a message sent 5 ms after an intent at
    12:00:00.7 is stamped 12:00:00: compare whole seconds, with RECONCILIATION_SKEW_SECONDS
    to spare. `since` must be timezone-aware.
    """
    return (since - _EPOCH) // _SECOND - RECONCILIATION_SKEW_SECONDS


def recent_own_messages_request(
    session: str, chat: str, since: datetime, *, limit: int = RECENT_MESSAGES_LIMIT
) -> WahaRequest:
    """Return the request listing our own messages in a chat since `since`, newest first."""
    query = (
        ("limit", str(limit)),
        ("filter.fromMe", "true"),
        ("filter.timestamp.gte", str(first_second_to_reconcile(since))),  # inclusive
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
