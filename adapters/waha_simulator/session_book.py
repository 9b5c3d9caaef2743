"""The simulated WAHA's sessions: statuses, schedules, account limits, and their webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from adapters.waha_simulator.bodies import STARTING, STOPPED, WORKING, JSONObject, epoch_ms
from adapters.waha_simulator.config import SimulatorConfig, StatusStep
from adapters.waha_simulator.webhooks import WebhookDispatcher

if TYPE_CHECKING:
    from adapters.waha_simulator.config import Clock, Sleeper

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Session:
    name: str
    status: str
    config: JSONObject | None
    has_run: bool
    history: list[tuple[str, int]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    limits: JSONObject = field(default_factory=dict)  # reachoutTimelock, messageCapping


class SessionBook:
    """Every session WAHA knows, what `me` says of it, and the `session.status` it pushes."""

    def __init__(self, config: SimulatorConfig, *, clock: Clock, sleeper: Sleeper) -> None:
        self.config = config
        self.clock = clock
        self.sleeper = sleeper
        self._webhooks = WebhookDispatcher(version=config.version, clock=clock)
        self._sessions: dict[str, _Session] = {}
        self._schedules: dict[str, tuple[asyncio.Task[None], bool]] = {}

    @property
    def me_id(self) -> str:
        """The simulated account's own chat id."""
        return f"{self.config.me_phone}@c.us"

    def me(self, name: str) -> JSONObject | None:
        """Return WAHA's `me` for a session: known only while WORKING, with its limits if set."""
        session = self._sessions.get(name)
        if session is None or session.status != WORKING:
            return None
        return {"id": self.me_id, "pushName": "WAHA Simulator", **session.limits}

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
        task.add_done_callback(log_failure)
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

    # Account limits

    def limits(self, name: str) -> JSONObject:
        """Return the limits set on a session (`reachoutTimelock`, `messageCapping`), if any."""
        session = self._sessions.get(name)
        return {} if session is None else dict(session.limits)

    def set_limits(self, name: str, changes: dict[str, JSONObject | None]) -> None:
        """Set (a value) or clear (None) a known session's limits, and push them as WAHA does.

        Newer WAHA pushes a change of these through `session.status`, the limits in the
        envelope's `me` (SRCnew ReachoutTimelockTracker); so does this, with the status as is.
        """
        session = self._sessions.get(name)
        if session is None:
            raise KeyError(name)
        for field_name, value in changes.items():
            if value is None:
                session.limits.pop(field_name, None)
            else:
                session.limits[field_name] = value
        self._emit_status(session)

    # Webhooks

    def emit(self, name: str, event: str, payload: JSONObject) -> JSONObject:
        """Return the envelope of `event` on a known session now, queued if webhooks go out."""
        session = self._sessions[name]
        envelope = self._webhooks.envelope(
            event=event,
            session=name,
            payload=payload,
            me=self.me(name),
            metadata=(session.config or {}).get("metadata"),
        )
        self._webhooks.post(envelope)
        return envelope

    def _emit_quietly(self, session: _Session, event: str, payload: JSONObject) -> None:
        # Envelopes are built only when they go somewhere: acks come by the thousand.
        if self._webhooks.url is not None:
            self.emit(session.name, event, payload)

    def _emit_status(self, session: _Session) -> None:
        statuses = [{"status": s, "timestamp": at} for s, at in session.history[-3:]]
        payload = {"name": session.name, "status": session.status, "statuses": statuses}
        self._emit_quietly(session, "session.status", payload)

    def _change(self, session: _Session, status: str) -> None:
        if session.status == status:
            return
        session.status = status
        session.has_run = session.has_run or status != STOPPED
        session.history.append((status, epoch_ms(self.clock.now())))
        woken, session.changed = session.changed, asyncio.Event()
        woken.set()
        self._emit_status(session)

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

    def _cancel_schedules(self) -> list[asyncio.Task[None]]:
        tasks = [task for task, _ in self._schedules.values()]
        for task in tasks:
            task.cancel()
        self._schedules.clear()
        return tasks

    def _schedules_to_settle(self) -> list[asyncio.Task[None]]:
        return [task for task, repeat in self._schedules.values() if not repeat]


def log_failure(task: asyncio.Task[None]) -> None:
    """Log a background task's failure; retrieving it keeps asyncio from reporting it later."""
    if not task.cancelled() and (error := task.exception()) is not None:
        logger.error("simulator background task failed", exc_info=error)
