"""One run of one campaign: check the session, record the intent, send, record; wait; repeat."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import TypeVar

from app.errors import ConcurrentUpdateError
from app.ports import (
    AccountRestrictedError,
    GatewayError,
    GatewayRejectedError,
    GatewayUnavailableError,
    ImagePayload,
    RateLimitedError,
    SendOutcomeUnknownError,
    SendReceipt,
)
from app.run_control import RunControl, RunEnd, RunnerPorts
from domain.campaign import AttemptOutcome, Campaign, PauseReason
from domain.contacts import ChatId, Contact
from domain.content import MessageContent
from domain.pacing import CampaignOptions, Pacing
from domain.policy import Pause, decide, too_many_failures, typing_seconds
from domain.session import SessionName

T = TypeVar("T")
log = logging.getLogger("waha_campaigns.runner")

# WAHA refusing a send for these reasons is about the set-up (key, permissions, a proxy's
# body limit), not the contact: pause instead of failing contact after contact.
_SYSTEMIC_REFUSALS = frozenset(
    {HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN, HTTPStatus.REQUEST_ENTITY_TOO_LARGE}
)
# Message times in WAHA are whole seconds; look a little earlier than the intent.
_LOOKUP_SKEW = timedelta(seconds=2)


class _FencedError(Exception):
    """Our append conflicted: someone else owns the campaign now."""


@dataclass(frozen=True)
class _Prepared:
    """A contact ready to send to: where, what, and with which image."""

    index: int
    chat_id: str
    text: str
    image: ImagePayload | None


class CampaignRun:
    """One pass over one campaign, holding the aggregate and appending to it directly.

    The store's version check on every save is the fence against any other writer. With zero
    pacing, contact i's outcome is saved in the same transaction as contact i+1's intent.
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
        self._image: ImagePayload | None = None
        # While a send may have reached WhatsApp and its outcome is not yet recorded.
        self._sending = False
        # A save failed for a reason other than a conflict: the held campaign may hold events
        # the store does not, so only the store is to be trusted from here on.
        self._unsaved = False

    @property
    def id(self) -> object:
        """The campaign's id."""
        return self.campaign.id

    @property
    def session(self) -> SessionName:
        """The WAHA session the campaign sends through."""
        return SessionName(self.campaign.session)

    def _where(self, index: int | None = None) -> str:
        i = self.campaign.next_index if index is None else index
        return f"[campaign {self.id} | contact {i + 1}/{len(self.contacts)}]"

    def _now(self) -> datetime:
        return self.p.clock.now()

    async def go(self) -> RunEnd:
        """Run until the campaign completes, pauses, is cancelled, or someone else owns it."""
        try:
            end = await self._start()
            while end is None:
                end = await self._next_contact()
            await self._flush()
        except _FencedError:
            log.warning("campaign %s: someone else recorded first; this run stops", self.id)
            return RunEnd.FENCED
        except Exception as error:  # noqa: BLE001 - the task's edge: leave the log consistent
            return await self._after_crash(error)
        return end

    async def _start(self) -> RunEnd | None:
        if self.campaign.in_flight is not None:
            # A previous run died between intent and outcome: find out, never resend.
            await self._settle_in_flight("the previous run stopped mid-send")
        # A wait chosen before a restart still applies: pacing survives crashes.
        remaining = self._until(self.campaign.next_contact_at)
        if remaining > 0 and self.campaign.next_index < len(self.contacts):
            return await self._wait(remaining)
        return None

    async def _after_crash(self, error: Exception) -> RunEnd:
        log.error("%s the run failed: %s", self._where(), type(error).__name__, exc_info=error)
        if self._sending or self._unsaved:
            # A send may have gone out, or our copy is ahead of the store: the next run starts
            # from the store and reconciles what is in flight. Nothing more is recorded here.
            raise error
        await self._flush()  # what we know (an outcome held for the next intent) is kept
        if self.campaign.status != "Running":
            raise error
        detail = f"{type(error).__name__}: {_short(error)}"
        flight = self.campaign.in_flight
        if flight is not None:
            # Recorded, never sent (sending is over and nothing is unsaved): say so.
            self.campaign.abandon_attempt(
                index=int(flight["index"]),
                attempt_id=str(flight["attempt_id"]),
                reason=detail,
                at=self._now(),
            )
        end = self._pause(PauseReason.RUNNER_ERROR, detail)
        await self._flush()
        return end

    # -- recording ------------------------------------------------------------------------

    async def _flush(self) -> None:
        """Save what the held campaign has pending, in one transaction."""
        pending = list(self.campaign.pending_events)
        if not pending:
            return
        try:
            await self.p.store(self.p.campaigns.save_campaign, self.campaign)
        except ConcurrentUpdateError:
            await self._recover_from_conflict(pending)
            raise _FencedError from None
        except BaseException:
            self._unsaved = True
            raise

    async def _recover_from_conflict(self, lost: Sequence[object]) -> None:
        # Our save lost. An outcome we hold must still reach the log if our intent is there.
        fresh: Campaign = await self.p.store(self.p.campaigns.load, self.id)
        for event in lost:
            flight = fresh.in_flight
            if (
                isinstance(event, Campaign.ContactAttempted)
                and flight is not None
                and flight["attempt_id"] == event.attempt_id
            ):
                fresh.record_attempt(
                    index=event.index,
                    chat_id=event.chat_id,
                    outcome=AttemptOutcome(event.outcome),
                    message_id=event.message_id,
                    error=event.error,
                    attempt_id=event.attempt_id,
                    at=event.at or self._now(),
                )
                await self.p.store(self.p.campaigns.save_campaign, fresh)
        self.campaign = fresh

    # -- one contact ---------------------------------------------------------------------

    async def _next_contact(self) -> RunEnd | None:
        """Complete, obey the operator, check the session, prepare, record the intent, send."""
        i = self.campaign.next_index
        if i >= len(self.contacts):
            self.campaign.complete(at=self._now())
            log.info("campaign %s completed: %d contacts", self.id, len(self.contacts))
            return RunEnd.COMPLETED
        end = self._obey_control()
        if end is not None:
            return end
        pause = await self._check_session()
        if pause is not None:
            return self._pause(pause.reason, pause.detail)
        prepared = await self._prepare(i)
        if not isinstance(prepared, _Prepared):
            return prepared
        attempt_id = uuid.uuid4().hex
        self.campaign.begin_attempt(
            index=i, attempt_id=attempt_id, chat_id=prepared.chat_id, at=self._now()
        )
        # The intent (with the last outcome) is durable before the send; a conflict means
        # someone else owns the campaign, and nothing is sent.
        await self._flush()
        return await self._send_to(prepared, attempt_id)

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

    async def _prepare(self, i: int) -> _Prepared | RunEnd | None:
        """Everything that can fail before a message could leave: text, image, number, typing."""
        contact = self.contacts[i]
        text = self.content.template.render(contact.template_values())
        image = None
        if self.content.image is not None:
            try:
                image = await self._load_image(self.content.image.media_id)
            except (KeyError, OSError) as error:
                return self._pause(
                    PauseReason.MEDIA_UNAVAILABLE,
                    f"image {self.content.image.media_id[:16]} cannot be read: {_short(error)}",
                )
        chat_id = str(contact.chat_id)
        if self.options.check_numbers:
            try:
                found = await self.p.gateway.check_exists(self.session, contact.phone.lstrip("+"))
            except RateLimitedError as error:
                return self._pause(PauseReason.RATE_LIMITED, _short(error))
            except GatewayError as error:
                return self._pause(PauseReason.NUMBER_CHECK_FAILED, _short(error))
            if found is None:
                self._record(i, chat_id, AttemptOutcome.SKIPPED, error="not on WhatsApp")
                return None
            chat_id = str(found)
        if self.options.simulate_typing:
            await self._type(chat_id, text)
        return _Prepared(i, chat_id, text, image)

    async def _load_image(self, media_id: str) -> ImagePayload:
        if self._image is None:
            self._image = await self.p.store(self.p.media.load, media_id)
        return self._image

    async def _type(self, chat_id: str, text: str) -> None:
        # A courtesy WAHA recommends against bans; its failure must not stop a send.
        try:
            await self.p.gateway.send_seen(self.session, ChatId(chat_id))
            await self.p.gateway.start_typing(self.session, ChatId(chat_id))
            await self.p.sleeper.sleep(typing_seconds(text))
            await self.p.gateway.stop_typing(self.session, ChatId(chat_id))
        except GatewayError as error:
            log.info("campaign %s: typing courtesy failed: %s", self.id, error)

    async def _send_to(self, prepared: _Prepared, attempt_id: str) -> RunEnd | None:
        self._sending = True
        end = await self._send_and_record(prepared, attempt_id)
        self._sending = False  # the outcome (or the abandonment) is recorded, at least here
        if end is not None:
            return end
        return await self._after_outcome()

    async def _send_and_record(self, prepared: _Prepared, attempt_id: str) -> RunEnd | None:
        i, chat_id = prepared.index, prepared.chat_id
        try:
            receipt = await self._send(prepared)
        except (AccountRestrictedError, RateLimitedError, GatewayUnavailableError) as error:
            return self._abandon_and_pause(i, attempt_id, error)
        except GatewayRejectedError as error:
            if (
                error.session_status is not None
                or error.status == HTTPStatus.NOT_FOUND
                or error.status in _SYSTEMIC_REFUSALS
            ):
                return self._abandon_and_pause(i, attempt_id, error)
            self._record(
                i, chat_id, AttemptOutcome.FAILED, error=_short(error), attempt_id=attempt_id
            )
            return None
        except SendOutcomeUnknownError as error:
            await self._settle_in_flight(_short(error))
            return None
        self._record(
            i, chat_id, AttemptOutcome.SENT, message_id=receipt.message_id, attempt_id=attempt_id
        )
        return None

    async def _send(self, prepared: _Prepared) -> SendReceipt:
        if prepared.image is None:
            return await self.p.gateway.send_text(
                self.session, ChatId(prepared.chat_id), prepared.text
            )
        return await self.p.gateway.send_image(
            self.session, ChatId(prepared.chat_id), prepared.image, prepared.text
        )

    def _abandon_and_pause(self, i: int, attempt_id: str, error: GatewayError) -> RunEnd:
        log.warning("%s WAHA refused before sending (%s); pausing", self._where(), _short(error))
        self.campaign.abandon_attempt(
            index=i, attempt_id=attempt_id, reason=_short(error), at=self._now()
        )
        return self._pause(_pause_reason_for(error), _short(error))

    async def _settle_in_flight(self, reason: str) -> None:
        """Look the uncertain send up in WAHA: our text found means sent, else in doubt."""
        flight = self.campaign.in_flight
        assert flight is not None  # noqa: S101 - only called with a send in flight
        i, chat_id = int(flight["index"]), str(flight["chat_id"])
        expected = self.content.template.render(self.contacts[i].template_values())
        outcome, message_id = AttemptOutcome.IN_DOUBT, None
        error: str | None = f"outcome unknown: {reason}"
        try:
            found = await self.p.gateway.recent_own_messages(
                self.session, ChatId(chat_id), flight["at"] - _LOOKUP_SKEW
            )
        except GatewayError as lookup_error:
            error = f"outcome unknown: {reason}; lookup failed: {_short(lookup_error)}"
        else:
            # Only our own text proves it: another campaign may have messaged this chat too.
            ours = [m for m in found if m.body is None or m.body == expected]
            if ours:
                outcome, message_id, error = AttemptOutcome.SENT, ours[0].message_id, None
        log.warning("%s uncertain send reconciled as %s", self._where(i), outcome.value)
        self._record(
            i,
            chat_id,
            outcome,
            message_id=message_id,
            error=error,
            attempt_id=str(flight["attempt_id"]),
        )
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
            log.info("%s %s", self._where(i), outcome.value)

    def _until(self, moment: datetime | None) -> float:
        return 0.0 if moment is None else (moment - self._now()).total_seconds()

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
            return self._pause(PauseReason.SHUTDOWN, "the service stopped; it resumes on start")
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
    if isinstance(error, GatewayRejectedError) and error.status in _SYSTEMIC_REFUSALS:
        return PauseReason.WAHA_REJECTED
    return PauseReason.SESSION_NOT_WORKING


def _short(error: Exception, limit: int = 300) -> str:
    text = str(error)
    return text if len(text) <= limit else text[: limit - 1] + "…"
