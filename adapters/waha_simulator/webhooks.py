"""WAHA's webhook deliveries, as the simulator sends them: new envelope, optional HMAC-SHA512."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import aiohttp

from adapters.waha_simulator.bodies import (
    ENGINE,
    JSONObject,
    environment,
    epoch_ms,
    new_event_id,
)

if TYPE_CHECKING:
    from adapters.waha_simulator.config import Clock

logger = logging.getLogger(__name__)

# Deliveries run on this many workers, each session's on one of them: a session's events keep
# their order, and hundreds of busy sessions are not queued behind one slow POST at a time.
WEBHOOK_WORKERS: Final = 8
_HTTP_REDIRECT: Final = 300


@dataclass(frozen=True, slots=True)
class _Delivery:
    url: str
    hmac_key: str | None
    raw: bytes
    at_ms: int
    event: str
    session: str


def sign(raw_body: bytes, key: str) -> str:
    """Return WAHA's `X-Webhook-Hmac`: lower-case hex HMAC-SHA512 of the raw body."""
    return hmac.new(key.encode(), raw_body, hashlib.sha512).hexdigest()


def public_url(url: str) -> str:
    """Return `url` fit for a log line: no user, password, query or fragment (they may be keys)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "<an unreadable URL>"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _reason(error: BaseException, timeout_seconds: float) -> str:
    if isinstance(error, TimeoutError):
        return f"no answer within {timeout_seconds:g} s"
    # aiohttp's own texts may carry the whole URL, credentials and all: keep the kind.
    strerror = getattr(error, "strerror", None)
    kind = type(error).__name__
    return f"{kind}: {strerror}" if isinstance(strerror, str) else kind


class WebhookDispatcher:
    """Posts events in the order each session's happened, from background workers, never raising."""

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
        self._timeout_seconds = timeout_seconds
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._queues: list[asyncio.Queue[_Delivery]] = [
            asyncio.Queue() for _ in range(WEBHOOK_WORKERS)
        ]
        self._http: aiohttp.ClientSession | None = None
        self._workers: list[asyncio.Task[None]] = []

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

    def envelope(
        self, *, event: str, session: str, payload: JSONObject, me: JSONObject | None, metadata: Any
    ) -> JSONObject:
        """Return the envelope of an event happening now (OAS `WAHAWebhook*`)."""
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
        return envelope

    def emit(
        self, *, event: str, session: str, payload: JSONObject, me: JSONObject | None, metadata: Any
    ) -> None:
        """Queue one event, when webhooks go somewhere; its body is fixed now, when it happened."""
        if self._url is not None:
            self.post(
                self.envelope(
                    event=event, session=session, payload=payload, me=me, metadata=metadata
                )
            )

    def post(self, envelope: JSONObject) -> None:
        """Queue `envelope` for delivery, behind its session's earlier events; nowhere: drop it."""
        if self._url is None:
            return
        raw = json.dumps(envelope, separators=(",", ":")).encode()
        session = str(envelope["session"])
        delivery = _Delivery(
            self._url, self._hmac_key, raw, int(envelope["timestamp"]), envelope["event"], session
        )
        self._queues[hash(session) % len(self._queues)].put_nowait(delivery)

    def start(self, http: aiohttp.ClientSession) -> None:
        """Start delivering over `http`."""
        self._http = http
        loop = asyncio.get_running_loop()
        self._workers = [loop.create_task(self._deliver_forever(queue)) for queue in self._queues]

    async def stop(self) -> None:
        """Stop delivering; events still queued are dropped."""
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._workers = []
        self.discard_pending()

    async def drain(self) -> None:
        """Wait until every queued event has been delivered or has failed."""
        if self._workers:
            await asyncio.gather(*(queue.join() for queue in self._queues))

    def discard_pending(self) -> None:
        """Forget the events not yet delivered."""
        for queue in self._queues:
            while not queue.empty():
                queue.get_nowait()
                queue.task_done()

    async def _deliver_forever(self, queue: asyncio.Queue[_Delivery]) -> None:
        while True:
            delivery = await queue.get()
            try:
                await self._deliver(delivery)
            except (aiohttp.ClientError, TimeoutError, OSError) as error:
                # A receiver that is down must never take the simulator with it, nor its log:
                # one line per event, naming where it was going and why it did not get there.
                logger.warning(
                    "webhook %s of session %r not delivered to %s: %s",
                    delivery.event,
                    delivery.session,
                    public_url(delivery.url),
                    _reason(error, self._timeout_seconds),
                )
            except Exception:
                logger.exception(
                    "webhook %s to %s failed", delivery.event, public_url(delivery.url)
                )
            finally:
                queue.task_done()

    async def _deliver(self, delivery: _Delivery) -> None:
        if self._http is None:
            return
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"WAHA/{self._version}",
            "X-Webhook-Request-Id": secrets.token_hex(16),
            "X-Webhook-Timestamp": str(delivery.at_ms),
        }
        if delivery.hmac_key is not None:
            headers["X-Webhook-Hmac"] = sign(delivery.raw, delivery.hmac_key)
            headers["X-Webhook-Hmac-Algorithm"] = "sha512"
        async with self._http.post(
            delivery.url, data=delivery.raw, headers=headers, timeout=self._timeout
        ) as answer:
            await answer.read()
            if answer.status >= _HTTP_REDIRECT:
                logger.warning(
                    "webhook %s of session %r: receiver %s answered HTTP %d",
                    delivery.event,
                    delivery.session,
                    public_url(delivery.url),
                    answer.status,
                )
