"""Sans-I/O WAHA requests: what each port call asks of WAHA, described before any I/O."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal
from urllib.parse import quote

from app.ports import ImagePayload, MediaKind, MediaPayload

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
    transit may mean WhatsApp got a message (the sends), so the outcome is unknown;
    `needs_message_ids` when the route came with client-supplied ids (WAHA 2026.4.3), so an
    older WAHA answers it 404 `Cannot GET …`.
    """

    method: Literal["GET", "POST"]
    path: str
    operation: str
    query: tuple[tuple[str, str], ...] = ()
    body: Mapping[str, Any] | None = None
    may_message: bool = False
    needs_message_ids: bool = False


def _segment(value: str) -> str:
    return quote(value, safe="")


def session_status_request(session: str) -> WahaRequest:
    """Return the request for a session's status: GET /api/sessions/{session}."""
    return WahaRequest("GET", f"/api/sessions/{_segment(session)}", "sessions.get")


def send_text_request(
    session: str, chat: str, text: str, *, message_id: str | None = None
) -> WahaRequest:
    """Return the request that sends a text message: POST /api/sendText.

    `message_id` goes as `id`, the raw id WAHA 2026.4.3+ gives the message (older ones
    ignore it).
    """
    body = {"session": session, "chatId": chat, "text": text}
    if message_id is not None:
        body["id"] = message_id
    return WahaRequest("POST", "/api/sendText", "sendText", body=body, may_message=True)


@dataclass(frozen=True)
class _MediaEndpoint:
    path: str
    operation: str
    captioned: bool  # OAS gives the request a `caption` (sendVoice has none)
    # OAS requires `convert` (ffmpeg into WhatsApp's format) unless None; it is asked for only
    # when the file is not already in the format named here.
    native_mimetype: str | None = None


_MEDIA_ENDPOINTS: Final = {
    MediaKind.IMAGE: _MediaEndpoint("/api/sendImage", "sendImage", captioned=True),
    MediaKind.DOCUMENT: _MediaEndpoint("/api/sendFile", "sendFile", captioned=True),
    MediaKind.VIDEO: _MediaEndpoint(
        "/api/sendVideo", "sendVideo", captioned=True, native_mimetype="video/mp4"
    ),
    MediaKind.VOICE: _MediaEndpoint(
        "/api/sendVoice", "sendVoice", captioned=False, native_mimetype="audio/ogg"
    ),
}


def send_media_request(session: str, chat: str, media: MediaPayload, caption: str) -> WahaRequest:
    """Return the request that sends a media file inline as base64, by its kind.

    sendImage, sendFile, sendVideo or sendVoice. None has an `id` in OAS 2026.7.1 (and WAHA in
    strict mode refuses unknown fields), so none is sent. A voice note has no caption: a
    non-empty one raises ValueError rather than being dropped.
    """
    endpoint = _MEDIA_ENDPOINTS[media.kind]
    body: dict[str, Any] = {
        "session": session,
        "chatId": chat,
        "file": {
            "mimetype": media.mimetype,
            "filename": media.filename,
            "data": base64.b64encode(media.data).decode("ascii"),
        },
    }
    if endpoint.captioned:
        body["caption"] = caption
    elif caption:
        raise ValueError(f"a {media.kind} message has no caption in WAHA: send the text apart")
    if endpoint.native_mimetype is not None:
        body["convert"] = not media.mimetype.startswith(endpoint.native_mimetype)
    return WahaRequest("POST", endpoint.path, endpoint.operation, body=body, may_message=True)


def send_image_request(session: str, chat: str, image: ImagePayload, caption: str) -> WahaRequest:
    """Return the request that sends an image with its bytes inline: POST /api/sendImage."""
    as_image = MediaPayload(image.data, image.mimetype, image.filename, MediaKind.IMAGE)
    return send_media_request(session, chat, as_image, caption)


def new_message_id_request(session: str) -> WahaRequest:
    """Return the request for a fresh raw message id: GET /api/{session}/new-message-id."""
    path = f"/api/{_segment(session)}/new-message-id"
    return WahaRequest("GET", path, "new-message-id", needs_message_ids=True)


def find_message_request(session: str, message_id: str) -> WahaRequest:
    """Return the request for a message by raw id: GET /api/{s}/chats/all/messages/{id}.

    Chat `all` with the raw id is how NOWEB and GOWS look a message up (waha-api.md §8).
    """
    path = f"/api/{_segment(session)}/chats/all/messages/{_segment(message_id)}"
    query = (("downloadMedia", "false"),)
    return WahaRequest("GET", path, "chats.message", query=query, needs_message_ids=True)


def phone_of_lid_request(session: str, lid: str) -> WahaRequest:
    """Return the request for the phone behind a linked id: GET /api/{session}/lids/{lid}."""
    return WahaRequest("GET", f"/api/{_segment(session)}/lids/{_segment(lid)}", "lids.get")


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
