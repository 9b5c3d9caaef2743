"""Prometheus metrics on a registry of the app's own: campaigns, attempts, WAHA latency, HTTP."""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Awaitable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.ports import (
    ImagePayload,
    MediaPayload,
    SendReceipt,
    SentMessage,
    SessionStatusFact,
    WahaGateway,
)
from app.read_models import CampaignContacts
from app.supervisor import CampaignFacts
from domain.campaign import AttemptOutcome
from domain.contacts import ChatId
from domain.lifecycle import CampaignStatus
from domain.session import SessionName

T = TypeVar("T")
# WAHA answers in milliseconds when well, waits up to its timeout (30 s) when a session is not.
_WAHA_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(frozen=True)
class CampaignFigures:
    """What /metrics says about campaigns: how many are in each status, and what they did."""

    statuses: Tally[str] = field(default_factory=Tally)
    outcomes: Tally[str] = field(default_factory=Tally)
    deliveries: Tally[str] = field(default_factory=Tally)

    @classmethod
    def of(cls, facts: Iterable[CampaignFacts], deliveries: Tally[str]) -> CampaignFigures:
        """Return the figures of every campaign's facts and the delivery totals."""
        statuses: Tally[str] = Tally()
        outcomes: Tally[str] = Tally()
        for campaign in facts:
            statuses[campaign.status.value] += 1
            outcomes[AttemptOutcome.SENT.value] += campaign.sent
            outcomes[AttemptOutcome.FAILED.value] += campaign.failed
            outcomes[AttemptOutcome.SKIPPED.value] += campaign.skipped
            outcomes[AttemptOutcome.IN_DOUBT.value] += campaign.in_doubt
        return cls(statuses, outcomes, deliveries)


class CampaignsCollector(Collector):
    """Campaigns by status, attempts by outcome and acks by state, as of one scrape.

    Derived, not counted: every process serving the same store reports the same figures,
    and a restart loses nothing.
    """

    def __init__(self, figures: CampaignFigures) -> None:
        self._figures = figures

    def collect(self) -> Iterator[Metric]:
        """Return the families with this scrape's figures."""
        figures = self._figures
        by_status = GaugeMetricFamily(
            "waha_campaigns_campaigns", "Campaigns by status.", labels=["status"]
        )
        for status in CampaignStatus:
            by_status.add_metric([status.value], figures.statuses[status.value])
        yield by_status
        by_outcome = CounterMetricFamily(
            "waha_campaigns_attempts", "Contact attempts by outcome.", labels=["outcome"]
        )
        for outcome in AttemptOutcome:
            by_outcome.add_metric([outcome.value], figures.outcomes[outcome.value])
        yield by_outcome
        acked = CounterMetricFamily(
            "waha_campaigns_deliveries",
            "Messages WhatsApp acknowledged, by state.",
            labels=["state"],
        )
        for state in ("delivered", "read"):
            acked.add_metric([state], figures.deliveries[state])
        yield acked


class DeliveryTotals:
    """Messages delivered and read over every campaign, as the read model keeps them.

    The read model counts acks as they are recorded, so a scrape is one small query however
    many messages were sent. Blocking (it reads the store): call `totals` off the event loop.
    """

    def __init__(self, contacts: CampaignContacts) -> None:
        self._contacts = contacts

    def totals(self) -> Tally[str]:
        """Return the delivered and read counts."""
        return Tally(self._contacts.delivery_totals())


class _Scrape(Collector):
    """One scrape: this moment's campaign figures, then the app's registry."""

    def __init__(self, registry: CollectorRegistry, campaigns: CampaignsCollector) -> None:
        self._registry = registry
        self._campaigns = campaigns

    def collect(self) -> Iterator[Metric]:
        """Return the campaign families, then every family of the registry."""
        yield from self._campaigns.collect()
        yield from self._registry.collect()


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

    async def session_status(self, session: SessionName) -> SessionStatusFact:
        """Return the session's status (timed)."""
        return await self._timed("session_status", self._inner.session_status(session))

    async def check_exists(self, session: SessionName, phone: str) -> ChatId | None:
        """Return the chat id of `phone` (timed)."""
        return await self._timed("check_exists", self._inner.check_exists(session, phone))

    async def phone_of_lid(self, session: SessionName, lid: str) -> ChatId | None:
        """Return the chat behind a linked id (timed)."""
        return await self._timed("phone_of_lid", self._inner.phone_of_lid(session, lid))

    async def new_message_id(self, session: SessionName) -> str:
        """Return a fresh raw message id (timed)."""
        return await self._timed("new_message_id", self._inner.new_message_id(session))

    async def send_text(
        self, session: SessionName, chat_id: ChatId, text: str, *, message_id: str | None = None
    ) -> SendReceipt:
        """Send a text (timed)."""
        return await self._timed(
            "send_text", self._inner.send_text(session, chat_id, text, message_id=message_id)
        )

    async def send_image(
        self, session: SessionName, chat_id: ChatId, image: ImagePayload, caption: str
    ) -> SendReceipt:
        """Send an image (timed)."""
        return await self._timed(
            "send_image", self._inner.send_image(session, chat_id, image, caption)
        )

    async def send_media(
        self,
        session: SessionName,
        chat_id: ChatId,
        media: MediaPayload,
        caption: str,
        *,
        message_id: str | None = None,
    ) -> SendReceipt:
        """Send a media file by its kind (timed)."""
        return await self._timed(
            "send_media",
            self._inner.send_media(session, chat_id, media, caption, message_id=message_id),
        )

    async def find_message(self, session: SessionName, message_id: str) -> SentMessage | None:
        """Return our message by raw id, or None (timed)."""
        return await self._timed("find_message", self._inner.find_message(session, message_id))

    async def recent_own_messages(
        self, session: SessionName, chat_id: ChatId, since: datetime
    ) -> list[SentMessage]:
        """Return our recent messages in the chat (timed)."""
        return await self._timed(
            "recent_own_messages", self._inner.recent_own_messages(session, chat_id, since)
        )

    async def send_seen(self, session: SessionName, chat_id: ChatId) -> None:
        """Mark the chat as seen (timed)."""
        await self._timed("send_seen", self._inner.send_seen(session, chat_id))

    async def start_typing(self, session: SessionName, chat_id: ChatId) -> None:
        """Show "typing…" (timed)."""
        await self._timed("start_typing", self._inner.start_typing(session, chat_id))

    async def stop_typing(self, session: SessionName, chat_id: ChatId) -> None:
        """Stop showing "typing…" (timed)."""
        await self._timed("stop_typing", self._inner.stop_typing(session, chat_id))


class ApiMetrics:
    """The app's registry and the instruments the API itself updates."""

    def __init__(self, contacts: CampaignContacts) -> None:
        self.registry = CollectorRegistry()
        self.deliveries = DeliveryTotals(contacts)
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

    def exposition(self, facts: Iterable[CampaignFacts]) -> bytes:
        """Return the Prometheus text with `facts`; it reads the store, so call it off the loop."""
        figures = CampaignFigures.of(facts, self.deliveries.totals())
        # Built per scrape, not registered: the figures are this scrape's, never shared state.
        scrape = _Scrape(self.registry, CampaignsCollector(figures))
        return generate_latest(scrape)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Count every answered request by its route's pattern (bounded labels, no ids)."""
        response = await handler(request)
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        self.http_requests.labels(request.method, route, str(response.status)).inc()
        return response
