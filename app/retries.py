"""Retrying a campaign: a new campaign of just the contacts whose sends failed.

The new campaign names the old one (CampaignScheduled.retry_of) and the old one names the new
(RetryScheduled), recorded together. Only a campaign whose outcomes can no longer change is
retried (Paused, Completed or Cancelled): a Running one still sends, a Scheduled one has sent
nothing. In-doubt contacts may have received the message, so they are retried only when asked.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Final
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from app.campaigns import CampaignsApp
from app.errors import ConcurrentUpdateError, InvalidCampaignError
from app.log_follower import LogFollower
from app.read_models import CampaignContacts
from app.scheduling import MAX_NAME_LENGTH
from app.views import CampaignView
from domain.audience import CHUNK_SIZE, Audience, content_hash
from domain.campaign import AlreadyRetriedError, AttemptOutcome, Campaign
from domain.contacts import Contact
from domain.errors import IllegalTransitionError
from domain.lifecycle import next_status

RETRYABLE: Final = frozenset({AttemptOutcome.FAILED.value, AttemptOutcome.IN_DOUBT.value})
_PAGE: Final = 1000
_SUFFIX: Final = " (retry)"


_WHY_NOT: Final = {
    "Running": "its outcomes still change; pause it, or retry once it has completed",
    "Scheduled": "it has sent nothing yet",
}


class NotRetriableError(IllegalTransitionError):
    """A campaign whose outcomes can still change (Running) or that sent nothing (Scheduled)."""

    def __init__(self, status: str) -> None:
        super().__init__("retry", status)
        why = _WHY_NOT.get(status, "only a Paused, Completed or Cancelled campaign is retried")
        self.args = (f"cannot retry a campaign that is {status}: {why}",)


@dataclass(frozen=True)
class RetryRequest:
    """Which contacts to send again: those with these outcomes (in doubt only when asked)."""

    outcomes: Collection[str] = (AttemptOutcome.FAILED.value,)
    include_in_doubt: bool = False

    def selection(self) -> list[str]:
        """Return the outcomes retried, in a stable order; InvalidCampaignError if unusable."""
        problems: list[dict[str, object]] = []
        wanted = set(self.outcomes)
        unknown = sorted(wanted - RETRYABLE)
        if unknown:
            problems.append(
                {
                    "field": "outcomes",
                    "value": ", ".join(unknown),
                    "reason": "only failed and in_doubt contacts are retried (sent ones were "
                    "reached; skipped ones were skipped for a reason, such as an opt-out)",
                }
            )
        if AttemptOutcome.IN_DOUBT.value in wanted and not self.include_in_doubt:
            problems.append(
                {
                    "field": "include_in_doubt",
                    "reason": "in-doubt contacts may have received the message: set "
                    "include_in_doubt to true to send it to them again",
                }
            )
        if self.include_in_doubt:
            wanted.add(AttemptOutcome.IN_DOUBT.value)
        if not wanted and not problems:
            problems.append({"field": "outcomes", "reason": "name at least one outcome"})
        if problems:
            raise InvalidCampaignError("the retry is not valid", problems)
        return sorted(wanted)


@dataclass(frozen=True)
class RetriedCampaign:
    """The retry's view; `replayed` when the same retry had been made already."""

    view: CampaignView
    replayed: bool = False


def retry_campaign(
    campaigns: CampaignsApp,
    contacts: CampaignContacts,
    follower: LogFollower,
    campaign_id: UUID,
    request: RetryRequest,
) -> RetriedCampaign:
    """Schedule a campaign of the contacts with the chosen outcomes, starting now.

    Raises NotRetriableError (409, an IllegalTransitionError) for one Scheduled or Running,
    InvalidCampaignError (422) for a bad selection or one with no contacts,
    AlreadyRetriedError (409) when the campaign was retried with another selection, and
    ConcurrentUpdateError when someone changed it meanwhile. Blocking: call it off the loop.
    """
    old = campaigns.load(campaign_id)
    try:
        next_status(old.state, "record_retry")
    except IllegalTransitionError:
        raise NotRetriableError(old.state.value) from None
    outcomes = request.selection()
    if old.retried_as is not None:
        return _already(campaigns, old, outcomes)
    follower.catch_up()  # the read model has every outcome recorded so far
    indexes = _indexes(contacts, campaign_id, frozenset(outcomes))
    if not indexes:
        raise InvalidCampaignError(
            "no contact to retry",
            [
                {
                    "field": "outcomes",
                    "value": ", ".join(outcomes),
                    "reason": f"no contact of the campaign has the outcome {' or '.join(outcomes)}",
                }
            ],
        )
    chosen = _contacts(campaigns, old, indexes)
    audience = Audience.frozen(content_hash(chosen), len(chosen))
    now = campaigns.clock.now()
    retry = Campaign(
        name=old.name[: MAX_NAME_LENGTH - len(_SUFFIX)] + _SUFFIX,
        session=old.session,
        message=dict(old.message),
        audience=audience.reference(),
        scheduled_for=now,
        pacing=dict(old.pacing),
        options=dict(old.options),
        at=now,
        retry_of={
            "campaign_id": str(campaign_id),
            "outcomes": outcomes,
            "include_in_doubt": request.include_in_doubt,
            "contacts": len(indexes),
        },
    )
    old.record_retry(
        retry_id=retry.id,
        outcomes=outcomes,
        include_in_doubt=request.include_in_doubt,
        contacts=len(indexes),
        at=now,
    )
    campaigns.record_audience(chosen, audience)
    try:
        campaigns.save(retry, old)  # one transaction: both links, or neither
    except IntegrityError:
        raise ConcurrentUpdateError(
            f"campaign {campaign_id} was changed by someone else; try again"
        ) from None
    return RetriedCampaign(campaigns.campaign(retry.id))


def _already(campaigns: CampaignsApp, old: Campaign, outcomes: list[str]) -> RetriedCampaign:
    retried = old.retried_as or {}
    retry_id = UUID(str(retried["campaign_id"]))
    if sorted(retried.get("outcomes", ())) != outcomes:
        raise AlreadyRetriedError(retry_id)
    return RetriedCampaign(campaigns.campaign(retry_id), replayed=True)


def _indexes(contacts: CampaignContacts, campaign_id: UUID, outcomes: frozenset[str]) -> list[int]:
    found: list[int] = []
    after = -1
    while page := contacts.page(campaign_id, after_index=after, limit=_PAGE, outcomes=outcomes):
        found.extend(report.index for report in page)
        after = page[-1].index
    return found


def _contacts(campaigns: CampaignsApp, old: Campaign, indexes: list[int]) -> list[Contact]:
    # One chunk of the frozen audience at a time: a retry of 10 contacts of a million reads
    # the chunks they are in, not the whole audience.
    chosen: list[Contact] = []
    chunk_number, chunk = -1, []
    for index in indexes:
        if index // CHUNK_SIZE != chunk_number:
            chunk_number = index // CHUNK_SIZE
            chunk = campaigns.audience_chunk(old.audience_id, chunk_number)
        chosen.append(chunk[index - chunk_number * CHUNK_SIZE])
    return chosen
