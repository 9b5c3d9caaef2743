"""A campaign's progress as the console shows it: the bar, the pause in words, the ETA."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.console.formatting import count, duration, percent, relative
from adapters.console.words import ResumeOutlook, because, resume_outlook
from app.campaign_facts import CampaignFacts
from app.views import CampaignView
from domain.lifecycle import CampaignStatus


@dataclass(frozen=True)
class Segment:
    """One part of the bar: an outcome, how many contacts had it, and its share of the width."""

    kind: str
    label: str
    count: int
    offset: float  # percent of the bar before it
    width: float  # percent of the bar


@dataclass(frozen=True)
class ProgressBar:
    """Sent, failed, skipped and in-doubt contacts out of the campaign's total."""

    total: int
    handled: int
    segments: list[Segment]

    @property
    def share(self) -> int:
        """How much is handled, in whole percent (rounded down: 100 only when all are)."""
        return int(percent(self.handled, self.total))

    @property
    def summary(self) -> str:
        """E.g. "1,234 of 15,000 contacts handled (8%)"."""
        return f"{count(self.handled)} of {count(self.total)} contacts handled ({self.share}%)"

    @property
    def description(self) -> str:
        """The bar read aloud: every outcome's count."""
        parts = ", ".join(f"{s.label} {count(s.count)}" for s in self.segments)
        return f"{self.summary}: {parts}"


_OUTCOMES = (
    ("sent", "sent"),
    ("failed", "failed"),
    ("skipped", "skipped"),
    ("in_doubt", "in doubt"),
)


def progress_bar(view: CampaignView) -> ProgressBar:
    """Return the campaign's bar; each outcome's segment after the one before."""
    segments: list[Segment] = []
    offset = 0.0
    for kind, label in _OUTCOMES:
        amount = int(getattr(view, kind))
        width = percent(amount, view.total)
        segments.append(Segment(kind, label, amount, offset, width))
        offset += width
    handled = sum(s.count for s in segments)
    return ProgressBar(view.total, handled, segments)


@dataclass(frozen=True)
class PauseWords:
    """A paused campaign: where and why, in words, and whether it goes on by itself."""

    where: str
    why: str
    since: datetime
    outlook: ResumeOutlook


def pause_words(
    view: CampaignView, facts: CampaignFacts | None, now: datetime
) -> PauseWords | None:
    """Return the pause in words, or None unless the campaign is paused.

    `resume_at` is shown where the view has it (send lanes add it to the pause).
    """
    pause = view.pause
    if view.status != CampaignStatus.PAUSED or pause is None:
        return None
    resume_at: Any = getattr(pause, "resume_at", None)
    outlook = resume_outlook(
        pause.reason,
        auto_resume=facts.auto_resume if facts is not None else False,
        auto_resume_option=facts.auto_resume_option if facts is not None else True,
        resume_at=resume_at if isinstance(resume_at, datetime) else None,
        now=now,
    )
    where = f"at contact {count(pause.index + 1)} of {count(view.total)}"
    return PauseWords(where, because(pause.reason, pause.detail), pause.at, outlook)


def eta_words(view: CampaignView, now: datetime) -> str | None:
    """Return when a running campaign should end, in words; None when it is not running.

    The view's own estimate (`eta`) wins where it has one; otherwise the estimate is the
    contacts left times the mean of the campaign's pacing, and says so.
    """
    given: Any = getattr(view, "eta", None)
    if isinstance(given, datetime):
        return f"ends {relative(given, now)}"
    if view.status != CampaignStatus.RUNNING:
        return None
    handled = view.sent + view.failed + view.skipped + view.in_doubt
    left = max(view.total - handled, 0)
    if left == 0:
        return None
    mean = (
        float(view.pacing.get("min_seconds", 0.0)) + float(view.pacing.get("max_seconds", 0.0))
    ) / 2
    if mean <= 0:
        return f"{count(left)} contacts left"
    return f"about {duration(left * mean)} left at its pacing ({count(left)} contacts)"


def schedule_words(view: CampaignView, now: datetime) -> str | None:
    """Return when a scheduled campaign starts, in words; None once it has started."""
    if view.status != CampaignStatus.SCHEDULED:
        return None
    if view.scheduled_for <= now:
        return "due now: starts at the next look"
    return f"starts {relative(view.scheduled_for, now)}"
