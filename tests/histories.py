"""Writing a campaign's history in tests the way its lane does: load, command, record.

A live run's events (attempts, pauses, completion) have one writer in the service, the
session's lane; tests that need such a history write it through the domain directly.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from app.campaigns import CampaignsApp
from app.views import CampaignView
from domain.campaign import AttemptOutcome, Campaign, PauseReason


def _apply(
    app: CampaignsApp, campaign_id: UUID, command: Callable[[Campaign], None]
) -> CampaignView:
    campaign = app.load(campaign_id)
    command(campaign)
    app.save_campaign(campaign)
    return app.campaign(campaign_id)


def begin_attempt(
    app: CampaignsApp,
    campaign_id: UUID,
    *,
    index: int,
    attempt_id: str,
    chat_id: str,
    message_id: str | None = None,
) -> CampaignView:
    """Record an intent, as a lane does before a send."""
    return _apply(
        app,
        campaign_id,
        lambda c: c.begin_attempt(
            index=index,
            attempt_id=attempt_id,
            chat_id=chat_id,
            message_id=message_id,
            at=app.clock.now(),
        ),
    )


def record_attempt(
    app: CampaignsApp,
    campaign_id: UUID,
    *,
    index: int,
    chat_id: str,
    outcome: AttemptOutcome,
    message_id: str | None = None,
    error: str | None = None,
    attempt_id: str | None = None,
    reason: str | None = None,
    delay_seconds: float | None = None,
) -> CampaignView:
    """Record an outcome, as a lane does after a send.

    With `delay_seconds`, also the pacing wait after it, as campaigns recorded it on their
    own record (PacingDelayChosen) before send lanes kept every gap on the lane's.
    """

    def attempt(campaign: Campaign) -> None:
        now = app.clock.now()
        campaign.record_attempt(
            index=index,
            chat_id=chat_id,
            outcome=outcome,
            message_id=message_id,
            error=error,
            attempt_id=attempt_id,
            reason=reason,
            at=now,
        )
        if delay_seconds is not None and index + 1 < campaign.total:
            campaign._pacing_delay_chosen(index=index, seconds=delay_seconds, at=now)

    return _apply(app, campaign_id, attempt)


def send(
    app: CampaignsApp, campaign_id: UUID, index: int, chat_id: str, **kwargs: object
) -> CampaignView:
    """Record the intent and a `sent` outcome (or the given one) for contact `index`."""
    attempt = f"a-{index}"
    begin_attempt(app, campaign_id, index=index, attempt_id=attempt, chat_id=chat_id)
    outcome = kwargs.pop("outcome", AttemptOutcome.SENT)
    assert isinstance(outcome, AttemptOutcome)
    return record_attempt(
        app,
        campaign_id,
        index=index,
        chat_id=chat_id,
        outcome=outcome,
        attempt_id=attempt,
        message_id=str(kwargs.pop("message_id", f"m-{index}")),
    )


def abandon_attempt(
    app: CampaignsApp, campaign_id: UUID, *, index: int, attempt_id: str, reason: str
) -> CampaignView:
    """Record that a send in flight went nowhere."""
    return _apply(
        app,
        campaign_id,
        lambda c: c.abandon_attempt(
            index=index, attempt_id=attempt_id, reason=reason, at=app.clock.now()
        ),
    )


def pause_campaign(
    app: CampaignsApp,
    campaign_id: UUID,
    *,
    reason: PauseReason = PauseReason.MANUAL,
    detail: str = "",
) -> CampaignView:
    """Pause a running campaign at its next contact, as its lane does."""
    return _apply(
        app,
        campaign_id,
        lambda c: c.pause_at_next(reason=reason, detail=detail, at=app.clock.now()),
    )


def withhold_auto_resume(app: CampaignsApp, campaign_id: UUID, *, detail: str) -> CampaignView:
    """Record that a paused campaign will not resume by itself."""
    return _apply(
        app, campaign_id, lambda c: c.withhold_auto_resume(detail=detail, at=app.clock.now())
    )


def complete_campaign(app: CampaignsApp, campaign_id: UUID) -> CampaignView:
    """Close a campaign whose every contact has an outcome."""
    return _apply(app, campaign_id, lambda c: c.complete(at=app.clock.now()))
