"""WAHA's webhook deliveries, as the simulator sends them: new envelope, optional HMAC-SHA512."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
from typing import TYPE_CHECKING, Any

import aiohttp

from adapters.waha_simulator.bodies import ENGINE, JSONObject, environment, epoch_ms, new_event_id

if TYPE_CHECKING:
    from adapters.waha_simulator.config import Clock

logger = logging.getLogger(__name__)

_Delivery = tuple[str, str | None, bytes, int]


def sign(raw_body: bytes, key: str) -> str:
    """Return WAHA's `X-Webhook-Hmac`: lower-case hex HMAC-SHA512 of the raw body."""
    return hmac.new(key.encode(), raw_body, hashlib.sha512).hexdigest()


class WebhookDispatcher:
    """Posts events in the order they happened, from one background task, never raising."""

    def __init__(
        self,
        *,
        version: str,
        clock: Clock,
        url: str | None = None,
        hmac_key: str | None = None,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._version = version
        self._clock = clock
        self._url = url
        self._hmac_key = hmac_key
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._queue: asyncio.Queue[_Delivery] = asyncio.Queue()
        self._http: aiohttp.ClientSession | None = None
        self._worker: asyncio.Task[None] | None = None

    @property
    def url(self) -> str | None:
        """Where events go; None sends none."""
        return self._url

    @property
    def signs(self) -> bool:
        """Whether deliveries carry an HMAC signature."""
        return self._hmac_key is not None

    def configure(self, url: str | None, hmac_key: str | None) -> None:
        """Send later events to `url`, signed with `hmac_key` when it is set."""
        self._url = url
        self._hmac_key = hmac_key

    def emit(
        self, *, event: str, session: str, payload: JSONObject, me: JSONObject | None, metadata: Any
    ) -> None:
        """Queue one event; the body and its timestamp are fixed now, when it happened."""
        if self._url is None:
            return
        now = self._clock.now()
        envelope: JSONObject = {
            "id": new_event_id(now),
            "timestamp": epoch_ms(now),
            "session": session,
            "engine": ENGINE,
            "event": event,
            "payload": payload,
            "environment": environment(self._version),
            "me": me,
        }
        if metadata is not None:
            envelope["metadata"] = metadata
        raw = json.dumps(envelope, separators=(",", ":")).encode()
        self._queue.put_nowait((self._url, self._hmac_key, raw, epoch_ms(now)))

    def start(self, http: aiohttp.ClientSession) -> None:
        """Start delivering over `http`."""
        self._http = http
        self._worker = asyncio.get_running_loop().create_task(self._deliver_forever())

    async def stop(self) -> None:
        """Stop delivering; events still queued are dropped."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        self.discard_pending()

    async def drain(self) -> None:
        """Wait until every queued event has been delivered or has failed."""
        if self._worker is not None:
            await self._queue.join()

    def discard_pending(self) -> None:
        """Forget the events not yet delivered."""
        while not self._queue.empty():
            self._queue.get_nowait()
            self._queue.task_done()

    async def _deliver_forever(self) -> None:
        while True:
            delivery = await self._queue.get()
            try:
                await self._deliver(*delivery)
            except Exception:
                # A receiver that is down or broken must never take the simulator with it.
                logger.warning("webhook delivery to %s failed", delivery[0], exc_info=True)
            finally:
                self._queue.task_done()

    async def _deliver(self, url: str, hmac_key: str | None, raw: bytes, at_ms: int) -> None:
        if self._http is None:
            return
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"WAHA/{self._version}",
            "X-Webhook-Request-Id": secrets.token_hex(16),
            "X-Webhook-Timestamp": str(at_ms),
        }
        if hmac_key is not None:
            headers["X-Webhook-Hmac"] = sign(raw, hmac_key)
            headers["X-Webhook-Hmac-Algorithm"] = "sha512"
        async with self._http.post(url, data=raw, headers=headers, timeout=self._timeout) as answer:
            await answer.read()
            if answer.status >= 300:  # noqa: PLR2004
                logger.warning("webhook receiver %s answered %s", url, answer.status)
