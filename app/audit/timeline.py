"""Timeline: when a campaign started, paused, resumed and ended, and the pacing it used."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from app.audit.log import Event, event_time
from app.audit.replay import ReplayError
from app.views import jsonable
from domain.campaign import AttemptOutcome, Campaign
from domain.numbering import contact_words


@dataclass(frozen=True)
class Milestone:
    """A moment in the campaign's life: scheduled, started, paused, resumed, ended."""

    time: datetime
    version: int
    what: str
    index: int | None = None
    reason: str | None = None
    detail: str | None = None
    # For people: "contact 4 of 15 (index 3)" where `index` (0-based, for programs) is set.
    contact: str | None = None


@dataclass(frozen=True)
class PacingUsed:
    """The waits the runner actually chose between contacts."""

    waits: int
    min_seconds: float
    mean_seconds: float
    max_seconds: float


@dataclass(frozen=True)
class Timeline:
    """A campaign's life from its events: milestones, outcome counts and the pacing used."""

    campaign_id: UUID
    name: str
    status: str
    total: int
    counts: dict[str, int]
    configured_pacing: dict[str, float]
    milestones: list[Milestone]
    pacing: PacingUsed | None

    @property
    def ending(self) -> Milestone | None:
        """Return the milestone that stopped the campaign, or None while it runs or waits."""
        endings = {"Paused": "paused", "Cancelled": "cancelled", "Completed": "completed"}
        wanted = endings.get(self.status)
        last = next((m for m in reversed(self.milestones) if m.what == wanted), None)
        return last if wanted is not None else None

    def as_dict(self) -> dict[str, Any]:
        """Return the timeline as JSON-native data."""
        ending = self.ending
        return {**jsonable(self), "ending": jsonable(ending) if ending else None}


_STATUS_AFTER: Final[dict[type[object], str]] = {
    Campaign.CampaignScheduled: "Scheduled",
    Campaign.CampaignStarted: "Running",
    Campaign.CampaignPaused: "Paused",
    Campaign.CampaignResumed: "Running",
    Campaign.CampaignCompleted: "Completed",
    Campaign.CampaignCancelled: "Cancelled",
}


def timeline(events: Iterable[Event]) -> Timeline:
    """Return the campaign's timeline; the first event must be its CampaignScheduled."""
    iterator = iter(events)
    first = next(iterator, None)
    if not isinstance(first, Campaign.CampaignScheduled):
        raise ReplayError("a campaign's log starts with CampaignScheduled")
    milestones = [
        Milestone(
            first.at,
            first.originator_version,
            "scheduled",
            detail=f"for {first.scheduled_for.isoformat()}",
        )
    ]
    status = "Scheduled"
    total = int(first.audience["size"])
    name, configured = first.name, dict(first.pacing)
    counts: Counter[str] = Counter({o.value: 0 for o in AttemptOutcome})
    waits: list[float] = []
    for domain_event in iterator:
        status = _STATUS_AFTER.get(type(domain_event), status)
        if isinstance(domain_event, Campaign.CampaignEdited):
            changes = domain_event.changes
            name = str(changes.get("name", {}).get("new", name))
            configured = dict(changes.get("pacing", {}).get("new", configured))
        milestone = _milestone(domain_event)
        if milestone is not None:
            if milestone.index is not None:
                milestone = replace(milestone, contact=contact_words(milestone.index, total))
            milestones.append(milestone)
        elif isinstance(domain_event, Campaign.ContactAttempted):
            counts[domain_event.outcome] += 1
        elif isinstance(domain_event, Campaign.PacingDelayChosen):
            waits.append(domain_event.seconds)
    pacing = None
    if waits:
        pacing = PacingUsed(len(waits), min(waits), sum(waits) / len(waits), max(waits))
    return Timeline(
        campaign_id=first.originator_id,
        name=name,
        status=status,
        total=total,
        counts=dict(counts),
        configured_pacing=configured,
        milestones=milestones,
        pacing=pacing,
    )


def _milestone(domain_event: Event) -> Milestone | None:  # noqa: PLR0911 - one per kind
    time, version = event_time(domain_event), domain_event.originator_version
    match domain_event:
        case Campaign.CampaignStarted():
            return Milestone(time, version, "started")
        case Campaign.CampaignPaused(index=index, reason=reason, detail=detail):
            return Milestone(time, version, "paused", index, reason, detail)
        case Campaign.CampaignResumed(index=index, automatic=automatic):
            return Milestone(
                time, version, "resumed", index, "automatic" if automatic else "manual"
            )
        case Campaign.AutoResumeWithheld(detail=detail):
            return Milestone(time, version, "auto-resume withheld", detail=detail)
        case Campaign.CampaignCompleted():
            return Milestone(time, version, "completed")
        case Campaign.CampaignCancelled(index=index, reason=reason):
            return Milestone(time, version, "cancelled", index, reason)
        case Campaign.CampaignEdited(changes=changes):
            return Milestone(time, version, "edited", detail=", ".join(sorted(changes)))
        case Campaign.RetryScheduled(retry_id=retry_id, outcomes=outcomes, contacts=contacts):
            detail = f"{contacts} {' or '.join(outcomes)} contact(s) by campaign {retry_id}"
            return Milestone(time, version, "retried", detail=detail)
    return None
