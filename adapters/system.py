"""The real clock, sleeper and random source: the only place that reads the wall clock."""

from __future__ import annotations

import asyncio
import os
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
    """Chance seeded from the operating system, so pacing is not predictable.

    Seeded once rather than asking the kernel for every gap: a pacing jitter needs no
    cryptographic strength, and a system call per draw showed in the lanes' profile.
    """

    def __init__(self) -> None:
        self._random = random.Random(os.urandom(32))

    def uniform(self) -> float:
        """Return a number in [0, 1)."""
        return self._random.random()
