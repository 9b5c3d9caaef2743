"""Prometheus metrics on a registry of the app's own: campaigns, attempts, WAHA latency, HTTP."""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Awaitable, Iterator
from datetime import datetime
from typing import TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.campaigns import CampaignsApp
from app.ports import ImagePayload, SendReceipt, SentMessage, SessionStatusFact, WahaGateway
from domain.campaign import AttemptOutcome
from domain.contacts import ChatId
from domain.lifecycle import CampaignStatus

T = TypeVar("T")
# WAHA answers in milliseconds when well, waits up to its timeout (30 s) when a session is not.
_WAHA_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class CampaignsCollector(Collector):
    """Campaigns by status and attempts by outcome, read from the views at scrape time.

    Derived, not counted: every process serving the same store reports the same figures,
    and a restart loses nothing.
    """

    def __init__(self, campaigns: CampaignsApp) -> None:
        self._campaigns = campaigns

    def describe(self) -> Iterator[Metric]:
        """Return the families without values: registering must not read the store."""
        yield from self._families(Tally(), Tally(), Tally())

    def collect(self) -> Iterator[Metric]:
        """Return the families, counted from every campaign's view (reads the store)."""
        statuses: Tally[str] = Tally()
        outcomes: Tally[str] = Tally()
        deliveries: Tally[str] = Tally()
        for campaign_id in self._campaigns.all_campaign_ids():
            view = self._campaigns.campaign(campaign_id)
            statuses[view.status] += 1
            outcomes.update(
                {
                    AttemptOutcome.SENT.value: view.sent,
                    AttemptOutcome.FAILED.value: view.failed,
                    AttemptOutcome.SKIPPED.value: view.skipped,
                    AttemptOutcome.IN_DOUBT.value: view.in_doubt,
                }
            )
            deliveries.update({"delivered": view.delivered, "read": view.read})
        yield from self._families(statuses, outcomes, deliveries)

    @staticmethod
    def _families(
        statuses: Tally[str], outcomes: Tally[str], deliveries: Tally[str]
    ) -> Iterator[Metric]:
        by_status = GaugeMetricFamily(
            "waha_campaigns_campaigns", "Campaigns by status.", labels=["status"]
        )
        for status in CampaignStatus:
            by_status.add_metric([status.value], statuses[status.value])
        yield by_status
        by_outcome = CounterMetricFamily(
            "waha_campaigns_attempts", "Contact attempts by outcome.", labels=["outcome"]
        )
        for outcome in AttemptOutcome:
            by_outcome.add_metric([outcome.value], outcomes[outcome.value])
        yield by_outcome
        acked = CounterMetricFamily(
            "waha_campaigns_deliveries",
            "Messages WhatsApp acknowledged, by state.",
            labels=["state"],
        )
        for state in ("delivered", "read"):
            acked.add_metric([state], deliveries[state])
        yield acked


class TimedWahaGateway:
    """A WahaGateway that times every call of the one it wraps, by operation and outcome."""

    def __init__(self, inner: WahaGateway, seconds: Histogram) -> None:
        self._inner = inner
        self._seconds = seconds

    async def _timed(self, operation: str, call: Awaitable[T]) -> T:
        started = time.perf_counter()  # a duration, so monotonic; not business time
        outcome = "cancelled"
        try:
            result = await call
        except Exception as error:
            outcome = type(error).__name__
            raise
        else:
            outcome = "ok"
            return result
        finally:
            self._seconds.labels(operation, outcome).observe(time.perf_counter() - started)

    async def session_status(self, session: str) -> SessionStatusFact:
        """Return the session's status (timed)."""
        return await self._timed("session_status", self._inner.session_status(session))

    async def check_exists(self, session: str, phone: str) -> ChatId | None:
        """Return the chat id of `phone` (timed)."""
        return await self._timed("check_exists", self._inner.check_exists(session, phone))

    async def send_text(self, session: str, chat_id: str, text: str) -> SendReceipt:
        """Send a text (timed)."""
        return await self._timed("send_text", self._inner.send_text(session, chat_id, text))

    async def send_image(
        self, session: str, chat_id: str, image: ImagePayload, caption: str
    ) -> SendReceipt:
        """Send an image (timed)."""
        return await self._timed(
            "send_image", self._inner.send_image(session, chat_id, image, caption)
        )

    async def recent_own_messages(
        self, session: str, chat_id: str, since: datetime
    ) -> list[SentMessage]:
        """Return our recent messages in the chat (timed)."""
        return await self._timed(
            "recent_own_messages", self._inner.recent_own_messages(session, chat_id, since)
        )

    async def send_seen(self, session: str, chat_id: str) -> None:
        """Mark the chat as seen (timed)."""
        await self._timed("send_seen", self._inner.send_seen(session, chat_id))

    async def start_typing(self, session: str, chat_id: str) -> None:
        """Show "typing…" (timed)."""
        await self._timed("start_typing", self._inner.start_typing(session, chat_id))

    async def stop_typing(self, session: str, chat_id: str) -> None:
        """Stop showing "typing…" (timed)."""
        await self._timed("stop_typing", self._inner.stop_typing(session, chat_id))


class ApiMetrics:
    """The app's registry and the instruments the API itself updates."""

    def __init__(self, campaigns: CampaignsApp) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(CampaignsCollector(campaigns))
        self.waha_seconds = Histogram(
            "waha_campaigns_waha_request_seconds",
            "Time WAHA took to answer, by operation and outcome (ok or the error class).",
            ["operation", "outcome"],
            buckets=_WAHA_BUCKETS,
            registry=self.registry,
        )
        self.http_requests = Counter(
            "waha_campaigns_http_requests",
            "HTTP requests answered, by method, route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.webhooks = Counter(
            "waha_campaigns_webhooks",
            "WAHA webhooks received, by event and what became of them.",
            ["event", "result"],
            registry=self.registry,
        )

    def timed(self, gateway: WahaGateway) -> WahaGateway:
        """Return `gateway` with every call timed into waha_campaigns_waha_request_seconds."""
        return TimedWahaGateway(gateway, self.waha_seconds)

    def exposition(self) -> bytes:
        """Return the Prometheus text; it reads the store, so call it off the event loop."""
        return generate_latest(self.registry)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Count every answered request by its route's pattern (bounded labels, no ids)."""
        response = await handler(request)
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        self.http_requests.labels(request.method, route, str(response.status)).inc()
        return response
