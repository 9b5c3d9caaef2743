"""How the simulator starts, steps of a status schedule, and what it needs of time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from adapters.waha_simulator.bodies import WORKING


class Clock(Protocol):
    """Where the simulator reads the time (adapters.system.SystemClock, or a test's)."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware UTC."""
        ...


class Sleeper(Protocol):
    """How the simulator waits (adapters.system.AsyncioSleeper, or a test's)."""

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds`; cancellable."""
        ...


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """How a simulated WAHA starts; every wait is configurable so tests never need to sleep."""

    api_key: str | None = field(default=None, repr=False)
    sessions: tuple[str, ...] = ("default",)
    initial_status: str = WORKING
    not_working_wait: float = 5.0  # WAHA's WAIT_STATUS_TIMEOUT before a 422
    starting_seconds: float | None = 1.0  # after a start, STARTING this long; None: for good
    ack_seconds: tuple[float, float] = (0.2, 1.0)  # until ack 1 SERVER, then until 2 DEVICE
    webhook_url: str | None = None
    webhook_hmac_key: str | None = field(default=None, repr=False)
    only_default_session: bool = False  # WAHA Core before 2026.6.1 refused other sessions
    me_phone: str = "10000000000"
    version: str = "2024.10.8"
    # WAHA 2026.4.3+ (NOWEB, GOWS): GET new-message-id, sendText's `id`, a message by id.
    # False answers as older releases do: 404 `Cannot GET …`, and an `id` in sendText ignored.
    message_ids: bool = True


@dataclass(frozen=True, slots=True)
class StatusStep:
    """Become `status` `after_seconds` after the previous step (or the schedule's start)."""

    status: str
    after_seconds: float
