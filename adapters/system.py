"""The real clock, sleeper and random source: the only place that reads the wall clock."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware UTC."""
        return datetime.now(UTC)


class AsyncioSleeper:
    """Waits with asyncio, so a cancelled task stops waiting at once."""

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds`."""
        await asyncio.sleep(seconds)


class SystemRandom:
    """Chance from the operating system, so pacing is not predictable."""

    def __init__(self) -> None:
        self._random = random.SystemRandom()

    def uniform(self) -> float:
        """Return a number in [0, 1)."""
        return self._random.random()
