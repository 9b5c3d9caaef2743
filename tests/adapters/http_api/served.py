"""The API served on loopback from a thread of its own, for synchronous clients (schemathesis)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from aiohttp import web

_STOP_SECONDS = 30


@contextlib.contextmanager
def served(app: web.Application) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 from its own event loop and thread; yield its base URL."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        host, port = runner.addresses[0][:2]
        thread = threading.Thread(target=loop.run_forever, name="served-api", daemon=True)
        thread.start()
        try:
            yield f"http://{host}:{port}"
        finally:
            stopping = asyncio.run_coroutine_threadsafe(runner.cleanup(), loop)
            stopping.result(timeout=_STOP_SECONDS)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=_STOP_SECONDS)
    finally:
        if not loop.is_running():
            if runner.server is not None:
                loop.run_until_complete(runner.cleanup())
            loop.close()
