"""Replay: a campaign rebuilt from its events alone, as it was at a version or a time."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from app.audit.log import Event, event_time, exported
from app.campaigns import CampaignsApp
from app.errors import AppError, CampaignNotFoundError
from app.views import CampaignView, campaign_view, event_data
from domain.campaign import Campaign


class ReplayError(AppError):
    """The log cannot be replayed (a gap, or no creation event): `verify` says why."""


class NoStateThenError(AppError):
    """The campaign has no such version, or did not exist yet at that time."""


@dataclass(frozen=True)
class ReplayStep:
    """One event and the campaign's state right after it."""

    version: int
    type: str
    time: datetime
    data: dict[str, Any]
    state: CampaignView

    def as_dict(self) -> dict[str, Any]:
        """Return the step as JSON-native data."""
        return {
            "version": self.version,
            "type": self.type,
            "time": self.time.isoformat(),
            "data": exported(self.data),
            "state": self.state.as_dict(),
        }


def campaign_events(app: CampaignsApp, campaign_id: UUID, *, lte: int | None = None) -> list[Event]:
    """Return the campaign's events up to version `lte`, straight from the log, in order.

    CampaignNotFoundError for an unknown id; NoStateThenError if the log ends before `lte`.
    """
    events = list(app.events.get(campaign_id, lte=lte))
    if not events or not isinstance(events[0], Campaign.Event):
        raise CampaignNotFoundError(campaign_id)
    last = events[-1].originator_version
    if lte is not None and last < lte:
        raise NoStateThenError(f"campaign {campaign_id} has versions 1 to {last} only")
    return events


def replay(events: Iterable[Event], *, until: datetime | None = None) -> Iterator[ReplayStep]:
    """Fold the events into a campaign, yielding its state after each one.

    Stops before the first event later than `until`. The fold never reads a snapshot, so the
    state comes from the events alone; ReplayError if they cannot make a campaign.
    """
    for domain_event, campaign in _fold(events, until):
        yield _step(domain_event, campaign)


def _fold(events: Iterable[Event], until: datetime | None) -> Iterator[tuple[Event, Campaign]]:
    # Yields the one campaign object, mutated in place: read it before asking for the next.
    campaign: Campaign | None = None
    for domain_event in events:
        if until is not None and event_time(domain_event) > until:
            return
        version, name = domain_event.originator_version, type(domain_event).__name__
        if not isinstance(domain_event, Campaign.Event) or (
            campaign is None and not isinstance(domain_event, Campaign.CampaignScheduled)
        ):
            raise ReplayError(f"version {version} is a {name}, not the campaign's next event")
        try:
            campaign = domain_event.mutate(campaign)
        except Exception as error:  # noqa: BLE001 - any fold failure is a broken log, named
            raise ReplayError(f"version {version} ({name}) does not follow: {error}") from None
        if campaign is None:
            raise ReplayError(f"version {version} ({name}) left no campaign")
        yield domain_event, campaign


def _step(domain_event: Event, campaign: Campaign) -> ReplayStep:
    return ReplayStep(
        version=domain_event.originator_version,
        type=type(domain_event).__name__,
        time=event_time(domain_event),
        data=event_data(domain_event),
        state=campaign_view(campaign),
    )


def state_at(
    app: CampaignsApp,
    campaign_id: UUID,
    *,
    version: int | None = None,
    at: datetime | None = None,
) -> ReplayStep:
    """Return the campaign as it was right after `version`, or at time `at`, or now."""
    events = campaign_events(app, campaign_id, lte=version)
    folded = None
    for folded in _fold(events, until=at):  # noqa: B007 - the last one is the answer
        pass
    if folded is None:
        when = at.isoformat() if at else "that time"
        raise NoStateThenError(
            f"campaign {campaign_id} was scheduled at {event_time(events[0]).isoformat()}, "
            f"after {when}"
        )
    return _step(*folded)
