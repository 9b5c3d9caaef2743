"""When a campaign should finish, from the record as it stands (domain/eta.py decides)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from uuid import UUID

from app.campaign_facts import CampaignFacts
from app.ports import Clock
from app.read_models import CampaignContacts
from app.session_settings import SessionSettingsBook
from domain.campaign import TIMED_PAUSES, Campaign, PauseReason
from domain.eta import Share, finish_at, lane_work
from domain.lifecycle import CampaignStatus
from domain.pacing import CampaignOptions
from domain.session import SessionName
from domain.window import optional_window


def _mean_gap(pacing: Mapping[str, float]) -> float:
    return (float(pacing.get("min_seconds", 0.0)) + float(pacing.get("max_seconds", 0.0))) / 2


class FinishEstimate:
    """Estimates campaigns' ends: their lane's share, pacing, the windows and the caps.

    Blocking (it reads the settings and the read model): call it off the event loop.
    """

    def __init__(
        self,
        facts: Callable[[], list[CampaignFacts]],
        settings: SessionSettingsBook,
        contacts: CampaignContacts,
        clock: Clock,
    ) -> None:
        self._facts = facts
        self._settings = settings
        self._contacts = contacts
        self._clock = clock

    def __call__(self, campaign: Campaign) -> datetime | None:
        """Return when `campaign` should finish, or None (done, or waiting on something untimed)."""
        now = self._clock.now()
        start = self._start(campaign, now)
        if start is None:
            return None
        return self.plan(
            session=campaign.session,
            remaining=max(0, campaign.total - campaign.next_index),
            pacing=campaign.pacing,
            options=campaign.options,
            start=start,
            campaign_id=campaign.id,
        )

    def plan(
        self,
        *,
        session: SessionName,
        remaining: int,
        pacing: Mapping[str, float],
        options: Mapping[str, object],
        start: datetime,
        campaign_id: UUID | None = None,
    ) -> datetime | None:
        """Return when `remaining` contacts with this pacing and these options are done."""
        now = self._clock.now()
        ours = Share(
            remaining=remaining,
            mean_gap_seconds=_mean_gap(pacing),
            priority=CampaignOptions.from_record(options).priority,
        )
        others = [
            Share(
                max(0, f.total - f.handled),
                (f.min_pacing_seconds + f.max_pacing_seconds) / 2,
                f.priority,
            )
            for f in self._facts()
            if f.session == session and f.id != campaign_id and f.status == CampaignStatus.RUNNING
        ]
        settings = self._settings.settings_of(session)
        today_start = settings.day_start(now)
        # Counted only when a cap makes it matter: a view must stay cheap on a busy number.
        capped = settings.daily_cap is not None or settings.warmup is not None
        return finish_at(
            lane_work(ours, others),
            start,
            settings,
            sent_today=self._contacts.sent_count(session, today_start) if capped else 0,
            today_start=today_start,
            campaign_window=optional_window(options.get("window")),
        )

    @staticmethod
    def _start(campaign: Campaign, now: datetime) -> datetime | None:
        state = campaign.state
        if state is CampaignStatus.RUNNING:
            return now
        if state is CampaignStatus.SCHEDULED:
            return max(now, campaign.scheduled_for)
        pause = campaign.pause
        if state is not CampaignStatus.PAUSED or pause is None:
            return None
        if pause["reason"] == PauseReason.SHUTDOWN.value:
            return now
        resume_at = pause.get("resume_at")
        if pause["reason"] in TIMED_PAUSES and isinstance(resume_at, datetime):
            return max(now, resume_at)
        return None
