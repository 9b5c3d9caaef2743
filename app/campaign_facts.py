"""What the supervisor and read models know of every campaign, kept current without replays."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from app.campaigns import SCHEDULED_TOPIC, CampaignsApp
from domain.campaign import AttemptOutcome, Campaign

_PAGE = 1000


@dataclass(frozen=True)
class CampaignFacts:
    """One campaign's status and counts, plus what scheduling and recovery decide on."""

    id: UUID
    position: int  # where its CampaignScheduled event sits in the store: a list cursor
    status: str
    session: str
    version: int
    sent: int
    failed: int
    skipped: int
    in_doubt: int
    scheduled_for: datetime
    pause_reason: str | None
    auto_resume: bool  # the option is on and no AutoResumeWithheld since the pause
    last_event_at: datetime | None
    in_flight: bool
    max_pacing_seconds: float
    simulate_typing: bool
    check_numbers: bool

    @classmethod
    def of(cls, campaign: Campaign, position: int) -> CampaignFacts:
        """Return the facts of a loaded campaign."""
        counts = campaign.counts
        options = campaign.options
        return cls(
            id=campaign.id,
            position=position,
            status=campaign.status,
            session=campaign.session,
            version=campaign.version,
            sent=counts.get(AttemptOutcome.SENT.value, 0),
            failed=counts.get(AttemptOutcome.FAILED.value, 0),
            skipped=counts.get(AttemptOutcome.SKIPPED.value, 0),
            in_doubt=counts.get(AttemptOutcome.IN_DOUBT.value, 0),
            scheduled_for=campaign.scheduled_for,
            pause_reason=None if campaign.pause is None else str(campaign.pause["reason"]),
            auto_resume=bool(options.get("auto_resume", True))
            and not campaign.auto_resume_withheld,
            last_event_at=campaign.last_event_at,
            in_flight=campaign.in_flight is not None,
            max_pacing_seconds=float(campaign.pacing.get("max_seconds", 0.0)),
            simulate_typing=bool(options.get("simulate_typing", False)),
            check_numbers=bool(options.get("check_numbers", False)),
        )


class CampaignFactsTracker:
    """Follows the store's notification log and reloads only the campaigns that changed.

    Blocking (it reads the store): call `refresh` off the event loop.
    """

    def __init__(self, campaigns: CampaignsApp) -> None:
        self._campaigns = campaigns
        self._facts: dict[UUID, CampaignFacts] = {}
        self._position: int | None = None
        self._lock = threading.Lock()

    def refresh(self) -> set[UUID]:
        """Catch up with the store; return the ids of campaigns whose facts changed."""
        with self._lock:
            if self._position is None:
                return self._first_look()
            return self._catch_up()

    def facts(self) -> list[CampaignFacts]:
        """Return every campaign's facts, oldest campaign first."""
        # A copy taken atomically: a refresh in another thread may add campaigns meanwhile.
        current = self._facts.copy()
        return sorted(current.values(), key=lambda f: f.position)

    def get(self, campaign_id: UUID) -> CampaignFacts | None:
        """Return one campaign's facts, if known."""
        return self._facts.get(campaign_id)

    def _first_look(self) -> set[UUID]:
        # Position first: anything recorded while listing is read again next time, harmlessly.
        position = self._campaigns.recorder.max_notification_id() or 0
        changed = set()
        for scheduled_at, campaign_id in _scheduled(self._campaigns, after=0):
            self._reload(campaign_id, scheduled_at)
            changed.add(campaign_id)
        self._position = position
        return changed

    def _catch_up(self) -> set[UUID]:
        assert self._position is not None  # noqa: S101 - set by _first_look
        touched: dict[UUID, int] = {}
        recorder = self._campaigns.recorder
        while page := recorder.select_notifications(
            start=self._position, limit=_PAGE, inclusive_of_start=False
        ):
            for notification in page:
                originator = UUID(str(notification.originator_id))
                if notification.topic == SCHEDULED_TOPIC:
                    touched[originator] = notification.id
                elif originator in self._facts:
                    touched.setdefault(originator, self._facts[originator].position)
            self._position = page[-1].id
        for campaign_id, position in touched.items():
            self._reload(campaign_id, position)
        return set(touched)

    def _reload(self, campaign_id: UUID, position: int) -> None:
        campaign = self._campaigns.load(campaign_id)
        self._facts[campaign_id] = CampaignFacts.of(campaign, position)


def _scheduled(campaigns: CampaignsApp, *, after: int) -> list[tuple[int, UUID]]:
    found: list[tuple[int, UUID]] = []
    while page := campaigns.campaign_ids(after=after, limit=_PAGE):
        found.extend(page)
        after = page[-1][0]
    return found
