"""The ports the application owns; adapters implement them, tests fake them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from domain.contacts import ChatId

StatusSource = Literal["poll", "webhook"]


@dataclass(frozen=True)
class SessionStatusFact:
    """What WAHA said a session's status was, when, and how we learnt it."""

    session: str
    status: str
    observed_at: datetime
    source: StatusSource
    detail: str = ""


@dataclass(frozen=True)
class DeliveryFact:
    """WAHA reported a message's delivery state (`message.ack`): 1 server, 2 device, 3 read."""

    session: str
    message_id: str
    chat_id: str
    ack: int
    ack_name: str
    observed_at: datetime


@dataclass(frozen=True)
class SendReceipt:
    """WAHA accepted a message; `message_id` is the raw id when the answer carried one."""

    message_id: str | None
    chat_id: str


@dataclass(frozen=True)
class SentMessage:
    """One of our own messages found in a chat, for reconciling an uncertain send."""

    message_id: str
    chat_id: str
    timestamp: datetime
    body: str | None


@dataclass(frozen=True)
class ImagePayload:
    """An image to send: its bytes and what they are."""

    data: bytes
    mimetype: str
    filename: str


class GatewayError(Exception):
    """Base of what talking to WAHA can go wrong with; the subclass says what was sent."""

    def __init__(self, message: str, *, status: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class GatewayUnavailableError(GatewayError):
    """Nothing reached WAHA (connection refused, DNS): nothing was sent."""


class GatewayRejectedError(GatewayError):
    """WAHA answered no (401, 404, 422, other 4xx): nothing was sent.

    `session_status` is the status WAHA reported in a 422 body, when it did.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        reason: str = "",
        session_status: str | None = None,
    ) -> None:
        super().__init__(message, status=status, reason=reason)
        self.session_status = session_status


class SendOutcomeUnknownError(GatewayError):
    """The request may have reached WhatsApp (timeout, reset, 5xx): never resend blindly."""


class GatewayRequestFailedError(GatewayError):
    """A request that cannot message anyone (a read, seen, typing) failed: repeating it is safe."""


class AccountRestrictedError(GatewayError):
    """WhatsApp restricts the account (WAHA's 500 with error 463): stop the campaign."""


class RateLimitedError(GatewayError):
    """WhatsApp says `rate-overlimit`: slow down."""


class WahaGateway(Protocol):
    """What the runner needs from WAHA."""

    async def session_status(self, session: str) -> SessionStatusFact:
        """Return the session's current status, or raise a GatewayError."""
        ...

    async def check_exists(self, session: str, phone: str) -> ChatId | None:
        """Return the chat id WAHA uses for `phone`, or None when it is not on WhatsApp."""
        ...

    async def send_text(self, session: str, chat_id: str, text: str) -> SendReceipt:
        """Send a text message."""
        ...

    async def send_image(
        self, session: str, chat_id: str, image: ImagePayload, caption: str
    ) -> SendReceipt:
        """Send an image with a caption."""
        ...

    async def recent_own_messages(
        self, session: str, chat_id: str, since: datetime
    ) -> list[SentMessage]:
        """Return our own messages in the chat since `since`, newest first."""
        ...

    async def send_seen(self, session: str, chat_id: str) -> None:
        """Mark the chat as seen (WAHA's anti-ban courtesy)."""
        ...

    async def start_typing(self, session: str, chat_id: str) -> None:
        """Show "typing…" in the chat."""
        ...

    async def stop_typing(self, session: str, chat_id: str) -> None:
        """Stop showing "typing…" in the chat."""
        ...


class Clock(Protocol):
    """Where the application learns the time."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware UTC."""
        ...


class Sleeper(Protocol):
    """How the application waits."""

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds`; cancellable."""
        ...


class RandomSource(Protocol):
    """Where the application gets chance from."""

    def uniform(self) -> float:
        """Return a number in [0, 1)."""
        ...


class MediaStore(Protocol):
    """Images uploaded for campaigns, stored by content."""

    def load(self, media_id: str) -> ImagePayload:
        """Return the image stored as `media_id`, or raise KeyError."""
        ...


class SeenWebhooks(Protocol):
    """Keys of the webhooks acted on lately: a repeat within the window is not acted on again.

    Shared by every process on one store, and kept across restarts where the store is.
    """

    def first_time(self, key: str, seen_at: datetime) -> bool:
        """Record `key` as seen at `seen_at`; return whether it was unseen (or seen too long ago).

        Atomic: of several processes recording one key at once, exactly one is told True.
        """
        ...

    def forget(self, key: str) -> None:
        """Forget `key`, so that WAHA's retry of a webhook that failed here is acted on."""
        ...

    def prune(self, before: datetime) -> int:
        """Forget the keys seen before `before`; return how many were forgotten."""
        ...
