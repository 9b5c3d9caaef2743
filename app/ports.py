"""The ports the application owns; adapters implement them, tests fake them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, Literal, Protocol

from domain.contacts import ChatId, Contact
from domain.session import SessionName

StatusSource = Literal["poll", "webhook"]

# A limit WhatsApp imposes without saying until when: it holds until WAHA reports otherwise.
UNTIL_FURTHER_NOTICE: Final = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class AccountLimits:
    """WhatsApp's own limits on the account, as newer WAHA reports them in `me`.

    `reachout_timelock_until` is set while the reachout timelock is active (the restriction
    behind error 463 when messaging new contacts); `capped_until` while the new-chat quota is
    CAPPED, until its cycle ends. Either is UNTIL_FURTHER_NOTICE when WAHA gives no end.
    """

    reachout_timelock_until: datetime | None = None
    capped_until: datetime | None = None


@dataclass(frozen=True)
class SessionStatusFact:
    """What WAHA said a session's status was, when, and how we learnt it.

    `limits` is None when WAHA did not report the account's limits (older releases).
    """

    session: str
    status: str
    observed_at: datetime
    source: StatusSource
    detail: str = ""
    limits: AccountLimits | None = None


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
class InboundMessageFact:
    """Someone wrote to the account (WAHA's `message` webhook): e.g. STOP, to opt out.

    `chat_id` is the chat it came from; `message_id` its raw id, as in SendReceipt.
    """

    session: str
    chat_id: str
    body: str
    message_id: str
    observed_at: datetime


class MediaKind(StrEnum):
    """How a media file is sent: each kind has its WAHA endpoint and its look in the chat."""

    IMAGE = "image"  # sendImage: shown inline
    DOCUMENT = "document"  # sendFile: a file to download, with its name
    VIDEO = "video"  # sendVideo
    VOICE = "voice"  # sendVoice: a voice note, which carries no caption


@dataclass(frozen=True)
class MediaPayload:
    """A media file to send: its bytes, what they are, and how to send them."""

    data: bytes
    mimetype: str
    filename: str
    kind: MediaKind = MediaKind.IMAGE


# An image is media sent as one: the name stays for the callers that send only images.
ImagePayload = MediaPayload


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


class MessageIdsUnsupportedError(GatewayRejectedError):
    """The WAHA asked does not know client-supplied ids (before 2026.4.3, or WEBJS/WPP).

    Its 404 says so (`Cannot GET …`): it has neither new-message-id nor a message by id, and it
    ignores an id given to sendText. Nothing was sent; fall back to looking messages up by chat.
    """


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

    async def session_status(self, session: SessionName) -> SessionStatusFact:
        """Return the session's current status, or raise a GatewayError."""
        ...

    async def check_exists(self, session: SessionName, phone: str) -> ChatId | None:
        """Return the chat id WAHA uses for `phone`, or None when it is not on WhatsApp."""
        ...

    async def phone_of_lid(self, session: SessionName, lid: str) -> ChatId | None:
        """Return the `<digits>@c.us` chat behind a hidden `…@lid` chat, None when WAHA knows none.

        WhatsApp hides some people's numbers behind a linked id; a reply from such a chat
        names no phone of its own (waha-api.md §3).
        """
        ...

    async def new_message_id(self, session: SessionName) -> str:
        """Return a fresh raw message id for a send to use (WAHA 2026.4.3+, NOWEB and GOWS).

        Raises MessageIdsUnsupportedError when this WAHA has no such route.
        """
        ...

    async def send_text(
        self, session: SessionName, chat_id: ChatId, text: str, *, message_id: str | None = None
    ) -> SendReceipt:
        """Send a text message, as raw id `message_id` when given (from new_message_id).

        A WAHA that does not know client-supplied ids ignores it and makes its own: the
        receipt's `message_id` then differs from the one given, which is how the caller
        tells (it must compare them; nothing here raises for it).
        """
        ...

    async def send_image(
        self, session: SessionName, chat_id: ChatId, image: ImagePayload, caption: str
    ) -> SendReceipt:
        """Send an image with a caption (as send_media with an image, whatever its kind)."""
        ...

    async def send_media(
        self,
        session: SessionName,
        chat_id: ChatId,
        media: MediaPayload,
        caption: str,
        *,
        message_id: str | None = None,
    ) -> SendReceipt:
        """Send a media file by its kind: sendImage, sendFile, sendVideo or sendVoice.

        WAHA's media requests have no `id` (OAS 2026.7.1), so `message_id` is not sent: the
        receipt carries WAHA's own id, and the caller sees it differs. A voice note has no
        caption: a non-empty one raises ValueError before anything is sent.
        """
        ...

    async def find_message(self, session: SessionName, message_id: str) -> SentMessage | None:
        """Return our message with raw id `message_id`, or None when WAHA has no such message.

        Raises MessageIdsUnsupportedError when this WAHA cannot look messages up by id, and
        GatewayRequestFailedError when the answer is lost (asking again is safe).
        """
        ...

    async def recent_own_messages(
        self, session: SessionName, chat_id: ChatId, since: datetime
    ) -> list[SentMessage]:
        """Return our own messages in the chat since `since`, newest first."""
        ...

    async def send_seen(self, session: SessionName, chat_id: ChatId) -> None:
        """Mark the chat as seen (WAHA's anti-ban courtesy)."""
        ...

    async def start_typing(self, session: SessionName, chat_id: ChatId) -> None:
        """Show "typing…" in the chat."""
        ...

    async def stop_typing(self, session: SessionName, chat_id: ChatId) -> None:
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


@dataclass(frozen=True)
class Lease:
    """A hold on one session's lane: `epoch` grows with every new holder."""

    session: SessionName
    owner: str
    epoch: int


@dataclass(frozen=True)
class LaneHolder:
    """Who holds a session's lane, as far as the lease store knows."""

    session: SessionName
    owner: str
    epoch: int
    expires_at: datetime | None  # None: held until its process ends (an OS lock)


class LaneLeases(Protocol):
    """Who may send through each session: one holder at a time, across processes.

    Blocking (files, SQL): call from a worker thread. A lease that its holder's process loses
    (it died, or stalled past the lease) can be taken by anyone; a live holder keeps it by
    renewing.
    """

    def acquire(self, session: SessionName, owner: str) -> Lease | None:
        """Take the session's lane for `owner`, or return None while someone else holds it."""
        ...

    def renew(self, leases: Sequence[Lease]) -> set[SessionName]:
        """Keep holding these; return the sessions still held (the others are lost: stop)."""
        ...

    def release(self, lease: Lease) -> None:
        """Let the lane go (idle, or stopping)."""
        ...

    def holders(self) -> list[LaneHolder]:
        """Return the current holder of every held lane."""
        ...

    def close(self) -> None:
        """Let go of what this process holds and close connections."""
        ...


class NotificationDeliveryError(Exception):
    """The receiver did not take a notification; `status` is its HTTP answer (None: no answer)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NotificationTransport(Protocol):
    """Where campaign notifications go (CAMPAIGNS_NOTIFY_URL), signed by the adapter."""

    async def deliver(
        self, notification_id: str, kind: str, attempt: int, payload: Mapping[str, Any]
    ) -> int:
        """Send one attempt of a notification; return the receiver's 2xx status.

        Raises NotificationDeliveryError for any other answer, a timeout or no connection.
        """
        ...


class ContactSpool(Protocol):
    """The contacts an audience keeps while its rows are read: in order, one per phone.

    A million-row file is screened in one pass and recorded in a second, so the contacts
    in between stay out of memory: on disk in the service (adapters/contact_spool.py), in
    a list for audiences held in memory anyway (app/screening.py MemoryContactSpool).
    """

    def keep(self, row: int, contact: Contact) -> int | None:
        """Keep `contact`, from the operator's row `row`, unless its phone is kept already.

        Returns None when kept, else the row of the contact kept earlier with that phone.
        """
        ...

    def __len__(self) -> int:
        """Return how many contacts are kept."""
        ...

    def kept(self, start: int = 0) -> Iterator[tuple[int, Contact]]:
        """Yield (row, contact) of each kept contact from the `start`-th on, in order."""
        ...

    def close(self) -> None:
        """Forget the contacts (a file is deleted); the spool is not used after."""
        ...
