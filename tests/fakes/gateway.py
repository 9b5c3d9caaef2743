"""FakeWahaGateway: scripted session statuses and send results; records every send.

tests/contract/test_gateway_contract.py holds it to what AiohttpWahaGateway does against the
WAHA simulator, so the unit tests that trust it may.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from adapters.waha.wire import RECENT_MESSAGES_LIMIT, first_second_to_reconcile
from app.ports import (
    AccountLimits,
    GatewayError,
    GatewayRejectedError,
    ImagePayload,
    MediaKind,
    MediaPayload,
    MessageIdsUnsupportedError,
    SendReceipt,
    SentMessage,
    SessionStatusFact,
)
from domain.contacts import ChatId
from domain.session import SessionName
from tests.fakes.system import ManualClock

WORKING = "WORKING"
STOPPED = "STOPPED"
_MEDIA_OPERATIONS = {
    MediaKind.IMAGE: "sendImage",
    MediaKind.DOCUMENT: "sendFile",
    MediaKind.VIDEO: "sendVideo",
    MediaKind.VOICE: "sendVoice",
}


@dataclass
class Sent:
    """One message the fake accepted."""

    session: str
    chat_id: str
    text: str
    message_id: str
    at: datetime
    image: MediaPayload | None = None  # the media sent, of any kind; None for a text


@dataclass
class FakeWahaGateway:
    """A WAHA double: statuses come from a script, then `status`; sends succeed unless scripted.

    Like WAHA, everything but the status poll needs the session WORKING (`status`, not the
    script): a STOPPED or unknown session is a 404, any other status a 422 naming it. Like
    WAHA, messages are listed with whole-second timestamps. Like WAHA 2026.4.3+, sendText
    takes the client's own message id; `message_ids_supported = False` answers as an older
    WAHA does (no new-message-id, no message by id, an id given to sendText ignored).
    """

    clock: ManualClock
    status: str = WORKING
    statuses: deque[str | GatewayError] = field(default_factory=deque)
    send_results: deque[GatewayError | Callable[[], None] | None] = field(default_factory=deque)
    not_on_whatsapp: set[str] = field(default_factory=set)
    sent: list[Sent] = field(default_factory=list)
    status_checks: int = 0
    courtesy: list[tuple[str, str]] = field(default_factory=list)
    lookup_error: GatewayError | None = None
    before_status: Callable[[int], None] | None = None
    unknown_sessions: set[str] = field(default_factory=set)
    message_ids_supported: bool = True
    ids_given: int = 0
    limits: AccountLimits | None = None  # what WAHA reports in `me`; None: nothing
    # Per session: linked id -> `<digits>@c.us`.
    lids: dict[str, dict[str, str]] = field(default_factory=dict)
    lid_error: GatewayError | None = None

    async def session_status(self, session: SessionName) -> SessionStatusFact:
        self.status_checks += 1
        if self.before_status is not None:
            self.before_status(self.status_checks)
        if session in self.unknown_sessions:
            raise _refused("sessions.get", 404, "Session not found")
        scripted = self.statuses.popleft() if self.statuses else self.status
        if isinstance(scripted, GatewayError):
            raise scripted
        return SessionStatusFact(session, scripted, self.clock.now(), "poll", limits=self.limits)

    async def check_exists(self, session: SessionName, phone: str) -> ChatId | None:
        # WAHA is asked with the digits alone, and answers with its own chat id for them.
        digits = _digits(phone)
        if not digits:
            raise ValueError("a phone number to check needs digits")
        self._require_working("contacts.check-exists", session)
        if digits in {_digits(absent) for absent in self.not_on_whatsapp}:
            return None
        return ChatId(f"{digits}@c.us")

    async def phone_of_lid(self, session: SessionName, lid: str) -> ChatId | None:
        # WAHA takes the linked id with or without its `@lid`, and answers pn null if unknown.
        self._require_working("lids.get", session)
        if self.lid_error is not None:
            raise self.lid_error
        found = self.lids.get(session, {}).get(lid if "@" in lid else f"{lid}@lid")
        return None if found is None else ChatId(found)

    async def new_message_id(self, session: SessionName) -> str:
        self._require_message_ids("new-message-id", f"/api/{session}/new-message-id")
        self._require_working("new-message-id", session)
        self.ids_given += 1
        return f"3EB0FA4E{self.ids_given:014X}"

    async def send_text(
        self, session: SessionName, chat_id: ChatId, text: str, *, message_id: str | None = None
    ) -> SendReceipt:
        own_id = message_id if self.message_ids_supported else None
        return self._send("sendText", session, chat_id, text, None, own_id)

    async def send_image(
        self, session: SessionName, chat_id: ChatId, image: ImagePayload, caption: str
    ) -> SendReceipt:
        as_image = replace(image, kind=MediaKind.IMAGE)  # sendImage, whatever the kind says
        return self._send("sendImage", session, chat_id, caption, as_image, None)

    async def send_media(
        self,
        session: SessionName,
        chat_id: ChatId,
        media: MediaPayload,
        caption: str,
        *,
        message_id: str | None = None,
    ) -> SendReceipt:
        # WAHA's media requests have no id: the one given is not sent, so never honoured.
        if media.kind is MediaKind.VOICE and caption:
            raise ValueError("a voice message has no caption in WAHA: send the text apart")
        return self._send(_MEDIA_OPERATIONS[media.kind], session, chat_id, caption, media, None)

    def _send(
        self,
        operation: str,
        session: str,
        chat_id: str,
        text: str,
        media: MediaPayload | None,
        own_id: str | None,
    ) -> SendReceipt:
        scripted = self.send_results.popleft() if self.send_results else None
        if isinstance(scripted, GatewayError):
            raise scripted
        self._require_working(operation, session)
        message_id = own_id or f"3EB0{len(self.sent):08d}"
        self.sent.append(Sent(session, chat_id, text, message_id, self.clock.now(), media))
        if scripted is not None:
            # Accepted, then the answer is lost: the caller sees an error after the fact.
            scripted()
        return SendReceipt(message_id=message_id, chat_id=chat_id)

    async def find_message(self, session: SessionName, message_id: str) -> SentMessage | None:
        path = f"/api/{session}/chats/all/messages/{message_id}"
        self._require_message_ids("chats.message", path)
        if self.lookup_error is not None:
            raise self.lookup_error
        self._require_working("chats.message", session)
        ours = [s for s in self.sent if s.session == session and s.message_id == message_id]
        if not ours:
            return None
        found = ours[-1]  # WAHA keeps no two under one id: the newest stands
        return SentMessage(found.message_id, found.chat_id, _whole_second(found.at), found.text)

    async def recent_own_messages(
        self, session: SessionName, chat_id: ChatId, since: datetime
    ) -> list[SentMessage]:
        if self.lookup_error is not None:
            raise self.lookup_error
        self._require_working("chats.messages", session)
        first_second = first_second_to_reconcile(since)
        ours = [
            s
            for s in self.sent
            if s.session == session
            and s.chat_id == chat_id
            and int(s.at.timestamp()) >= first_second
        ]
        newest_first = sorted(ours, key=lambda s: s.at, reverse=True)
        return [
            SentMessage(s.message_id, s.chat_id, _whole_second(s.at), s.text)
            for s in newest_first[:RECENT_MESSAGES_LIMIT]
        ]

    async def send_seen(self, session: SessionName, chat_id: ChatId) -> None:
        self._require_working("sendSeen", session)
        self.courtesy.append(("seen", chat_id))

    async def start_typing(self, session: SessionName, chat_id: ChatId) -> None:
        self._require_working("startTyping", session)
        self.courtesy.append(("start_typing", chat_id))

    async def stop_typing(self, session: SessionName, chat_id: ChatId) -> None:
        self._require_working("stopTyping", session)
        self.courtesy.append(("stop_typing", chat_id))

    def chats_messaged(self) -> list[str]:
        return [s.chat_id for s in self.sent]

    def _require_message_ids(self, operation: str, path: str) -> None:
        """Refuse as a WAHA older than client-supplied ids does: it has no such route."""
        if not self.message_ids_supported:
            reason = f"Cannot GET {path}"
            raise MessageIdsUnsupportedError(
                f"WAHA {operation} answered HTTP 404: {reason}", status=404, reason=reason
            )

    def _require_working(self, operation: str, session: str) -> None:
        """Refuse as WAHA does when the session cannot do the work (after its wait)."""
        if session in self.unknown_sessions or self.status == STOPPED:
            raise _refused(operation, 404, f"We didn't find a session with name '{session}'.")
        if self.status != WORKING:
            raise _refused(
                operation,
                422,
                "Session status is not as expected. Try again later or restart the session"
                f" (status {self.status}, expected {WORKING})",
                session_status=self.status,
            )


def _whole_second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)  # WAHA stamps messages in whole seconds


def _digits(phone: str) -> str:
    return "".join(character for character in phone if character.isdigit())


def _refused(
    operation: str, status: int, reason: str, *, session_status: str | None = None
) -> GatewayRejectedError:
    return GatewayRejectedError(
        f"WAHA {operation} answered HTTP {status}: {reason}",
        status=status,
        reason=reason,
        session_status=session_status,
    )


class FakeMediaStore:
    """Images by id, in memory."""

    def __init__(self) -> None:
        self.images: dict[str, ImagePayload] = {}

    def load(self, media_id: str) -> ImagePayload:
        return self.images[media_id]
