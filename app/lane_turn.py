"""One contact's turn on a lane: prepare, record the intent, send, record what came of it.

Everything that can fail before a message could leave (the text, the media, the number
check, the typing courtesy, the message id) happens before the intent. The intent is
durable before the send; the outcome and the gap chosen for the next send follow, in the
next group commit (with zero pacing, together with the next intent).
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import UUID

from app.blocking import off_loop
from app.lane_outcomes import Settled, refused, short
from app.lane_reconcile import apply_settled, settle_unknown
from app.ports import (
    GatewayError,
    MediaKind,
    MediaPayload,
    RateLimitedError,
    SendOutcomeUnknownError,
    SendReceipt,
)
from domain.campaign import AttemptOutcome, PauseReason
from domain.contacts import ChatId, Contact
from domain.gates import Go, Hold, Skip
from domain.lifecycle import CampaignStatus
from domain.policy import typing_seconds
from domain.rotation import next_turn
from domain.session import SessionName

if TYPE_CHECKING:
    from app.lane_parts import Held
    from app.lane_run import LaneRun

log = logging.getLogger("waha_campaigns.lane")


class LaneLostError(Exception):
    """The lane's lease was lost or another holder recorded first: send nothing more."""


@dataclass(frozen=True)
class _Ready:
    """A contact ready to be sent to."""

    index: int
    chat_id: ChatId
    text: str
    media: MediaPayload | None
    message_id: str | None


@dataclass(frozen=True)
class Unrecorded:
    """A send's outcome not yet durable: applied again if a conflict reloads the records."""

    campaign_id: UUID
    attempt_id: str
    settled: Settled

    def apply_again(self, run: LaneRun) -> None:
        """Apply the outcome to the reloaded campaign, if the send is still the one in flight."""
        held = run.held.get(self.campaign_id)
        if held is None:
            return
        flight = held.campaign.in_flight
        if flight is None or flight["attempt_id"] != self.attempt_id:
            return
        end_turn(run, held, self.settled)


def end_turn(run: LaneRun, held: Held, settled: Settled) -> None:
    """Record the outcome on the campaign and the turn's end, with the gap before the next send."""
    flight = held.campaign.in_flight
    assert flight is not None  # noqa: S101 - a turn ends only with its send in flight
    index = int(flight["index"])
    outcome = apply_settled(run, held, settled)
    lane = run.lane
    assert lane is not None  # noqa: S101 - taken up
    running = [h for h in run.held.values() if h.campaign.state is CampaignStatus.RUNNING]
    contenders = [h.contender() for h in running if h.id != held.id or not h.campaign.all_handled]
    upcoming = next_turn(contenders, held.order)
    gap = None
    if upcoming is not None:
        gap = run.held[upcoming.campaign_id].pacing.delay(run.p.rng.uniform())
    lane.end_turn(
        campaign_id=held.id,
        index=index,
        outcome=outcome,
        unknown=settled.unknown,
        next_campaign_id=None if upcoming is None else upcoming.campaign_id,
        gap_seconds=gap,
        epoch=run.epoch,
        at=run.p.clock.now(),
    )
    # A sent message is the everyday case, on the record already: logged only when debugging
    # (at hundreds a second a line each costs more than the send's bookkeeping).
    level = logging.DEBUG if outcome == AttemptOutcome.SENT.value else logging.INFO
    if log.isEnabledFor(level):
        total = held.campaign.total
        log.log(
            level,
            "[campaign %s | contact %d of %d (index %d)] %s",
            held.id,
            index + 1,
            total,
            index,
            outcome,
        )


class ContactTurn:
    """The next contact of one campaign, from preparation to recorded outcome."""

    def __init__(self, run: LaneRun, held: Held) -> None:
        self.run = run
        self.held = held
        self.p = run.p
        # From the moment the request may leave until the outcome is durable: a failure then
        # must not be taken for "nothing sent".
        self.may_have_sent = False

    @property
    def session(self) -> SessionName:
        """The lane's session."""
        return self.run.session

    async def go(self) -> None:
        """Handle the campaign's next contact; the loop decides again afterwards."""
        campaign = self.held.campaign
        if campaign.in_flight is not None:
            # An intent of ours whose outcome a reload lost: settle it, never resend.
            settled = await settle_unknown(self.run, self.held, "recorded again", wait=False)
            end_turn(self.run, self.held, settled)
            await self.run.commit()
            return
        if campaign.all_handled:
            campaign.complete(at=self.p.clock.now())
            log.info("campaign %s completed: %d contacts", campaign.id, campaign.total)
            await self.run.commit()
            return
        # Made first: it seeds the choice of the text's variant, so a replay shows the same.
        attempt_id = uuid.uuid4().hex
        ready = await self._prepare(campaign.next_index, attempt_id)
        if ready is None:
            return
        now = self.p.clock.now()
        campaign.begin_attempt(
            index=ready.index,
            attempt_id=attempt_id,
            chat_id=ready.chat_id,
            message_id=ready.message_id,
            lease_epoch=self.run.epoch,
            text=ready.text,
            at=now,
        )
        lane = self.run.lane
        assert lane is not None  # noqa: S101 - taken up
        lane.take_turn(
            campaign_id=campaign.id,
            index=ready.index,
            attempt_id=attempt_id,
            epoch=self.run.epoch,
            at=now,
        )
        # The intent (with the previous outcome, if held back) is durable before the send.
        await self.run.commit()
        flight = self.held.campaign.in_flight
        if flight is None or flight["attempt_id"] != attempt_id:
            return  # a conflict reloaded the campaign: nothing was sent; decide again
        if not self.run.may_send():
            raise LaneLostError("the lease ran out between the intent and the send")
        self.may_have_sent = True
        settled = await self._send(ready)
        self.run.unrecorded.append(Unrecorded(self.held.id, attempt_id, settled))
        end_turn(self.run, self.held, settled)
        await self._after(settled)
        self.may_have_sent = False

    async def _after(self, settled: Settled) -> None:
        """Pause what the answer calls for; hold the outcome back only when the next send is now."""
        run = self.run
        if settled.pause is not None:
            if settled.lane_wide:
                await run.go_down(settled.pause, settled.error or settled.pause.value)
                return
            self.held.campaign.pause_at_next(
                reason=settled.pause, detail=settled.error or "", at=self.p.clock.now()
            )
        lane = run.lane
        assert lane is not None  # noqa: S101 - taken up
        zero_gap = lane.next_send_at is not None and lane.next_send_at <= self.p.clock.now()
        if settled.pause is None and zero_gap and settled.outcome is not None:
            return  # recorded with the next intent, in one transaction
        await run.commit()

    # -- before the intent ----------------------------------------------------------------------

    async def _prepare(self, index: int, attempt_id: str) -> _Ready | None:
        """Everything that can fail before a message could leave; None when the turn is over."""
        held = self.held
        contact: Contact
        if held.needs_chunk(index):
            contact = await off_loop(held.contact, self.p.campaigns, index)
        else:
            contact = held.contact(self.p.campaigns, index)
        verdict = await self.p.gates.before_send(
            self.session, held.campaign, contact, self.p.clock.now()
        )
        if not isinstance(verdict, Go):
            await self._obey(verdict, index, contact)
            return None
        text = held.content.template.render(contact.template_values(), seed=attempt_id)
        media = None
        if held.content.image is not None:
            try:
                media = await off_loop(self.p.media.load, held.content.image.media_id)
            except (KeyError, OSError) as error:
                await self._pause_campaign(
                    PauseReason.MEDIA_UNAVAILABLE,
                    f"image {held.content.image.media_id[:16]} cannot be read: {short(error)}",
                )
                return None
        chat_id = contact.chat_id
        if held.options.check_numbers:
            checked = await self._check_number(index, contact)
            if checked is None:
                return None
            chat_id = checked
        if held.options.simulate_typing:
            await self._type(chat_id, text)
        # Only texts carry our id: WAHA's media requests have no `id`, so a media send's lost
        # answer is looked up by its caption, never by an id WAHA did not get.
        message_id = await self._message_id(index) if media is None else None
        if message_id is _ALREADY_SENT:
            return None
        return _Ready(index, chat_id, text, media, message_id)

    async def _obey(self, verdict: Skip | Hold, index: int, contact: Contact) -> None:
        """Skip the contact, or hold the sends (the number's, or this campaign's)."""
        if isinstance(verdict, Skip):
            self.held.campaign.record_attempt(
                index=index,
                chat_id=str(contact.chat_id),
                outcome=AttemptOutcome.SKIPPED,
                error=verdict.detail,
                reason=verdict.reason,
                at=self.p.clock.now(),
            )
            await self.run.commit()
        elif verdict.lane_wide:
            await self.run.go_down(verdict.reason, verdict.detail, resume_at=verdict.resume_at)
        else:
            self.held.campaign.pause_at_next(
                reason=verdict.reason,
                detail=verdict.detail,
                at=self.p.clock.now(),
                resume_at=verdict.resume_at,
            )
            await self.run.commit()

    async def _check_number(self, index: int, contact: Contact) -> ChatId | None:
        try:
            found = await self.p.gateway.check_exists(self.session, contact.phone.lstrip("+"))
        except RateLimitedError as error:
            await self.run.go_down(PauseReason.RATE_LIMITED, short(error))
            return None
        except GatewayError as error:
            await self._pause_campaign(PauseReason.NUMBER_CHECK_FAILED, short(error))
            return None
        if found is None:
            self.held.campaign.record_attempt(
                index=index,
                chat_id=str(contact.chat_id),
                outcome=AttemptOutcome.SKIPPED,
                error="not on WhatsApp",
                reason="not_on_whatsapp",
                at=self.p.clock.now(),
            )
            await self.run.commit()
            return None
        return found

    async def _type(self, chat_id: ChatId, text: str) -> None:
        # A courtesy WAHA recommends against bans; its failure must not stop a send.
        try:
            await self.p.gateway.send_seen(self.session, chat_id)
            await self.p.gateway.start_typing(self.session, chat_id)
            await self.p.sleeper.sleep(typing_seconds(text))
            await self.p.gateway.stop_typing(self.session, chat_id)
        except GatewayError as error:
            log.info("lane %r: typing courtesy failed: %s", self.session, error)

    async def _message_id(self, index: int) -> str | None:
        """Return the id to send under: a fresh one, or that of an abandoned attempt."""
        lane = self.run.lane
        assert lane is not None  # noqa: S101 - taken up
        if lane.message_ids is False:
            return None
        campaign = self.held.campaign
        abandoned = campaign.abandoned
        if abandoned is not None and abandoned["index"] == index and abandoned.get("message_id"):
            reused = str(abandoned["message_id"])
            try:
                found = await self.p.gateway.find_message(self.session, reused)
            except GatewayError as error:
                await self.run.go_down(
                    PauseReason.WAHA_UNAVAILABLE,
                    f"cannot look up an earlier attempt: {short(error)}",
                )
                return _ALREADY_SENT
            if found is not None:
                # It did go out after all: record it, and send nothing.
                campaign.record_attempt(
                    index=index,
                    chat_id=found.chat_id,
                    outcome=AttemptOutcome.SENT,
                    message_id=found.message_id,
                    error="found in WAHA under the id of an earlier attempt",
                    at=self.p.clock.now(),
                )
                await self.run.commit()
                return _ALREADY_SENT
            return reused
        # Made here in WAHA's own style rather than asked of GET new-message-id: one request
        # less per contact. Whether WAHA keeps it is learnt from the first receipt (or lookup)
        # and kept on the lane's record; until then and after a "no", lookups go by text.
        return new_message_id()

    async def _pause_campaign(self, reason: PauseReason, detail: str) -> None:
        self.held.campaign.pause_at_next(reason=reason, detail=detail, at=self.p.clock.now())
        await self.run.commit()

    # -- the send --------------------------------------------------------------------------------

    async def _send(self, ready: _Ready) -> Settled:
        try:
            receipt = await self._request(ready)
        except SendOutcomeUnknownError as error:
            return await settle_unknown(self.run, self.held, short(error), wait=True)
        except GatewayError as error:
            return refused(error)
        self._learn_message_ids(ready, receipt)
        return Settled(AttemptOutcome.SENT, message_id=receipt.message_id)

    async def _request(self, ready: _Ready) -> SendReceipt:
        if ready.media is None:
            return await self.p.gateway.send_text(
                self.session, ready.chat_id, ready.text, message_id=ready.message_id
            )
        # A voice note carries no caption in WAHA: its text is not part of that message.
        caption = "" if ready.media.kind is MediaKind.VOICE else ready.text
        return await self.p.gateway.send_media(
            self.session, ready.chat_id, ready.media, caption, message_id=ready.message_id
        )

    def _learn_message_ids(self, ready: _Ready, receipt: SendReceipt) -> None:
        """Whether WAHA kept the id we gave tells once and for all if it honours them."""
        lane = self.run.lane
        assert lane is not None  # noqa: S101 - taken up
        if ready.message_id is None or ready.media is not None or lane.message_ids is not None:
            return
        honoured = receipt.message_id is not None and raw_id(receipt.message_id) == ready.message_id
        lane.detect_message_ids(
            supported=honoured,
            detail="WAHA kept the id we chose" if honoured else "WAHA replaced the id we chose",
            epoch=self.run.epoch,
            at=self.p.clock.now(),
        )


def new_message_id() -> str:
    """Return a fresh raw message id in the WhatsApp Web style WAHA's engines use (`3EB0…`)."""
    return "3EB0" + secrets.token_hex(10).upper()


def raw_id(message_id: str) -> str:
    """Return the raw id of `true_<chat>_<raw>[_participant]`, or the id itself."""
    parts = message_id.split("_")
    if len(parts) >= 3 and parts[0] in {"true", "false"}:  # noqa: PLR2004 - serialized id
        return parts[2]
    return message_id


# A marker: the contact's earlier attempt turned out sent, or the lane went down meanwhile.
_ALREADY_SENT = "\x00already-handled"
