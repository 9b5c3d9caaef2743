"""The messages a simulated WAHA holds: ours (the ledger) and theirs (inbound), indexed by chat.

Every lookup a request makes (a chat's messages, a message by id) costs what that chat holds,
never what the whole ledger holds, so hundreds of busy sessions stay cheap.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from adapters.waha_simulator.bodies import ACK_NAMES, JSONObject, to_jid

# A message that reached our phone from someone else: delivered to this device.
_INBOUND_ACK = 2


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One message the simulator accepted: proof of who got what, and how many times.

    `received_at` is when its request arrived, `accepted_at` when it was taken (later, when
    the session had to turn WORKING first or a latency fault held it).
    """

    from_me: ClassVar[bool] = True

    session: str
    chat_id: str
    message_id: str
    kind: str  # "text", "image", "document", "video" or "voice"
    accepted_at: datetime
    text: str | None = None
    caption: str | None = None
    mimetype: str | None = None
    media_sha256: str | None = None
    media_url: str | None = None
    filename: str | None = None
    received_at: datetime | None = None

    @property
    def at(self) -> datetime:
        """When WhatsApp took it: what WAHA stamps the message with."""
        return self.accepted_at

    @property
    def serialized_id(self) -> str:
        """Return WAHA's full message id, `true_<chat>_<raw id>`."""
        return f"true_{self.chat_id}_{self.message_id}"

    @property
    def body(self) -> str:
        """The text WAHA lists: a text's text, a media's caption."""
        return (self.text if self.kind == "text" else self.caption) or ""

    def to_json(self) -> JSONObject:
        """Return the control API's view of this entry."""
        received = self.received_at
        return {
            "session": self.session,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "kind": self.kind,
            "text": self.text,
            "caption": self.caption,
            "mimetype": self.mimetype,
            "media_sha256": self.media_sha256,
            "media_url": self.media_url,
            "filename": self.filename,
            "accepted_at": self.accepted_at.isoformat(),
            "received_at": None if received is None else received.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A text someone sent to a session's account (delivered on demand by the controls)."""

    from_me: ClassVar[bool] = False

    session: str
    chat_id: str
    message_id: str
    body: str
    at: datetime

    @property
    def serialized_id(self) -> str:
        """Return WAHA's full message id, `false_<chat>_<raw id>`."""
        return f"false_{self.chat_id}_{self.message_id}"


StoredMessage = LedgerEntry | InboundMessage


class MessageStore:
    """Every message by session and chat, the ledger in order, and each of ours' ack."""

    def __init__(self) -> None:
        self._ledger: list[LedgerEntry] = []
        self._chats: dict[tuple[str, str], list[StoredMessage]] = {}
        self._by_id: dict[tuple[str, str], StoredMessage] = {}
        self._acks: dict[str, int] = {}

    def add(self, message: StoredMessage) -> None:
        """Keep `message` in its chat; one of ours also goes in the ledger, at ack 0 PENDING."""
        if isinstance(message, LedgerEntry):
            self._ledger.append(message)
            self._acks[message.message_id] = 0
        self._chats.setdefault((message.session, message.chat_id), []).append(message)
        # A client-supplied id may come twice (WAHA does not dedupe): the newest answers.
        self._by_id[message.session, message.message_id] = message
        self._by_id[message.session, message.serialized_id] = message

    def ledger(self) -> list[LedgerEntry]:
        """Return every message accepted, in order."""
        return list(self._ledger)

    def __len__(self) -> int:
        return len(self._ledger)

    def in_chat(self, session: str, chat_id: str) -> Iterator[StoredMessage]:
        """Yield a chat's messages, ours and theirs, in the order they came."""
        return iter(self._chats.get((session, chat_id), ()))

    def find(self, session: str, chat_id: str, wanted: str) -> StoredMessage | None:
        """Return the message with raw or full id `wanted` in a chat (`all`: any), or None."""
        found = self._by_id.get((session, wanted))
        if found is None or chat_id not in {"all", found.chat_id}:
            return None
        return found

    def ack_of(self, message: StoredMessage) -> int:
        """Return a message's ack: ours 0 PENDING, 1 SERVER, 2 DEVICE; theirs 2 DEVICE."""
        if isinstance(message, InboundMessage):
            return _INBOUND_ACK
        return self._acks.get(message.message_id, 0)

    def set_ack(self, entry: LedgerEntry, ack: int) -> None:
        """Record that WhatsApp moved one of ours to `ack`."""
        self._acks[entry.message_id] = ack

    def clear(self) -> None:
        """Forget every message."""
        self._ledger.clear()
        self._chats.clear()
        self._by_id.clear()
        self._acks.clear()

    def wa_message(self, message: StoredMessage, me_id: str) -> JSONObject:
        """Return a message as WAHA's chats API and `message` webhook show it (NOWEB WAMessage)."""
        ack = self.ack_of(message)
        ours = isinstance(message, LedgerEntry)
        wa: JSONObject = {
            "id": message.serialized_id,
            "timestamp": int(message.at.timestamp()),
            "from": me_id if ours else message.chat_id,
            "fromMe": ours,
            # NOWEB calls what our API sent "api", anything else "app".
            "source": "api" if ours else "app",
            "to": message.chat_id if ours else me_id,
            "participant": None,
            "body": message.body,
            "hasMedia": isinstance(message, LedgerEntry) and message.kind != "text",
            "media": None,
            "ack": ack,
            "ackName": ACK_NAMES[ack],
            "replyTo": None,
        }
        if isinstance(message, InboundMessage):
            key = {"remoteJid": to_jid(message.chat_id), "fromMe": False, "id": message.message_id}
            wa["_data"] = {
                "key": key,
                "message": {"conversation": message.body},
                "messageTimestamp": wa["timestamp"],
            }
        return wa
