"""Deterministic stand-ins for the clock, sleeper and random source."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class InstantSleeper:
    """Records every wait and returns at once, moving a ManualClock if given one."""

    def __init__(self, clock: ManualClock | None = None) -> None:
        self.waits: list[float] = []
        self._clock = clock
        self.on_sleep: Callable[[int], None] | None = None

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.on_sleep is not None:
            # Lets a test change the world "during" the wait, e.g. stop the session.
            self.on_sleep(len(self.waits))
        if self._clock is not None:
            self._clock.advance(seconds)
        await asyncio.sleep(0)


class SeededRandom:
    """Returns the given fractions in turn, then repeats the last."""

    def __init__(self, *fractions: float) -> None:
        self._fractions = list(fractions) or [0.5]
        self._next = 0

    def uniform(self) -> float:
        value = self._fractions[min(self._next, len(self._fractions) - 1)]
        self._next += 1
        return value


class ParkingSleeper(InstantSleeper):
    """Instant for short waits; parks long ones until released (or the waiter is cancelled).

    A lane watching a session that went down waits seconds between polls; parked, it waits
    for the test to `release()` it instead of polling in a tight loop on a racing clock.
    """

    def __init__(self, clock: ManualClock | None = None, *, park_at: float = 1.0) -> None:
        super().__init__(clock)
        self.park_at = park_at
        self._released = asyncio.Event()
        self.parked = 0

    async def sleep(self, seconds: float) -> None:
        if seconds < self.park_at:
            await super().sleep(seconds)
            return
        self.parked += 1
        try:
            await self._released.wait()
        finally:
            self.parked -= 1
        self._released.clear()
        await super().sleep(seconds)

    def release(self) -> None:
        """Let every parked wait end now (as if its time had passed)."""
        self._released.set()
