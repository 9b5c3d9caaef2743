"""What the supervisor and read models know of every campaign, folded from its events."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from app.campaigns import CampaignsApp
from app.log_follower import Followed, LogFollower, follower_of
from app.views import OutcomeCounts
from domain.campaign import AttemptOutcome, Campaign
from domain.lifecycle import CampaignStatus
from domain.session import SessionName

_PAGE = 1000
# Every event a campaign records: the facts count versions, so none may be missed.
CAMPAIGN_TOPICS: Final = frozenset(
    value.TOPIC
    for value in vars(Campaign).values()
    if isinstance(value, type)
    and issubclass(value, Campaign.Event)
    and value not in {Campaign.Event, Campaign.Created}
)
_OUTCOME_FIELDS: Final = {o.value: o.value for o in AttemptOutcome}


@dataclass(frozen=True)
class CampaignFacts(OutcomeCounts):
    """One campaign's status and counts, plus what scheduling and recovery decide on."""

    id: UUID
    position: int  # where its CampaignScheduled event sits in the store: a list cursor
    status: CampaignStatus
    session: SessionName
    version: int
    scheduled_for: datetime
    pause_reason: str | None
    auto_resume: bool  # the option is on and no AutoResumeWithheld since the pause
    last_event_at: datetime | None
    in_flight: bool
    max_pacing_seconds: float
    simulate_typing: bool
    check_numbers: bool
    # The auto_resume option as scheduled: a resume lifts any withholding back to it.
    auto_resume_option: bool = True
    # What an estimate of the campaign's end needs (app/eta.py): its size, its lower pacing
    # bound and its priority among the campaigns of its session.
    total: int = 0
    min_pacing_seconds: float = 0.0
    priority: int = 0

    @property
    def handled(self) -> int:
        """How many contacts have an outcome."""
        return self.sent + self.failed + self.skipped + self.in_doubt

    @classmethod
    def of(cls, campaign: Campaign, position: int) -> CampaignFacts:
        """Return the facts of a loaded campaign."""
        counts = campaign.counts
        options = campaign.options
        option = bool(options.get("auto_resume", True))
        return cls(
            **OutcomeCounts.counted(counts),
            id=campaign.id,
            position=position,
            status=CampaignStatus(campaign.status),
            session=campaign.session,
            version=campaign.version,
            scheduled_for=campaign.scheduled_for,
            pause_reason=None if campaign.pause is None else str(campaign.pause["reason"]),
            auto_resume=option and not campaign.auto_resume_withheld,
            last_event_at=campaign.last_event_at,
            in_flight=campaign.in_flight is not None,
            max_pacing_seconds=float(campaign.pacing.get("max_seconds", 0.0)),
            simulate_typing=bool(options.get("simulate_typing", False)),
            check_numbers=bool(options.get("check_numbers", False)),
            auto_resume_option=option,
            total=campaign.total,
            min_pacing_seconds=float(campaign.pacing.get("min_seconds", 0.0)),
            priority=_priority(options),
        )

    @classmethod
    def scheduled(cls, event: Campaign.CampaignScheduled, position: int) -> CampaignFacts:
        """Return the facts of a campaign that has just been scheduled."""
        option = bool(event.options.get("auto_resume", True))
        return cls(
            id=event.originator_id,
            position=position,
            status=CampaignStatus.SCHEDULED,
            session=SessionName(event.session),
            version=event.originator_version,
            sent=0,
            failed=0,
            skipped=0,
            in_doubt=0,
            scheduled_for=event.scheduled_for,
            pause_reason=None,
            auto_resume=option,
            last_event_at=event.at,
            in_flight=False,
            max_pacing_seconds=float(event.pacing.get("max_seconds", 0.0)),
            simulate_typing=bool(event.options.get("simulate_typing", False)),
            check_numbers=bool(event.options.get("check_numbers", False)),
            auto_resume_option=option,
            total=int(event.audience.get("size", 0)),
            min_pacing_seconds=float(event.pacing.get("min_seconds", 0.0)),
            priority=_priority(event.options),
        )

    def folded(self, event: Campaign.Event) -> CampaignFacts:  # noqa: C901 - a case per event
        """Return the facts after `event`, the campaign's next one (as its aggregate folds it)."""
        # One `replace` per event: each copies every field, and two events per message made
        # three of them each a noticeable share of a busy service's CPU.
        changes: dict[str, Any] = {"version": event.originator_version}
        at: datetime | None = getattr(event, "at", None)
        match event:
            case Campaign.ContactAttempted(outcome=outcome):
                counted = _OUTCOME_FIELDS.get(outcome)
                changes.update(in_flight=False, last_event_at=at or self.last_event_at)
                if counted is not None:
                    changes[counted] = getattr(self, counted) + 1
                return replace(self, **changes)
            case Campaign.CampaignStarted():
                changes["status"] = CampaignStatus.RUNNING
            case Campaign.AttemptStarted():
                changes["in_flight"] = True
            case Campaign.AttemptAbandoned():
                changes["in_flight"] = False
            case Campaign.AutoResumeWithheld():
                changes["auto_resume"] = False
            case Campaign.CampaignPaused(reason=reason):
                changes.update(status=CampaignStatus.PAUSED, pause_reason=reason)
            case Campaign.CampaignResumed():
                changes.update(
                    status=CampaignStatus.RUNNING,
                    pause_reason=None,
                    auto_resume=self.auto_resume_option,
                )
            case Campaign.CampaignCompleted():
                changes["status"] = CampaignStatus.COMPLETED
            case Campaign.CampaignCancelled():
                changes.update(status=CampaignStatus.CANCELLED, pause_reason=None)
            case Campaign.CampaignEdited(changes=edits):
                changes.update(_edit_changes(edits))
        if at is not None:
            changes["last_event_at"] = at
        return replace(self, **changes)


def _edit_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """Return the facts' fields an edit changes: its schedule, pacing and options."""
    fields: dict[str, Any] = {}
    if "scheduled_for" in changes:
        fields["scheduled_for"] = changes["scheduled_for"]["new"]
    if "pacing" in changes:
        pacing = changes["pacing"]["new"]
        fields["max_pacing_seconds"] = float(pacing.get("max_seconds", 0.0))
        fields["min_pacing_seconds"] = float(pacing.get("min_seconds", 0.0))
    if "options" in changes:
        options = changes["options"]["new"]
        option = bool(options.get("auto_resume", True))
        fields.update(
            auto_resume=option,
            auto_resume_option=option,
            simulate_typing=bool(options.get("simulate_typing", False)),
            check_numbers=bool(options.get("check_numbers", False)),
            priority=_priority(options),
        )
    return fields


def _priority(options: Mapping[str, object]) -> int:
    try:
        return int(str(options.get("priority", 0)))
    except ValueError:
        return 0


class CampaignFactsTracker:
    """Every campaign's facts, kept current by folding the events the log follower hands it.

    It starts from the campaigns as they are (one load each, from their snapshots), so a
    restart does not replay the whole log; from then on it never reloads. Blocking (it reads
    the store): call `refresh` off the event loop.
    """

    topics = CAMPAIGN_TOPICS

    def __init__(self, campaigns: CampaignsApp, follower: LogFollower | None = None) -> None:
        self._campaigns = campaigns
        self._facts: dict[UUID, CampaignFacts] = {}
        self._position: int | None = None
        self._changed: set[UUID] = set()
        self._lock = threading.Lock()
        self._follower = follower or follower_of(campaigns)
        self._follower.subscribe(self)

    def refresh(self) -> set[UUID]:
        """Catch the log follower up; return the ids of campaigns whose facts changed since."""
        self._follower.catch_up()
        with self._lock:
            changed, self._changed = self._changed, set()
        return changed

    def facts(self) -> list[CampaignFacts]:
        """Return every campaign's facts, oldest campaign first."""
        # A copy taken atomically: a refresh in another thread may add campaigns meanwhile.
        current = self._facts.copy()
        return sorted(current.values(), key=lambda f: f.position)

    def get(self, campaign_id: UUID) -> CampaignFacts | None:
        """Return one campaign's facts, if known."""
        return self._facts.get(campaign_id)

    # -- the follower's subscriber ------------------------------------------------------------

    def start(self) -> int:
        """Load every campaign once (first time only); return the log position that covers."""
        if self._position is None:
            # Position first: events recorded while loading come again, and are skipped by
            # their versions, so nothing is counted twice.
            position = self._campaigns.recorder.max_notification_id() or 0
            for scheduled_at, campaign_id in _scheduled(self._campaigns):
                campaign = self._campaigns.load(campaign_id)
                self._put(CampaignFacts.of(campaign, scheduled_at))
            self._position = position
        return self._position

    def apply(self, batch: Sequence[Followed], reached: int) -> None:
        """Fold each campaign event into its campaign's facts."""
        for followed in batch:
            event = followed.event
            if isinstance(event, Campaign.CampaignScheduled):
                if event.originator_id not in self._facts:
                    self._put(CampaignFacts.scheduled(event, followed.position))
                continue
            known = self._facts.get(event.originator_id)
            # Versions make folding idempotent: what the first load saw is not counted again.
            if (
                known is not None
                and isinstance(event, Campaign.Event)
                and event.originator_version > known.version
            ):
                self._put(known.folded(event))
        self._position = reached

    def _put(self, facts: CampaignFacts) -> None:
        self._facts[facts.id] = facts
        with self._lock:
            self._changed.add(facts.id)


def _scheduled(campaigns: CampaignsApp) -> list[tuple[int, UUID]]:
    found: list[tuple[int, UUID]] = []
    after = 0
    while page := campaigns.campaign_ids(after=after, limit=_PAGE):
        found.extend(page)
        after = page[-1][0]
    return found
