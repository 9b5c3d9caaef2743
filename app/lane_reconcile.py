"""Settling a send whose answer was lost: look it up in WAHA, never resend blindly.

With a message id WAHA honours, the lookup is exact: found means sent; not found means
nothing went out, so the attempt is abandoned and the contact is sent later under the same
id (looked up once more first). Without ids, our own text in the chat since the intent is
the proof; not found then means in doubt, and in doubt is never resent.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from app.blocking import off_loop
from app.lane_outcomes import Settled, short
from app.ports import GatewayError, MessageIdsUnsupportedError
from domain.campaign import AttemptOutcome
from domain.contacts import ChatId

if TYPE_CHECKING:
    from app.lane_parts import Held
    from app.lane_run import LaneRun

# Message times in WAHA are whole seconds; look a little earlier than the intent.
LOOKUP_SKEW = timedelta(seconds=2)


async def settle_unknown(run: LaneRun, held: Held, reason: str, *, wait: bool) -> Settled:
    """Return what became of the send in flight on `held`, from WAHA's own records."""
    flight = held.campaign.in_flight
    assert flight is not None  # noqa: S101 - only called with a send in flight
    lane = run.lane
    assert lane is not None  # noqa: S101 - taken up
    message_id = flight.get("message_id")
    if wait and run.settings.settle_delay_seconds > 0:
        # WAHA stores a message a moment after sending it; ask once it had that moment.
        await run.p.sleeper.sleep(run.settings.settle_delay_seconds)
    if message_id and lane.message_ids is not False:
        try:
            found = await run.p.gateway.find_message(run.session, str(message_id))
        except MessageIdsUnsupportedError as error:
            lane.detect_message_ids(
                supported=False, detail=short(error), epoch=run.epoch, at=run.p.clock.now()
            )
        except GatewayError as error:
            return Settled(
                AttemptOutcome.IN_DOUBT,
                error=f"outcome unknown: {reason}; lookup by id failed: {short(error)}",
                reason="lookup_failed",
                unknown=True,
            )
        else:
            if found is not None:
                return Settled(AttemptOutcome.SENT, message_id=found.message_id)
            return Settled(None, error=f"not in WAHA under its id after: {reason}", unknown=True)
    return await _by_text(run, held, flight, reason)


async def _by_text(run: LaneRun, held: Held, flight: dict[str, Any], reason: str) -> Settled:
    index = int(flight["index"])
    expected = flight.get("text")
    if expected is None:
        contact = await off_loop(held.contact, run.p.campaigns, index)
        expected = held.content.template.render(contact.template_values())
    try:
        found = await run.p.gateway.recent_own_messages(
            run.session, ChatId(str(flight["chat_id"])), flight["at"] - LOOKUP_SKEW
        )
    except GatewayError as error:
        return Settled(
            AttemptOutcome.IN_DOUBT,
            error=f"outcome unknown: {reason}; lookup failed: {short(error)}",
            reason="lookup_failed",
            unknown=True,
        )
    # Only our own text proves it: another campaign may have messaged this chat too.
    ours = [m for m in found if m.body is None or m.body == expected]
    if ours:
        return Settled(AttemptOutcome.SENT, message_id=ours[0].message_id)
    return Settled(
        AttemptOutcome.IN_DOUBT,
        error=f"outcome unknown: {reason}",
        reason="not_found",
        unknown=True,
    )


def apply_settled(run: LaneRun, held: Held, settled: Settled) -> str:
    """Record `settled` for the send in flight on `held`; return the outcome's name."""
    campaign = held.campaign
    flight = campaign.in_flight
    assert flight is not None  # noqa: S101 - only called with a send in flight
    now = run.p.clock.now()
    index, attempt_id = int(flight["index"]), str(flight["attempt_id"])
    if settled.outcome is None:
        campaign.abandon_attempt(
            index=index, attempt_id=attempt_id, reason=settled.error or "not sent", at=now
        )
        return "abandoned"
    campaign.record_attempt(
        index=index,
        chat_id=str(flight["chat_id"]),
        outcome=settled.outcome,
        message_id=settled.message_id,
        error=settled.error,
        attempt_id=attempt_id,
        reason=settled.reason,
        at=now,
    )
    return settled.outcome.value


async def reconcile_in_flight(run: LaneRun, held: Held) -> dict[str, Any]:
    """Settle what the lane's previous holder left in flight on `held`; return it for the record."""
    flight = held.campaign.in_flight
    assert flight is not None  # noqa: S101 - only called with a send in flight
    settled = await settle_unknown(run, held, "the previous holder stopped mid-send", wait=False)
    outcome = apply_settled(run, held, settled)
    return {
        "campaign_id": str(held.id),
        "index": int(flight["index"]),
        "attempt_id": str(flight["attempt_id"]),
        "outcome": outcome,
    }
