"""The simulated WAHA's state and its Python control API: sessions, messages, faults, sends."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from adapters.waha_simulator.bodies import (
    WORKING,
    JSONObject,
    message_ack,
    new_message_id,
    phone_message_id,
)
from adapters.waha_simulator.config import SimulatorConfig
from adapters.waha_simulator.faults import Endpoint, Fault, FaultBook
from adapters.waha_simulator.messages import InboundMessage, LedgerEntry, MessageStore
from adapters.waha_simulator.sends import SendLog
from adapters.waha_simulator.session_book import SessionBook, log_failure

if TYPE_CHECKING:
    from adapters.waha_simulator.config import Clock, Sleeper


class WahaSimulator(SessionBook):
    """Everything the simulated WAHA knows, and the knobs tests and the demo turn."""

    def __init__(self, config: SimulatorConfig, *, clock: Clock, sleeper: Sleeper) -> None:
        super().__init__(config, clock=clock, sleeper=sleeper)
        self.messages = MessageStore()
        self.sends = SendLog(clock)
        self.message_ids = config.message_ids
        self._faults = FaultBook()
        self._tasks: set[asyncio.Task[None]] = set()
        self._not_on_whatsapp: set[str] = set()
        # Per session: linked id (`…@lid`) -> the phone's chat (`<digits>@c.us`).
        self._lids: dict[str, dict[str, str]] = {}
        self._release = asyncio.Event()
        self._load_config()

    def _load_config(self) -> None:
        self._webhooks.configure(self.config.webhook_url, self.config.webhook_hmac_key)
        self.message_ids = self.config.message_ids
        self._sessions = {}
        self._lids = {}
        for name in self.config.sessions:
            self.add_session(name, status=self.config.initial_status)

    # Numbers, faults, calls

    def mark_not_on_whatsapp(self, *phones: str) -> None:
        """Make check-exists deny these numbers, and their messages stop at ack 1 SERVER."""
        self._not_on_whatsapp.update(_digits(phone) for phone in phones)

    def mark_on_whatsapp(self, *phones: str) -> None:
        """Undo `mark_not_on_whatsapp` for these numbers."""
        self._not_on_whatsapp.difference_update(_digits(phone) for phone in phones)

    def not_on_whatsapp(self) -> list[str]:
        """Return the numbers check-exists denies."""
        return sorted(self._not_on_whatsapp)

    def chat_id_of(self, phone: str) -> str | None:
        """Return the chat id check-exists gives for `phone`, or None if not on WhatsApp."""
        digits = _digits(phone)
        exists = digits.isdigit() and digits not in self._not_on_whatsapp
        return f"{digits}@c.us" if exists else None

    def add_fault(self, endpoint: Endpoint, fault: Fault) -> None:
        """Arm a fault on an endpoint, after those already armed there."""
        self._faults.add(endpoint, fault)

    def clear_faults(self, endpoint: Endpoint | None = None) -> None:
        """Disarm the faults of one endpoint, or of all."""
        self._faults.clear(endpoint)

    def faults(self) -> dict[str, list[JSONObject]]:
        """Return the armed faults by endpoint name."""
        return self._faults.to_json()

    def take_fault(self, endpoint: Endpoint) -> Fault | None:
        """Count a call of `endpoint` and return the fault it meets, if any."""
        return self._faults.take(endpoint)

    def call_count(self, endpoint: Endpoint) -> int:
        """Return how many calls `endpoint` has had (whatever their answer)."""
        return self._faults.calls[endpoint]

    def calls(self) -> dict[str, int]:
        """Return the call counts by endpoint name."""
        return {endpoint.value: count for endpoint, count in self._faults.calls.items()}

    @property
    def hang_release(self) -> asyncio.Event:
        """Set when hanging requests must end: on reset and on shutdown."""
        return self._release

    def release_hangs(self) -> None:
        """End every hanging request."""
        self._release.set()
        self._release = asyncio.Event()

    # Messages

    def accept_message(
        self,
        session: str,
        chat_id: str,
        kind: str,
        *,
        message_id: str | None = None,
        **content: Any,
    ) -> LedgerEntry:
        """Record a sent message in the ledger and deliver its acks in the background.

        `message_id` is the client's own raw id (sendText's `id`, WAHA 2026.4.3+); WAHA makes
        one up otherwise, and so does this.
        """
        entry = LedgerEntry(
            session, chat_id, message_id or new_message_id(), kind, self.clock.now(), **content
        )
        self.messages.add(entry)
        self._spawn(self._deliver_acks(entry))
        return entry

    def ledger(self) -> list[LedgerEntry]:
        """Return every message accepted, in order."""
        return self.messages.ledger()

    def ack_of(self, entry: LedgerEntry) -> int:
        """Return a message's current ack (0 PENDING, 1 SERVER, 2 DEVICE)."""
        return self.messages.ack_of(entry)

    def link(self, session: str, lid: str, phone_chat: str) -> None:
        """Let the session know the phone behind a linked id (as WhatsApp tells WAHA)."""
        if not lid.endswith("@lid") or not phone_chat.endswith("@c.us"):
            raise ValueError("lid must end in @lid and pn in @c.us")
        self._lids.setdefault(session, {})[lid] = phone_chat

    def phone_of_lid(self, session: str, lid: str) -> str | None:
        """Return the phone chat behind `lid` (with or without its `@lid`), or None."""
        return self._lids.get(session, {}).get(lid if "@" in lid else f"{lid}@lid")

    def receive_message(self, session: str, sender: str, body: str) -> JSONObject:
        """Deliver a text from `sender` (digits or a chat id) to a WORKING session, as WAHA does.

        The message joins its chat (so listing it finds it, `fromMe` false), and goes out as a
        `message` webhook when webhooks go somewhere. Returns that webhook's envelope either
        way. Raises ValueError when the session cannot receive or the sender is no chat.
        """
        if self.status(session) != WORKING:
            raise ValueError(f"session {session!r} is not WORKING: nothing reaches it")
        chat_id = _sender_chat(sender)
        message = InboundMessage(session, chat_id, phone_message_id(), body, self.clock.now())
        self.messages.add(message)
        return self.emit(session, "message", self.messages.wa_message(message, self.me_id))

    async def _deliver_acks(self, entry: LedgerEntry) -> None:
        to_server, to_device = self.config.ack_seconds
        await self.sleeper.sleep(to_server)
        self._ack(entry, 1)
        if self.chat_id_of(entry.chat_id) is None:
            return  # WhatsApp takes it, but no device ever receives it (WAHA #2083)
        await self.sleeper.sleep(to_device)
        self._ack(entry, 2)

    def _ack(self, entry: LedgerEntry, ack: int) -> None:
        self.messages.set_ack(entry, ack)
        session = self._sessions.get(entry.session)
        if session is not None:
            payload = message_ack(entry.chat_id, entry.message_id, ack)
            self._emit_quietly(session, "message.ack", payload)

    # Webhooks and lifecycle

    def set_webhook(self, url: str | None, hmac_key: str | None = None) -> None:
        """Send later events to `url` (None: nowhere), signed when `hmac_key` is set."""
        self._webhooks.configure(url, hmac_key)

    def webhook(self) -> JSONObject:
        """Return where webhooks go and whether they are signed (never the key)."""
        return {"url": self._webhooks.url, "signed": self._webhooks.signs}

    def reset(self) -> None:
        """Return to the configured start: sessions, no faults, nothing sent, hangs released."""
        self._cancel_schedules()
        for task in self._tasks:
            task.cancel()
        for session in self._sessions.values():
            session.changed.set()
        self.messages.clear()
        self.sends.clear()
        self._not_on_whatsapp.clear()
        self._faults.reset()
        self.release_hangs()
        self._webhooks.discard_pending()
        self._load_config()

    async def settle(self) -> None:
        """Wait for finite schedules, acks and webhook deliveries to finish."""
        while pending := [
            task for task in (*self._tasks, *self._schedules_to_settle()) if not task.done()
        ]:
            await asyncio.wait(pending)
        await self._webhooks.drain()

    def open(self, http: aiohttp.ClientSession) -> None:
        """Start webhook delivery over `http` (the app does this on startup)."""
        self._webhooks.start(http)

    async def close(self) -> None:
        """Stop every background task (the app does this on cleanup)."""
        tasks = [*self._tasks, *self._cancel_schedules()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.release_hangs()
        await self._webhooks.stop()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(log_failure)


def _digits(phone: str) -> str:
    # NOWEB strips the "@server" part and the "+" before checking (waha-api.md §3).
    return phone.split("@", 1)[0].strip().lstrip("+")


def _sender_chat(sender: str) -> str:
    """Return the chat of whoever sent a message: a chat id as given, or `<digits>@c.us`."""
    if "@" in sender:
        user, _, server = sender.partition("@")
        if user and server:
            return sender
    else:
        digits = "".join(character for character in sender if character not in "+ -()")
        if digits.isdigit():
            return f"{digits}@c.us"
    raise ValueError("from must be a phone number's digits or a chat id such as 4915…@c.us")


SIMULATOR_KEY = web.AppKey("waha_simulator", WahaSimulator)
