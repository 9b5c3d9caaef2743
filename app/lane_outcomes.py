"""What a send came to, decided from WAHA's answer: the outcome, or the pause it calls for."""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus

from app.ports import (
    AccountRestrictedError,
    GatewayError,
    GatewayRejectedError,
    GatewayUnavailableError,
    RateLimitedError,
)
from domain.campaign import AttemptOutcome, PauseReason

# WAHA refusing a send for these reasons is about the set-up (key, permissions), not the
# contact: the whole number pauses instead of failing contact after contact.
_KEY_REFUSALS = frozenset({HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN})


@dataclass(frozen=True)
class Settled:
    """What became of one send.

    `outcome` None means nothing went out: the attempt is abandoned and the contact stays
    next. `unknown` marks an answer that said nothing sure about WhatsApp (a lost answer, a
    5xx, a dropped connection), which the lane counts toward its unknown-outcome guard.
    `pause` is a pause the answer calls for; `lane_wide` when it concerns the number, not
    just this campaign.
    """

    outcome: AttemptOutcome | None
    message_id: str | None = None
    error: str | None = None
    reason: str | None = None
    unknown: bool = False
    pause: PauseReason | None = None
    lane_wide: bool = False


def short(error: Exception, limit: int = 300) -> str:
    """Return the error's text, cut to `limit` characters for events and logs."""
    text = str(error)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def refused(error: GatewayError) -> Settled:  # noqa: PLR0911 - one answer per kind
    """Return what a send WAHA answered with `error` (other than a lost answer) came to."""
    detail = short(error)
    match error:
        case AccountRestrictedError():
            return Settled(None, error=detail, pause=PauseReason.ACCOUNT_RESTRICTED, lane_wide=True)
        case RateLimitedError():
            return Settled(None, error=detail, pause=PauseReason.RATE_LIMITED, lane_wide=True)
        case GatewayUnavailableError():
            return Settled(None, error=detail, pause=PauseReason.WAHA_UNAVAILABLE, lane_wide=True)
        case GatewayRejectedError() if error.session_status is not None or (
            error.status == HTTPStatus.NOT_FOUND
        ):
            return Settled(
                None, error=detail, pause=PauseReason.SESSION_NOT_WORKING, lane_wide=True
            )
        case GatewayRejectedError() if error.status in _KEY_REFUSALS:
            return Settled(None, error=detail, pause=PauseReason.WAHA_REJECTED, lane_wide=True)
        case GatewayRejectedError() if error.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
            # A proxy's body limit: this campaign's media is too big, the number is fine.
            return Settled(None, error=detail, pause=PauseReason.WAHA_REJECTED)
        case _:
            return Settled(AttemptOutcome.FAILED, error=detail, reason="refused")
