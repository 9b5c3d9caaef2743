"""Every operator command the console gives, through the same application paths as the API.

The one module of the console that calls the supervisor (its commands, and its facts for the
pages): when they change shape, only this file changes. The pages see `Outcome`,
`CommandRefusedError` and `CampaignFacts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from aiohttp import web

from adapters.http_api.context import ApiContext, ApiRuntime
from adapters.logging_setup import campaign_context
from app.blocking import off_loop
from app.campaign_facts import CampaignFacts
from app.errors import ConcurrentUpdateError, InvalidCampaignError
from app.retries import RetryRequest, retry_campaign
from app.scheduling import ScheduleCampaign
from app.views import CampaignView
from domain.campaign import AlreadyRetriedError, AttemptInFlightError
from domain.errors import IllegalTransitionError

# Retrying a campaign's failed (and, when asked, in-doubt) contacts as a new campaign: the
# same application path as POST /campaigns/{id}/retry.
RETRY_PATH = "/campaigns/{campaign_id}/retry"


@dataclass(frozen=True)
class Outcome:
    """What a command did: the campaign's view after it, and whether it is still under way.

    `pending`: the run had a send in flight and stops at its next contact boundary.
    """

    view: CampaignView
    pending: bool = False


class CommandRefusedError(Exception):
    """The command cannot be carried out now; the message says why, in the operator's words."""


async def campaign_facts(runtime: ApiRuntime) -> dict[UUID, CampaignFacts]:
    """Return every campaign's facts, caught up with the store, by campaign id.

    Catching up is one catch-up of the log's follower: the console's own read models (the
    milestones, the contacts' rows) follow the same log and are current with it after this.
    """
    await runtime.supervisor.refresh_facts()
    return {facts.id: facts for facts in runtime.supervisor.facts()}


def _refused(error: Exception) -> CommandRefusedError:
    if isinstance(error, AttemptInFlightError | ConcurrentUpdateError):
        return CommandRefusedError("the campaign is busy with a send; try again in a moment")
    return CommandRefusedError(str(error))


async def pause(runtime: ApiRuntime, campaign_id: UUID) -> Outcome:
    """Pause a campaign; pending while its run finishes the send in flight."""
    try:
        with campaign_context(campaign_id):
            result = await runtime.supervisor.pause(campaign_id)
    except (IllegalTransitionError, AttemptInFlightError, ConcurrentUpdateError) as error:
        raise _refused(error) from None
    return Outcome(result.view, pending=result.pending)


async def resume(runtime: ApiRuntime, campaign_id: UUID) -> Outcome:
    """Resume a paused campaign at the contact it paused on."""
    try:
        with campaign_context(campaign_id):
            view = await runtime.supervisor.resume(campaign_id)
    except (IllegalTransitionError, AttemptInFlightError, ConcurrentUpdateError) as error:
        raise _refused(error) from None
    return Outcome(view)


async def cancel(runtime: ApiRuntime, campaign_id: UUID, reason: str) -> Outcome:
    """End a campaign for good."""
    try:
        with campaign_context(campaign_id):
            result = await runtime.supervisor.cancel(campaign_id, reason)
    except (IllegalTransitionError, AttemptInFlightError, ConcurrentUpdateError) as error:
        raise _refused(error) from None
    return Outcome(result.view, pending=result.pending)


async def schedule(context: ApiContext, runtime: ApiRuntime, command: ScheduleCampaign) -> Outcome:
    """Schedule a campaign (InvalidCampaignError names each bad field); start it if due now."""
    scheduled = await off_loop(context.campaigns.schedule_campaign, command)
    campaign_id = scheduled.view.id
    with campaign_context(campaign_id):
        view = await runtime.supervisor.run_now(campaign_id)
    return Outcome(view)


def retry_offered(app: web.Application) -> bool:
    """Whether the app offers retrying a campaign's failed and in-doubt contacts (see HOOK)."""
    return any(
        resource.canonical == RETRY_PATH and any(r.method == "POST" for r in resource)
        for resource in app.router.resources()
    )


async def retry(
    context: ApiContext, runtime: ApiRuntime, campaign_id: UUID, *, include_in_doubt: bool
) -> Outcome:
    """Schedule the campaign's failed (and maybe in-doubt) contacts as a new campaign, now."""
    asked = RetryRequest(outcomes=("failed",), include_in_doubt=include_in_doubt)
    try:
        with campaign_context(campaign_id):
            retried = await off_loop(
                retry_campaign,
                context.campaigns,
                context.contacts,
                context.follower,
                campaign_id,
                asked,
            )
    except (
        IllegalTransitionError,
        InvalidCampaignError,
        AlreadyRetriedError,
        ConcurrentUpdateError,
    ) as error:
        raise CommandRefusedError(str(error)) from None
    view = retried.view
    if not retried.replayed:
        with campaign_context(view.id):
            view = await runtime.supervisor.run_now(view.id)
    return Outcome(view)
