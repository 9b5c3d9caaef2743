"""FakeWahaGateway: scripted session statuses and send results; records every send."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from app.ports import (
    GatewayError,
    ImagePayload,
    SendReceipt,
    SentMessage,
    SessionStatusFact,
)
from domain.contacts import ChatId
from tests.fakes.system import ManualClock


@dataclass
class Sent:
    """One message the fake accepted."""

    session: str
    chat_id: str
    text: str
    message_id: str
    at: datetime
    image: ImagePayload | None = None


@dataclass
class FakeWahaGateway:
    """A WAHA double: statuses come from a script, then `status`; sends succeed unless scripted."""

    clock: ManualClock
    status: str = "WORKING"
    statuses: deque[str | GatewayError] = field(default_factory=deque)
    send_results: deque[GatewayError | Callable[[], None] | None] = field(default_factory=deque)
    not_on_whatsapp: set[str] = field(default_factory=set)
    sent: list[Sent] = field(default_factory=list)
    status_checks: int = 0
    courtesy: list[tuple[str, str]] = field(default_factory=list)
    lookup_error: GatewayError | None = None
    before_status: Callable[[int], None] | None = None

    async def session_status(self, session: str) -> SessionStatusFact:
        self.status_checks += 1
        if self.before_status is not None:
            self.before_status(self.status_checks)
        scripted = self.statuses.popleft() if self.statuses else self.status
        if isinstance(scripted, GatewayError):
            raise scripted
        return SessionStatusFact(session, scripted, self.clock.now(), "poll")

    async def check_exists(self, session: str, phone: str) -> ChatId | None:
        if phone in self.not_on_whatsapp:
            return None
        return ChatId(f"{phone}@c.us")

    async def send_text(self, session: str, chat_id: str, text: str) -> SendReceipt:
        return self._send(session, chat_id, text, None)

    async def send_image(
        self, session: str, chat_id: str, image: ImagePayload, caption: str
    ) -> SendReceipt:
        return self._send(session, chat_id, caption, image)

    def _send(
        self, session: str, chat_id: str, text: str, image: ImagePayload | None
    ) -> SendReceipt:
        scripted = self.send_results.popleft() if self.send_results else None
        if isinstance(scripted, GatewayError):
            raise scripted
        message_id = f"3EB0{len(self.sent):08d}"
        self.sent.append(Sent(session, chat_id, text, message_id, self.clock.now(), image))
        if scripted is not None:
            # Accepted, then the answer is lost: the caller sees an error after the fact.
            scripted()
        return SendReceipt(message_id=message_id, chat_id=chat_id)

    async def recent_own_messages(
        self, session: str, chat_id: str, since: datetime
    ) -> list[SentMessage]:
        if self.lookup_error is not None:
            raise self.lookup_error
        return [
            SentMessage(s.message_id, s.chat_id, s.at, s.text)
            for s in reversed(self.sent)
            if s.chat_id == chat_id and s.at >= since
        ]

    async def send_seen(self, session: str, chat_id: str) -> None:
        self.courtesy.append(("seen", chat_id))

    async def start_typing(self, session: str, chat_id: str) -> None:
        self.courtesy.append(("start_typing", chat_id))

    async def stop_typing(self, session: str, chat_id: str) -> None:
        self.courtesy.append(("stop_typing", chat_id))

    def chats_messaged(self) -> list[str]:
        return [s.chat_id for s in self.sent]


class FakeMediaStore:
    """Images by id, in memory."""

    def __init__(self) -> None:
        self.images: dict[str, ImagePayload] = {}

    def load(self, media_id: str) -> ImagePayload:
        return self.images[media_id]
