"""How a run is asked to stop, how it ends, and what it talks to."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from app.campaigns import CampaignsApp
from app.ports import Clock, MediaStore, RandomSource, Sleeper, WahaGateway

T = TypeVar("T")


class RunEnd(StrEnum):
    """Why a run stopped."""

    COMPLETED = "completed"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    FENCED = "fenced"  # someone else recorded first: another runner or an operator
    NOT_RUNNING = "not_running"


@dataclass
class RunControl:
    """How the outside asks a running campaign to stop at the next safe point."""

    pause_requested: bool = False
    cancel_reason: str | None = None
    shutdown_requested: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def request_pause(self) -> None:
        """Pause at the next contact boundary, or now if waiting between contacts."""
        self.pause_requested = True
        self.wake.set()

    def request_cancel(self, reason: str) -> None:
        """Cancel at the next contact boundary, or now if waiting between contacts."""
        self.cancel_reason = reason
        self.wake.set()

    def request_shutdown(self) -> None:
        """Pause for a service stop at the next safe point; a running service resumes it."""
        self.shutdown_requested = True
        self.wake.set()


@dataclass(frozen=True)
class RunnerPorts:
    """What a run talks to: the event store and the ports of the outside world."""

    campaigns: CampaignsApp
    gateway: WahaGateway
    media: MediaStore
    clock: Clock
    sleeper: Sleeper
    rng: RandomSource

    async def store(self, func: Callable[..., T], *args: object, **kwargs: object) -> T:
        """Call the synchronous event store in a thread; no transaction spans an HTTP call."""
        return await asyncio.to_thread(func, *args, **kwargs)
