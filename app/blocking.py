"""The one way async code calls something synchronous that may block: in a worker thread.

eventsourcing has no async API, and files and SQL block too; every hop off the event loop
goes through here, so there is one place to bound or tune it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


async def off_loop(func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Return `func(*args, **kwargs)`, run in a worker thread so the event loop keeps serving."""
    return await asyncio.to_thread(func, *args, **kwargs)
