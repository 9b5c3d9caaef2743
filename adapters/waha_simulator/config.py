"""The simulator's value types: its clock, how it starts, status schedule steps, ledger entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from adapters.waha_simulator.bodies import WORKING, JSONObject


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


@dataclass(frozen=True, slots=True)
class StatusStep:
    """Become `status` `after_seconds` after the previous step (or the schedule's start)."""

    status: str
    after_seconds: float


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One message the simulator accepted: proof of who got what, and how many times."""

    session: str
    chat_id: str
    message_id: str
    kind: str  # "text" or "image"
    accepted_at: datetime
    text: str | None = None
    caption: str | None = None
    mimetype: str | None = None
    media_sha256: str | None = None
    media_url: str | None = None

    @property
    def serialized_id(self) -> str:
        """Return WAHA's full message id, `true_<chat>_<raw id>`."""
        return f"true_{self.chat_id}_{self.message_id}"

    def to_json(self) -> JSONObject:
        """Return the control API's view of this entry."""
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
            "accepted_at": self.accepted_at.isoformat(),
        }
