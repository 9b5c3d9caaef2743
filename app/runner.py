"""CampaignRunner: check the session, decide, record the intent, send, record, wait; repeat."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
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
from domain.campaign import AttemptOutcome, Campaign, PauseReason
from domain.contacts import Contact
from domain.content import MessageContent
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
    FENCED = "fenced"  # someone else recorded first: another runner or an operator
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
        """Stop at the next safe point without pausing; a restart continues."""
        self.shutdown_requested = True
        self.wake.set()


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
        campaigns = self.ports.campaigns
        campaign: Campaign = await self.ports.store(campaigns.load, campaign_id)
        if campaign.status != "Running":
            return RunEnd.NOT_RUNNING
        contacts = await self.ports.store(campaigns.audience_of, campaign_id)
        return await _Run(self.ports, campaign, contacts, control or RunControl()).go()


class _FencedError(Exception):
    """Our append conflicted: someone else owns the campaign now."""


class _Run:
    """One pass over one campaign, holding the aggregate and appending to it directly.

    The store's version check on every save is the fence against any other writer.
    """

    def __init__(
        self,
        ports: RunnerPorts,
        campaign: Campaign,
        contacts: list[Contact],
        control: RunControl,
    ) -> None:
        self.p = ports
        self.campaign = campaign
        self.contacts = contacts
        self.control = control
        self.content = MessageContent.from_record(campaign.message)
        self.pacing = Pacing.from_record(campaign.pacing)
        self.options = CampaignOptions.from_record(campaign.options)
        self.image: ImagePayload | None = None

    @property
    def id(self) -> UUID:
        return self.campaign.id

    @property
    def session(self) -> str:
        return self.campaign.session

    def _where(self) -> str:
        i = self.campaign.next_index
        return f"[campaign {self.id} | contact {i + 1}/{len(self.contacts)}]"

    async def go(self) -> RunEnd:
        try:
            if self.campaign.in_flight is not None:
                # A previous run died between intent and outcome: find out, never resend.
                await self._settle_in_flight("the previous run stopped mid-send")
            while True:
                end = await self._next_contact()
                if end is not None:
                    await self._flush()
                    return end
        except _FencedError:
            log.warning("campaign %s: someone else recorded first; this run stops", self.id)
            return RunEnd.FENCED
        except Exception:
            # Keep what is known (an outcome not yet saved) before the task dies.
            await self._flush()
            raise

    # -- recording ------------------------------------------------------------------------

    async def _flush(self) -> None:
        """Save what the held campaign has pending, in one transaction."""
        if not self.campaign.pending_events:
            return
        try:
            await self.p.store(self.p.campaigns.save_campaign, self.campaign)
        except ConcurrentUpdateError:
            await self._recover_from_conflict()
            raise _FencedError from None

    async def _recover_from_conflict(self) -> None:
        # Our save lost. An outcome we hold must still reach the log if our intent is there.
        lost = [
            e for e in self.campaign.collect_events() if isinstance(e, Campaign.ContactAttempted)
        ]
        fresh: Campaign = await self.p.store(self.p.campaigns.load, self.id)
        for outcome in lost:
            flight = fresh.in_flight
            if flight is not None and flight["attempt_id"] == outcome.attempt_id:
                fresh.record_attempt(
                    index=outcome.index,
                    chat_id=outcome.chat_id,
                    outcome=AttemptOutcome(outcome.outcome),
                    message_id=outcome.message_id,
                    error=outcome.error,
                    attempt_id=outcome.attempt_id,
                    at=outcome.at or self.p.clock.now(),
                )
                await self.p.store(self.p.campaigns.save_campaign, fresh)
        self.campaign = fresh

    def _now(self) -> datetime:
        return self.p.clock.now()

    # -- one contact ---------------------------------------------------------------------

    async def _next_contact(self) -> RunEnd | None:
        """Handle the next contact: complete, obey the operator, check, record intent, send."""
        i = self.campaign.next_index
        if i >= len(self.contacts):
            self.campaign.complete(at=self._now())
            log.info("campaign %s completed: %d contacts", self.id, len(self.contacts))
            return RunEnd.COMPLETED
        end = self._obey_control()
        if end is not None:
            return end
        contact = self.contacts[i]
        chat_id = str(contact.chat_id)
        attempt_id = uuid.uuid4().hex
        if self._pipelined:
            # Zero pacing: save this intent (with the last outcome) while the session is
            # checked; the send waits for both, and a failed check abandons the intent.
            self.campaign.begin_attempt(
                index=i, attempt_id=attempt_id, chat_id=chat_id, at=self._now()
            )
            flushed, pause = await asyncio.gather(
                self._flush(), self._check_session(), return_exceptions=True
            )
            if isinstance(flushed, BaseException):
                raise flushed
            if isinstance(pause, BaseException):
                raise pause
            if pause is not None:
                self.campaign.abandon_attempt(
                    index=i, attempt_id=attempt_id, reason=pause.detail, at=self._now()
                )
                return self._pause(pause.reason, pause.detail)
        else:
            prepared = await self._check_then_intend(i, contact, attempt_id)
            if prepared is None or isinstance(prepared, RunEnd):  # RunEnd is a str too
                return prepared
            chat_id = prepared
        return await self._send_to(i, contact, chat_id, attempt_id)

    async def _check_then_intend(
        self, i: int, contact: Contact, attempt_id: str
    ) -> str | RunEnd | None:
        """Check the session (and the number), then record the intent; return the chat id."""
        pause = await self._check_session()
        if pause is not None:
            return self._pause(pause.reason, pause.detail)
        chat_id = str(contact.chat_id)
        if self.options.check_numbers:
            try:
                found = await self.p.gateway.check_exists(self.session, contact.phone.lstrip("+"))
            except GatewayError as error:
                return self._pause(PauseReason.NUMBER_CHECK_FAILED, _short(error))
            if found is None:
                self._record(i, chat_id, AttemptOutcome.SKIPPED, error="not on WhatsApp")
                return None
            chat_id = str(found)
        self.campaign.begin_attempt(index=i, attempt_id=attempt_id, chat_id=chat_id, at=self._now())
        # The intent is durable before the send; a conflict means we do not own it.
        await self._flush()
        return chat_id

    @property
    def _pipelined(self) -> bool:
        return self.pacing.max_seconds <= 0 and not self.options.check_numbers

    async def _check_session(self) -> Pause | None:
        """Ask WAHA for the session's status; a pause when it is not WORKING or cannot say."""
        try:
            fact = await self.p.gateway.session_status(self.session)
        except GatewayError as error:
            log.warning(
                "%s status check of session %r failed: %s; pausing",
                self._where(),
                self.session,
                _short(error),
            )
            return Pause(PauseReason.STATUS_CHECK_FAILED, _short(error))
        decision = decide(fact.status)
        if isinstance(decision, Pause):
            log.warning(
                "%s session %r is %s, not WORKING; pausing",
                self._where(),
                self.session,
                fact.status,
            )
            return Pause(decision.reason, fact.status)
        return None

    async def _send_to(
        self, i: int, contact: Contact, chat_id: str, attempt_id: str
    ) -> RunEnd | None:
        text = self.content.template.render(contact.template_values())
        try:
            if self.options.simulate_typing:
                await self._type(chat_id, text)
            receipt = await self._send(chat_id, text)
        except (AccountRestrictedError, RateLimitedError, GatewayUnavailableError) as error:
            return self._abandon_and_pause(i, attempt_id, error)
        except GatewayRejectedError as error:
            if error.session_status is not None or error.status == HTTPStatus.NOT_FOUND:
                return self._abandon_and_pause(i, attempt_id, error)
            self._record(
                i, chat_id, AttemptOutcome.FAILED, error=_short(error), attempt_id=attempt_id
            )
            return await self._after_outcome()
        except SendOutcomeUnknownError as error:
            await self._settle_in_flight(_short(error))
            return await self._after_outcome()
        self._record(
            i, chat_id, AttemptOutcome.SENT, message_id=receipt.message_id, attempt_id=attempt_id
        )
        return await self._after_outcome()

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

    def _abandon_and_pause(self, i: int, attempt_id: str, error: GatewayError) -> RunEnd:
        log.warning("%s WAHA refused before sending (%s); pausing", self._where(), _short(error))
        self.campaign.abandon_attempt(
            index=i, attempt_id=attempt_id, reason=_short(error), at=self._now()
        )
        return self._pause(_pause_reason_for(error), _short(error))

    async def _settle_in_flight(self, reason: str) -> None:
        """Look the uncertain send up in WAHA: found means sent, otherwise in doubt."""
        flight = self.campaign.in_flight
        assert flight is not None  # noqa: S101 - only called with a send in flight
        i, chat_id, attempt_id = (
            int(flight["index"]),
            str(flight["chat_id"]),
            str(flight["attempt_id"]),
        )
        outcome, message_id = AttemptOutcome.IN_DOUBT, None
        error: str | None = f"outcome unknown: {reason}"
        try:
            found = await self.p.gateway.recent_own_messages(self.session, chat_id, flight["at"])
        except GatewayError as lookup_error:
            error = f"outcome unknown: {reason}; lookup failed: {_short(lookup_error)}"
        else:
            if found:
                outcome, message_id, error = AttemptOutcome.SENT, found[0].message_id, None
        log.warning("%s uncertain send reconciled as %s", self._where(), outcome.value)
        self._record(i, chat_id, outcome, message_id=message_id, error=error, attempt_id=attempt_id)
        await self._flush()

    async def _after_outcome(self) -> RunEnd | None:
        limit = self.options.max_consecutive_failures
        guard = too_many_failures(self.campaign.consecutive_failures, limit)
        if guard is not None:
            return self._pause(guard.reason, guard.detail)
        if self.campaign.next_index >= len(self.contacts) or self.pacing.max_seconds <= 0:
            # Zero pacing: the outcome is saved with the next intent, in one transaction.
            return None
        delay = self.pacing.delay(self.p.rng.uniform())
        self.campaign.record_delay(
            index=self.campaign.next_index - 1, seconds=delay, at=self._now()
        )
        await self._flush()
        return await self._wait(delay)

    def _record(
        self,
        i: int,
        chat_id: str,
        outcome: AttemptOutcome,
        *,
        message_id: str | None = None,
        error: str | None = None,
        attempt_id: str | None = None,
    ) -> None:
        self.campaign.record_attempt(
            index=i,
            chat_id=chat_id,
            outcome=outcome,
            message_id=message_id,
            error=error,
            attempt_id=attempt_id,
            at=self._now(),
        )
        if log.isEnabledFor(logging.INFO):
            log.info(
                "[campaign %s | contact %d/%d] %s",
                self.id,
                i + 1,
                len(self.contacts),
                outcome.value,
            )

    async def _wait(self, seconds: float) -> RunEnd | None:
        """Wait between contacts; an operator's pause or cancel cuts the wait short."""
        sleep = asyncio.ensure_future(self.p.sleeper.sleep(seconds))
        woken = asyncio.ensure_future(self.control.wake.wait())
        try:
            await asyncio.wait({sleep, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleep, woken):
                task.cancel()
        return self._obey_control()

    def _obey_control(self) -> RunEnd | None:
        control = self.control
        if control.cancel_reason is not None:
            self.campaign.cancel(reason=control.cancel_reason, at=self._now())
            return RunEnd.CANCELLED
        if control.pause_requested:
            return self._pause(PauseReason.MANUAL, "paused by operator")
        if control.shutdown_requested:
            log.info(
                "campaign %s: stopping for shutdown at contact %d",
                self.id,
                self.campaign.next_index,
            )
            return RunEnd.STOPPED
        return None

    def _pause(self, reason: PauseReason, detail: str) -> RunEnd:
        self.campaign.pause_at_next(reason=reason, detail=detail, at=self._now())
        log.info(
            "campaign %s paused at contact %d: %s (%s)",
            self.id,
            self.campaign.next_index,
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
