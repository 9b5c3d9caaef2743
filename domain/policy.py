"""Pure decisions of the runner: go on, or pause and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from domain.campaign import SESSION_PAUSES, Campaign, PauseReason
from domain.session import is_sendable

AUTO_RESUME_WINDOW: Final = timedelta(hours=1)
# WAHA advises typing for a time that grows with the text: about a reader's pace, capped.
TYPING_SECONDS_PER_CHARACTER: Final = 0.05
TYPING_MIN_SECONDS: Final = 1.0
TYPING_MAX_SECONDS: Final = 8.0


@dataclass(frozen=True)
class Proceed:
    """Send to the contact."""


@dataclass(frozen=True)
class Pause:
    """Pause the campaign at the contact, for `reason`, with `detail` for the operator."""

    reason: PauseReason
    detail: str


Decision = Proceed | Pause


def decide(session_status: str) -> Decision:
    """Return whether a session in `session_status` lets the campaign send."""
    if is_sendable(session_status):
        return Proceed()
    return Pause(PauseReason.SESSION_NOT_WORKING, f"session status is {session_status}")


def too_many_failures(consecutive_failures: int, limit: int) -> Pause | None:
    """Return a pause when the last `limit` sends all failed, so a broken setup stops early."""
    if consecutive_failures >= limit:
        return Pause(PauseReason.TOO_MANY_FAILURES, f"{consecutive_failures} sends in a row failed")
    return None


@dataclass(frozen=True)
class AutoResume:
    """Resume the campaign by itself."""


@dataclass(frozen=True)
class Withhold:
    """Stay paused although the session works; `detail` says why."""

    detail: str


@dataclass(frozen=True)
class Wait:
    """Nothing to do (yet)."""


def decide_auto_resume(
    campaign: Campaign, session_status: str, now: datetime, max_per_hour: int
) -> AutoResume | Withhold | Wait:
    """Return what to do with a paused campaign when its session is seen in `session_status`."""
    if campaign.pause is None or campaign.pause["reason"] not in SESSION_PAUSES:
        return Wait()
    if not campaign.options.get("auto_resume", True) or campaign.auto_resume_withheld:
        return Wait()
    if not is_sendable(session_status):
        return Wait()
    recent = campaign.auto_resumes_since(now - AUTO_RESUME_WINDOW)
    if recent >= max_per_hour:
        return Withhold(
            f"the session flapped: {recent} automatic resumes in the last hour "
            f"(limit {max_per_hour}); resume by hand when it is stable"
        )
    return AutoResume()


def typing_seconds(text: str) -> float:
    """Return how long to show "typing…" before sending `text`."""
    return min(
        TYPING_MAX_SECONDS, max(TYPING_MIN_SECONDS, len(text) * TYPING_SECONDS_PER_CHARACTER)
    )
