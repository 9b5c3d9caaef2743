"""Frozen read models that queries return; JSON-ready through `as_dict`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol

from domain.campaign import (
    SESSION_PAUSES,
    TIMED_PAUSES,
    AttemptOutcome,
    Campaign,
)
from domain.lifecycle import CampaignStatus
from domain.session import SessionName


def jsonable(value: Any) -> Any:
    """Return `value` with datetimes as ISO 8601 text and UUIDs as strings, recursively.

    Dataclass instances become dicts of their fields, as `dataclasses.asdict` makes them, but
    without its deep copy of every value first (each container is built anew here anyway):
    the copy was most of the cost of an event's entry in GET /events.
    """
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in fields(value)}
    return value


class JsonView:
    """A frozen dataclass view that turns into JSON-native data."""

    def as_dict(self) -> dict[str, Any]:
        """Return the view as JSON-native data."""
        return dict(jsonable(self))


@dataclass(frozen=True)
class PauseView:
    """Why and where a campaign is paused, and whether (and when) it resumes by itself.

    `resume_at` is set for a pause that lifts at a known moment (a window, a cap, WhatsApp's
    limits); `withheld` says in words why a pause that could lift by itself will not.
    """

    reason: str
    detail: str
    at: datetime
    index: int
    # When the pause lifts by itself at a known moment (a window opens, a new day's cap).
    resume_at: datetime | None = None
    # Whether it lifts without an operator (see Campaign.resumes_by_itself).
    resumes_by_itself: bool = False
    # Why a pause that could lift by itself will not, in the operator's words.
    withheld: str | None = None


@dataclass(frozen=True, kw_only=True)
class OutcomeCounts:
    """How many contacts had each outcome: one field per AttemptOutcome, declared once.

    The campaign's view, its facts and the API's schema (derived from the view) all carry
    these; they come from the aggregate's `counts` or are folded from its events.
    """

    sent: int = 0
    failed: int = 0
    skipped: int = 0
    in_doubt: int = 0

    @staticmethod
    def counted(counts: Mapping[str, int]) -> dict[str, int]:
        """Return the fields from the aggregate's counts by outcome."""
        return {outcome.value: counts.get(outcome.value, 0) for outcome in AttemptOutcome}


@dataclass(frozen=True)
class CampaignView(OutcomeCounts, JsonView):
    """A campaign as operators and other systems see it."""

    id: UUID
    name: str
    status: CampaignStatus
    session: SessionName
    total: int
    next_index: int
    pause: PauseView | None
    scheduled_for: datetime
    started_at: datetime | None
    completed_at: datetime | None
    version: int
    message: dict[str, Any]
    pacing: dict[str, float]
    options: dict[str, Any]
    in_flight: dict[str, Any] | None
    cancelled: dict[str, Any] | None
    audience: dict[str, Any]
    consecutive_failures: int = 0
    delivered: int = 0
    read: int = 0
    # The campaign whose contacts this one sends again, and the one that retries this one.
    retry_of: UUID | None = None
    retried_as: UUID | None = None
    # When the campaign should finish (its lane's share, pacing, window and caps); None when
    # done, or when it waits for something nobody can time (an operator, the session).
    eta: datetime | None = None


@dataclass(frozen=True)
class HistoryEntry(JsonView):
    """One recorded event of a campaign: the audit trail's unit."""

    version: int
    type: str
    timestamp: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class StoredEvent(JsonView):
    """One event of the whole store, in commit order, for auditors and read models."""

    position: int
    campaign_id: UUID
    version: int
    type: str
    timestamp: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class ContactReport(JsonView):
    """What happened to one contact of a campaign."""

    index: int
    chat_id: str
    phone: str
    name: str | None
    outcome: str | None
    message_id: str | None
    error: str | None
    attempted_at: datetime | None
    delivery: str | None


def campaign_view(campaign: Campaign) -> CampaignView:
    """Return the view of a campaign aggregate."""
    pause = None if campaign.pause is None else pause_view(campaign)
    return CampaignView(
        **OutcomeCounts.counted(campaign.counts),
        id=campaign.id,
        name=campaign.name,
        status=campaign.state,
        session=campaign.session,
        total=campaign.total,
        next_index=campaign.next_index,
        pause=pause,
        scheduled_for=campaign.scheduled_for,
        started_at=campaign.started_at,
        completed_at=campaign.completed_at,
        version=campaign.version,
        message=dict(campaign.message),
        pacing=dict(campaign.pacing),
        options=dict(campaign.options),
        in_flight=dict(campaign.in_flight) if campaign.in_flight else None,
        cancelled=dict(campaign.cancelled) if campaign.cancelled else None,
        audience=dict(campaign.audience),
        consecutive_failures=campaign.consecutive_failures,
        retry_of=_linked(campaign.retry_of),
        retried_as=_linked(campaign.retried_as),
        eta=None,  # the application adds it: it needs the number's other campaigns
    )


def _linked(link: dict[str, Any] | None) -> UUID | None:
    return None if link is None else UUID(str(link["campaign_id"]))


def pause_view(campaign: Campaign) -> PauseView:
    """Return the view of a paused campaign's pause: why, where, and whether it lifts alone."""
    pause = campaign.pause or {}
    resume_at = pause.get("resume_at")
    return PauseView(
        reason=str(pause.get("reason")),
        detail=str(pause.get("detail")),
        at=pause["at"],
        index=int(pause["index"]),
        resume_at=resume_at if isinstance(resume_at, datetime) else None,
        resumes_by_itself=campaign.resumes_by_itself,
        withheld=_withheld(campaign, str(pause.get("reason")), resume_at),
    )


def _withheld(campaign: Campaign, reason: str, resume_at: object) -> str | None:
    # Said only of pauses that lift by themselves in general but not this one.
    if reason in TIMED_PAUSES:
        return (
            None if resume_at is not None else "no moment to resume at is known: resume it by hand"
        )
    if reason in SESSION_PAUSES:
        if campaign.auto_resume_withheld is not None:
            return campaign.auto_resume_withheld
        if not campaign.options.get("auto_resume", True):
            return "the campaign's auto_resume option is off: resume it by hand"
    return None


# The library's own envelope fields; everything else an event stores is its data.
_ENVELOPE = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic", "class_version"}
)


def event_data(domain_event: DomainEventProtocol[UUID]) -> dict[str, Any]:
    """Return the event's own fields, without the library's envelope."""
    return {k: v for k, v in vars(domain_event).items() if k not in _ENVELOPE}


def history_entry(domain_event: DomainEventProtocol[UUID]) -> HistoryEntry:
    """Return the audit trail's entry for one recorded event."""
    return HistoryEntry(
        version=domain_event.originator_version,
        type=type(domain_event).__name__,
        timestamp=getattr(domain_event, "timestamp"),  # noqa: B009 - not on the Protocol
        data=event_data(domain_event),
    )
