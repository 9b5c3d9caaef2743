"""CampaignRunner: check the session, decide, record the intent, send, record, wait; repeat."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from http import HTTPStatus
from typing import TypeVar
from uuid import UUID

from app.campaigns import CampaignsApp
from app.errors import ConcurrentUpdateError
from app.ports import (
    AccountRestrictedError,
    Clock,
    GatewayError,
    GatewayRejectedError,
    GatewayUnavailableError,
    ImagePayload,
    MediaStore,
    RandomSource,
    RateLimitedError,
    SendOutcomeUnknownError,
    SendReceipt,
    Sleeper,
    WahaGateway,
)
from app.views import CampaignView
from domain.campaign import AttemptOutcome, Campaign, PauseReason
from domain.contacts import Contact
from domain.content import MessageContent
from domain.errors import DomainError
from domain.pacing import CampaignOptions, Pacing
from domain.policy import Pause, decide, too_many_failures, typing_seconds

T = TypeVar("T")
log = logging.getLogger("waha_campaigns.runner")


class RunEnd(StrEnum):
    """Why a run stopped."""

    COMPLETED = "completed"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    STOPPED = "stopped"  # shutdown: nothing in flight, a restart continues
    FENCED = "fenced"  # another runner owns the campaign
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
        """Stop at the next safe point without recording anything; a restart continues."""
        self.shutdown_requested = True
        self.wake.set()

    @property
    def stop_requested(self) -> bool:
        """Whether anything asked the run to stop."""
        return self.pause_requested or self.cancel_reason is not None or self.shutdown_requested


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


class CampaignRunner:
    """Sends a campaign contact by contact; every decision is recorded before it takes effect."""

    def __init__(self, ports: RunnerPorts) -> None:
        self.ports = ports

    async def run(self, campaign_id: UUID, control: RunControl | None = None) -> RunEnd:
        """Run the campaign from its replayed position until it completes or stops."""
        control = control or RunControl()
        campaigns = self.ports.campaigns
        campaign: Campaign = await self.ports.store(campaigns.load, campaign_id)
        if campaign.status != "Running":
            return RunEnd.NOT_RUNNING
        contacts = await self.ports.store(campaigns.audience_of, campaign_id)
        return await _Run(self.ports, campaign, contacts, control).go()


class _Run:
    """One pass of a runner over one campaign; holds what the loop needs between contacts."""

    def __init__(
        self,
        ports: RunnerPorts,
        campaign: Campaign,
        contacts: list[Contact],
        control: RunControl,
    ) -> None:
        self.p = ports
        self.id = campaign.id
        self.session = campaign.session
        self.contacts = contacts
        self.control = control
        self.content = MessageContent.from_record(campaign.message)
        self.pacing = Pacing.from_record(campaign.pacing)
        self.options = CampaignOptions.from_record(campaign.options)
        self.image: ImagePayload | None = None
        self.in_flight = campaign.in_flight
        self.next_index = campaign.next_index
        self.last_delay = 0.0

    async def go(self) -> RunEnd:
        if self.in_flight is not None:
            # A previous run died between intent and outcome: find out, never resend blindly.
            end = await self._settle_in_flight()
            if end is not None:
                return end
        while True:
            end = await self._boundary()
            if end is not None:
                return end
            end = await self._handle(self.next_index)
            if end is not None:
                return end

    # -- one contact ---------------------------------------------------------------------

    async def _boundary(self) -> RunEnd | None:
        """Between two contacts: complete, or obey the operator, or check the session."""
        total = len(self.contacts)
        if self.next_index >= total:
            await self.p.store(self.p.campaigns.complete_campaign, self.id)
            log.info("campaign %s completed: %d contacts", self.id, total)
            return RunEnd.COMPLETED
        end = await self._obey_control()
        if end is not None:
            return end
        i = self.next_index
        try:
            fact = await self.p.gateway.session_status(self.session)
        except GatewayError as error:
            log.warning(
                "[campaign %s | contact %d/%d] status check of session %r failed: %s; pausing",
                self.id,
                i + 1,
                total,
                self.session,
                error,
            )
            return await self._pause(PauseReason.STATUS_CHECK_FAILED, str(error))
        decision = decide(fact.status)
        if isinstance(decision, Pause):
            log.warning(
                "[campaign %s | contact %d/%d] session %r is %s, not WORKING; pausing",
                self.id,
                i + 1,
                total,
                self.session,
                fact.status,
            )
            return await self._pause(decision.reason, fact.status)
        log.debug(
            "[campaign %s | contact %d/%d] session %r is WORKING",
            self.id,
            i + 1,
            total,
            self.session,
        )
        return None

    async def _handle(self, i: int) -> RunEnd | None:  # noqa: PLR0911 - one exit per outcome
        contact = self.contacts[i]
        chat_id = str(contact.chat_id)
        if self.options.check_numbers:
            try:
                found = await self.p.gateway.check_exists(self.session, contact.phone.lstrip("+"))
            except GatewayError as error:
                return await self._pause(PauseReason.NUMBER_CHECK_FAILED, str(error))
            if found is None:
                await self._record(i, chat_id, AttemptOutcome.SKIPPED, error="not on WhatsApp")
                return None
            chat_id = str(found)
        attempt_id = uuid.uuid4().hex
        try:
            await self.p.store(
                self.p.campaigns.begin_attempt,
                self.id,
                index=i,
                attempt_id=attempt_id,
                chat_id=chat_id,
            )
        except (ConcurrentUpdateError, DomainError) as error:
            # The intent is the fence: whoever recorded first owns the contact.
            log.warning(
                "campaign %s: another runner owns contact %d (%s); stopping", self.id, i, error
            )
            return RunEnd.FENCED
        self.in_flight = {
            "index": i,
            "attempt_id": attempt_id,
            "chat_id": chat_id,
            "at": self.p.clock.now(),
        }
        text = self.content.template.render(contact.template_values())
        try:
            if self.options.simulate_typing:
                await self._type(chat_id, text)
            receipt = await self._send(chat_id, text)
        except (AccountRestrictedError, RateLimitedError, GatewayUnavailableError) as error:
            return await self._abandon_and_pause(i, attempt_id, error)
        except GatewayRejectedError as error:
            if error.session_status is not None or error.status == HTTPStatus.NOT_FOUND:
                return await self._abandon_and_pause(i, attempt_id, error)
            return await self._after_outcome(
                i,
                chat_id=chat_id,
                outcome=AttemptOutcome.FAILED,
                error=_short(error),
                attempt_id=attempt_id,
            )
        except SendOutcomeUnknownError as error:
            return await self._settle_in_flight(reason=str(error))
        return await self._after_outcome(
            i,
            chat_id=chat_id,
            outcome=AttemptOutcome.SENT,
            message_id=receipt.message_id,
            attempt_id=attempt_id,
        )

    async def _send(self, chat_id: str, text: str) -> SendReceipt:
        image = self.content.image
        if image is None:
            return await self.p.gateway.send_text(self.session, chat_id, text)
        if self.image is None:
            self.image = await self.p.store(self.p.media.load, image.media_id)
        return await self.p.gateway.send_image(self.session, chat_id, self.image, text)

    async def _type(self, chat_id: str, text: str) -> None:
        # A courtesy WAHA recommends against bans; its failure must not stop a send.
        try:
            await self.p.gateway.send_seen(self.session, chat_id)
            await self.p.gateway.start_typing(self.session, chat_id)
            await self.p.sleeper.sleep(typing_seconds(text))
            await self.p.gateway.stop_typing(self.session, chat_id)
        except GatewayError as error:
            log.info("campaign %s: typing courtesy failed: %s", self.id, error)

    async def _abandon_and_pause(self, i: int, attempt_id: str, error: GatewayError) -> RunEnd:
        reason = _pause_reason_for(error)
        await self.p.store(
            self.p.campaigns.abandon_attempt,
            self.id,
            index=i,
            attempt_id=attempt_id,
            reason=_short(error),
        )
        self.in_flight = None
        log.warning(
            "campaign %s: WAHA refused contact %d before sending (%s); pausing", self.id, i, error
        )
        return await self._pause(reason, _short(error))

    async def _settle_in_flight(
        self, reason: str = "the previous run stopped mid-send"
    ) -> RunEnd | None:
        """Look the uncertain send up in WAHA: found means sent, otherwise in doubt."""
        assert self.in_flight is not None  # noqa: S101 - only called with a send in flight
        flight = self.in_flight
        i, chat_id, attempt_id = (
            int(flight["index"]),
            str(flight["chat_id"]),
            str(flight["attempt_id"]),
        )
        message_id: str | None = None
        outcome = AttemptOutcome.IN_DOUBT
        error: str | None = f"outcome unknown: {reason}"
        try:
            found = await self.p.gateway.recent_own_messages(self.session, chat_id, flight["at"])
        except GatewayError as lookup_error:
            error = f"outcome unknown: {reason}; lookup failed: {_short(lookup_error)}"
        else:
            if found:
                outcome, message_id, error = AttemptOutcome.SENT, found[0].message_id, None
        log.warning(
            "campaign %s: contact %d's send was uncertain; reconciled as %s",
            self.id,
            i,
            outcome.value,
        )
        return await self._after_outcome(
            i,
            chat_id=chat_id,
            outcome=outcome,
            message_id=message_id,
            error=error,
            attempt_id=attempt_id,
        )

    async def _after_outcome(
        self,
        i: int,
        *,
        chat_id: str,
        outcome: AttemptOutcome,
        message_id: str | None = None,
        error: str | None = None,
        attempt_id: str | None = None,
    ) -> RunEnd | None:
        view = await self._record(
            i,
            chat_id,
            outcome,
            message_id=message_id,
            error=error,
            attempt_id=attempt_id,
            pace=True,
        )
        campaign: Campaign = await self.p.store(self.p.campaigns.load, self.id)
        guard = too_many_failures(campaign, self.options.max_consecutive_failures)
        if guard is not None:
            return await self._pause(guard.reason, guard.detail)
        if view.next_index < len(self.contacts) and self.last_delay:
            return await self._wait(self.last_delay)
        return None

    async def _record(
        self,
        i: int,
        chat_id: str,
        outcome: AttemptOutcome,
        *,
        message_id: str | None = None,
        error: str | None = None,
        attempt_id: str | None = None,
        pace: bool = False,
    ) -> CampaignView:
        delay = (
            self.pacing.delay(self.p.rng.uniform())
            if pace and self.pacing.max_seconds > 0
            else None
        )
        self.last_delay = delay or 0.0
        view = await self.p.store(
            self.p.campaigns.record_attempt,
            self.id,
            index=i,
            chat_id=chat_id,
            outcome=outcome,
            message_id=message_id,
            error=error,
            attempt_id=attempt_id,
            delay_seconds=delay,
        )
        self.in_flight = None
        self.next_index = view.next_index
        log.info(
            "[campaign %s | contact %d/%d] %s", self.id, i + 1, len(self.contacts), outcome.value
        )
        return view

    async def _wait(self, seconds: float) -> RunEnd | None:
        """Wait between contacts; an operator's pause or cancel cuts the wait short."""
        sleep = asyncio.ensure_future(self.p.sleeper.sleep(seconds))
        woken = asyncio.ensure_future(self.control.wake.wait())
        try:
            await asyncio.wait({sleep, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleep, woken):
                task.cancel()
        return await self._obey_control()

    async def _obey_control(self) -> RunEnd | None:
        control = self.control
        if control.cancel_reason is not None:
            await self.p.store(
                self.p.campaigns.cancel_campaign, self.id, reason=control.cancel_reason
            )
            return RunEnd.CANCELLED
        if control.pause_requested:
            return await self._pause(PauseReason.MANUAL, "paused by operator")
        if control.shutdown_requested:
            log.info("campaign %s: stopping for shutdown at contact %d", self.id, self.next_index)
            return RunEnd.STOPPED
        return None

    async def _pause(self, reason: PauseReason, detail: str) -> RunEnd:
        try:
            await self.p.store(
                self.p.campaigns.pause_campaign, self.id, reason=reason, detail=detail
            )
        except (ConcurrentUpdateError, DomainError) as error:
            log.warning(
                "campaign %s: could not pause (%s); another actor changed it", self.id, error
            )
            return RunEnd.FENCED
        log.info(
            "campaign %s paused at contact %d: %s (%s)",
            self.id,
            self.next_index,
            reason.value,
            detail,
        )
        return RunEnd.PAUSED


def _pause_reason_for(error: GatewayError) -> PauseReason:
    if isinstance(error, AccountRestrictedError):
        return PauseReason.ACCOUNT_RESTRICTED
    if isinstance(error, RateLimitedError):
        return PauseReason.RATE_LIMITED
    if isinstance(error, GatewayUnavailableError):
        return PauseReason.WAHA_UNAVAILABLE
    return PauseReason.SESSION_NOT_WORKING


def _short(error: Exception, limit: int = 300) -> str:
    text = str(error)
    return text if len(text) <= limit else text[: limit - 1] + "…"
