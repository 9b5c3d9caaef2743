"""The simulated WAHA's state and its Python control API: sessions, faults, ledger, webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from adapters.waha_simulator.bodies import (
    STARTING,
    STOPPED,
    WORKING,
    JSONObject,
    epoch_ms,
    message_ack,
    new_message_id,
)
from adapters.waha_simulator.config import LedgerEntry, SimulatorConfig, StatusStep
from adapters.waha_simulator.faults import Endpoint, Fault, FaultBook
from adapters.waha_simulator.webhooks import WebhookDispatcher

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from adapters.waha_simulator.config import Clock, Sleeper


@dataclass(slots=True)
class _Session:
    name: str
    status: str
    config: JSONObject | None
    has_run: bool
    history: list[tuple[str, int]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class WahaSimulator:
    """Everything the simulated WAHA knows, and the knobs tests and the demo turn."""

    def __init__(self, config: SimulatorConfig, *, clock: Clock, sleeper: Sleeper) -> None:
        self.config = config
        self.clock = clock
        self.sleeper = sleeper
        self._webhooks = WebhookDispatcher(version=config.version, clock=clock)
        self._faults = FaultBook()
        self._sessions: dict[str, _Session] = {}
        self._schedules: dict[str, tuple[asyncio.Task[None], bool]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._ledger: list[LedgerEntry] = []
        self._acks: dict[str, int] = {}
        self._not_on_whatsapp: set[str] = set()
        self._release = asyncio.Event()
        self._load_config()

    def _load_config(self) -> None:
        self._webhooks.configure(self.config.webhook_url, self.config.webhook_hmac_key)
        self._sessions = {}
        for name in self.config.sessions:
            self.add_session(name, status=self.config.initial_status)

    @property
    def me_id(self) -> str:
        """The simulated account's own chat id."""
        return f"{self.config.me_phone}@c.us"

    def me(self, status: str) -> JSONObject | None:
        """Return WAHA's `me` for a session in `status`: known only while WORKING."""
        return {"id": self.me_id, "pushName": "WAHA Simulator"} if status == WORKING else None

    # Sessions

    def add_session(
        self, name: str, *, status: str = STOPPED, config: JSONObject | None = None
    ) -> None:
        """Create or replace a session; one never run shows `config: null`, as WAHA's does."""
        self._cancel_schedule(name)
        replaced = self._sessions.get(name)
        if replaced is not None:
            replaced.changed.set()  # its waiters look again, and find the new one
        session = _Session(name, status, config, has_run=status != STOPPED)
        session.history.append((status, epoch_ms(self.clock.now())))
        self._sessions[name] = session

    def remove_session(self, name: str) -> None:
        """Forget a session, so WAHA answers as for an unknown one."""
        self._cancel_schedule(name)
        session = self._sessions.pop(name, None)
        if session is not None:
            session.changed.set()

    def session_info(self, name: str) -> tuple[str, JSONObject | None, bool] | None:
        """Return a session's status, config and whether it ever ran; None when unknown."""
        session = self._sessions.get(name)
        return None if session is None else (session.status, session.config, session.has_run)

    def session_names(self) -> list[str]:
        """Return the known sessions' names."""
        return list(self._sessions)

    def status(self, name: str) -> str | None:
        """Return a session's status, or None when it is unknown."""
        session = self._sessions.get(name)
        return None if session is None else session.status

    def status_history(self, name: str) -> list[str]:
        """Return every status a session has had, oldest first."""
        session = self._sessions.get(name)
        return [] if session is None else [status for status, _ in session.history]

    def set_status(self, name: str, status: str) -> None:
        """Put a session in `status` now (creating it if unknown), ending any schedule."""
        self._cancel_schedule(name)
        if name not in self._sessions:
            self.add_session(name)
        self._change(self._sessions[name], status)

    def schedule_statuses(
        self, name: str, steps: Sequence[StatusStep], *, repeat: bool = False
    ) -> None:
        """Walk a session through `steps` in the background; `repeat` flaps until told otherwise."""
        if repeat and sum(step.after_seconds for step in steps) <= 0:
            raise ValueError("a repeating schedule needs some seconds between its steps")
        if any(step.after_seconds < 0 for step in steps):
            raise ValueError("after_seconds must not be negative")
        self._cancel_schedule(name)
        if name not in self._sessions:
            self.add_session(name)
        task = asyncio.get_running_loop().create_task(
            self._run_schedule(name, tuple(steps), repeat)
        )
        task.add_done_callback(self._log_failure)
        self._schedules[name] = (task, repeat)

    def start_session(self, name: str) -> None:
        """Start a known session as WAHA does: STARTING, then WORKING once "connected"."""
        self.set_status(name, STARTING)
        if self.config.starting_seconds is not None:
            self.schedule_statuses(name, [StatusStep(WORKING, self.config.starting_seconds)])

    async def wait_for_working(self, name: str, within_seconds: float) -> str | None:
        """Wait up to `within_seconds` for WORKING; return the status then (None: gone)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_seconds
        while True:
            session = self._sessions.get(name)
            if session is None or session.status == WORKING:
                return None if session is None else WORKING
            remaining = deadline - loop.time()
            if remaining <= 0:
                return session.status
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(session.changed.wait(), remaining)

    def _change(self, session: _Session, status: str) -> None:
        if session.status == status:
            return
        session.status = status
        session.has_run = session.has_run or status != STOPPED
        session.history.append((status, epoch_ms(self.clock.now())))
        woken, session.changed = session.changed, asyncio.Event()
        woken.set()
        statuses = [{"status": s, "timestamp": at} for s, at in session.history[-3:]]
        self._emit(
            session,
            "session.status",
            {"name": session.name, "status": status, "statuses": statuses},
        )

    def _emit(self, session: _Session, event: str, payload: JSONObject) -> None:
        config = session.config or {}
        self._webhooks.emit(
            event=event,
            session=session.name,
            payload=payload,
            me=self.me(session.status),
            metadata=config.get("metadata"),
        )

    async def _run_schedule(self, name: str, steps: tuple[StatusStep, ...], repeat: bool) -> None:
        while True:
            for step in steps:
                await self.sleeper.sleep(step.after_seconds)
                session = self._sessions.get(name)
                if session is None:
                    return
                self._change(session, step.status)
            if not repeat:
                return

    def _cancel_schedule(self, name: str) -> None:
        task, _ = self._schedules.pop(name, (None, False))
        if task is not None:
            task.cancel()

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

    def accept_message(self, session: str, chat_id: str, kind: str, **content: Any) -> LedgerEntry:
        """Record a sent message in the ledger and deliver its acks in the background."""
        entry = LedgerEntry(session, chat_id, new_message_id(), kind, self.clock.now(), **content)
        self._ledger.append(entry)
        self._acks[entry.message_id] = 0
        self._spawn(self._deliver_acks(entry))
        return entry

    def ledger(self) -> list[LedgerEntry]:
        """Return every message accepted, in order."""
        return list(self._ledger)

    def ack_of(self, entry: LedgerEntry) -> int:
        """Return a message's current ack (0 PENDING, 1 SERVER, 2 DEVICE)."""
        return self._acks.get(entry.message_id, 0)

    async def _deliver_acks(self, entry: LedgerEntry) -> None:
        to_server, to_device = self.config.ack_seconds
        await self.sleeper.sleep(to_server)
        self._ack(entry, 1)
        if self.chat_id_of(entry.chat_id) is None:
            return  # WhatsApp takes it, but no device ever receives it (WAHA #2083)
        await self.sleeper.sleep(to_device)
        self._ack(entry, 2)

    def _ack(self, entry: LedgerEntry, ack: int) -> None:
        self._acks[entry.message_id] = ack
        session = self._sessions.get(entry.session)
        if session is None:
            return
        payload = message_ack(entry.chat_id, entry.message_id, ack)
        self._emit(session, "message.ack", payload)

    # Webhooks and lifecycle

    def set_webhook(self, url: str | None, hmac_key: str | None = None) -> None:
        """Send later events to `url` (None: nowhere), signed when `hmac_key` is set."""
        self._webhooks.configure(url, hmac_key)

    def webhook(self) -> JSONObject:
        """Return where webhooks go and whether they are signed (never the key)."""
        return {"url": self._webhooks.url, "signed": self._webhooks.signs}

    def reset(self) -> None:
        """Return to the configured start: sessions, no faults, empty ledger, hangs released."""
        for name in list(self._schedules):
            self._cancel_schedule(name)
        for task in self._tasks:
            task.cancel()
        for session in self._sessions.values():
            session.changed.set()
        self._ledger.clear()
        self._acks.clear()
        self._not_on_whatsapp.clear()
        self._faults.reset()
        self.release_hangs()
        self._webhooks.discard_pending()
        self._load_config()

    async def settle(self) -> None:
        """Wait for finite schedules, acks and webhook deliveries to finish."""
        while pending := [
            task
            for task in (*self._tasks, *(t for t, repeat in self._schedules.values() if not repeat))
            if not task.done()
        ]:
            await asyncio.wait(pending)
        await self._webhooks.drain()

    def open(self, http: aiohttp.ClientSession) -> None:
        """Start webhook delivery over `http` (the app does this on startup)."""
        self._webhooks.start(http)

    async def close(self) -> None:
        """Stop every background task (the app does this on cleanup)."""
        tasks = [*self._tasks, *(task for task, _ in self._schedules.values())]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._schedules.clear()
        self.release_hangs()
        await self._webhooks.stop()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(self._log_failure)

    @staticmethod
    def _log_failure(task: asyncio.Task[None]) -> None:
        # Retrieving the exception here keeps asyncio from reporting it at garbage collection.
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.error("simulator background task failed", exc_info=error)


def _digits(phone: str) -> str:
    # NOWEB strips the "@server" part and the "+" before checking (waha-api.md §3).
    return phone.split("@", 1)[0].strip().lstrip("+")


SIMULATOR_KEY = web.AppKey("waha_simulator", WahaSimulator)
