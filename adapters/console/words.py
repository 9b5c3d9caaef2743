"""What the record says, in the operator's words: pause reasons, resumes, the timeline."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from adapters.console.formatting import count, duration, moment, span
from app.audit.timeline import Milestone
from domain.campaign import SESSION_PAUSES, PauseReason

# Why a campaign paused, as a clause after "because".
_BECAUSE: Final = {
    PauseReason.SESSION_NOT_WORKING.value: "the session was not working",
    PauseReason.STATUS_CHECK_FAILED.value: "WAHA could not tell the session's status",
    PauseReason.WAHA_UNAVAILABLE.value: "WAHA could not be reached",
    PauseReason.ACCOUNT_RESTRICTED.value: "WhatsApp restricted the account",
    PauseReason.RATE_LIMITED.value: "WhatsApp limited how fast it may send",
    PauseReason.WAHA_REJECTED.value: "WAHA refused a send (a key, permission or proxy problem)",
    PauseReason.TOO_MANY_FAILURES.value: "too many sends in a row failed",
    PauseReason.NUMBER_CHECK_FAILED.value: "checking a number with WhatsApp failed",
    PauseReason.MEDIA_UNAVAILABLE.value: "its image could not be read",
    PauseReason.RUNNER_ERROR.value: "an unexpected error stopped the run",
    PauseReason.SHUTDOWN.value: "the service stopped",
    PauseReason.MANUAL.value: "an operator paused it",
}
# Why a paused campaign waits for a person, by reason.
_BY_HAND: Final = {
    PauseReason.MANUAL.value: "an operator paused it; resume it when you are ready",
    PauseReason.ACCOUNT_RESTRICTED.value: "a restricted account needs a person to look first",
    PauseReason.RATE_LIMITED.value: "WhatsApp's limit needs a person to decide when to go on",
    PauseReason.TOO_MANY_FAILURES.value: "failed sends need a person to look first",
}
# The runner records WAHA's status word as the detail ("STARTING"); older pauses, a sentence.
_SESSION_STATUS: Final = re.compile(r"^(?:session status is )?(?P<status>[A-Z][A-Z_]*)$")


def because(reason: str, detail: str = "") -> str:
    """Return why a campaign paused, as a clause: "the session was STARTING"."""
    if reason == PauseReason.SESSION_NOT_WORKING.value:
        found = _SESSION_STATUS.match(detail)
        if found is not None:
            return f"the session was {found['status']}"
    words = _BECAUSE.get(reason, reason.replace("_", " "))
    if detail and reason not in {PauseReason.MANUAL.value, PauseReason.SESSION_NOT_WORKING.value}:
        return f"{words} ({detail})"
    return words


@dataclass(frozen=True)
class ResumeOutlook:
    """Whether a paused campaign goes on by itself, and what the operator should know."""

    by_itself: bool
    words: str


def resume_outlook(
    reason: str,
    *,
    auto_resume: bool,
    auto_resume_option: bool,
    resume_at: datetime | None = None,
    now: datetime | None = None,
) -> ResumeOutlook:
    """Return what will happen to a paused campaign, from its pause and its auto-resume facts.

    `resume_at` is when the runner plans to go on by itself, where the view says so.
    """
    if resume_at is not None:
        when = moment(resume_at)
        if now is not None:
            when += f" (in {duration(span(now, resume_at).total_seconds())})"
        return ResumeOutlook(by_itself=True, words=f"resumes by itself at {when}")
    if reason == PauseReason.SHUTDOWN.value:
        return ResumeOutlook(by_itself=True, words="resumes by itself as soon as a service runs")
    if reason in SESSION_PAUSES:
        if auto_resume:
            return ResumeOutlook(
                by_itself=True, words="resumes by itself when the session works again"
            )
        why = (
            "automatic resumes were withheld: the session kept flapping"
            if auto_resume_option
            else "automatic resume is off for this campaign"
        )
        return ResumeOutlook(by_itself=False, words=f"will not resume by itself ({why})")
    why = _BY_HAND.get(reason, "resume it by hand once the cause is fixed")
    return ResumeOutlook(by_itself=False, words=f"will not resume by itself ({why})")


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a campaign's life: when, and what happened, in words."""

    time: datetime
    words: str
    kind: str  # scheduled, started, paused, withheld, completed, cancelled: for its mark


def _contact(index: int, total: int) -> str:
    return f"contact {count(index + 1)} of {count(total)} (index {index})"


def timeline_entries(
    milestones: Sequence[Milestone], total: int, now: datetime
) -> list[TimelineEntry]:
    """Return the campaign's milestones as sentences, a resume folded into its pause.

    "paused at contact 4 of 15 (index 3) because the session was STARTING, resumed 12 s later"
    """
    entries: list[TimelineEntry] = []
    for position, milestone in enumerate(milestones):
        if milestone.what == "paused":
            entries.append(_pause_entry(milestone, milestones[position + 1 :], total, now))
        elif milestone.what == "resumed":
            # A resume is told with the pause it ends, unless there is none to tell it with.
            if position == 0 or milestones[position - 1].what not in _ENDED_BY_RESUME:
                where = _contact(milestone.index or 0, total)
                entries.append(TimelineEntry(milestone.time, f"resumed at {where}", "resumed"))
        else:
            entries.append(_plain_entry(milestone, total))
    return entries


_ENDED_BY_RESUME: Final = frozenset({"paused", "auto-resume withheld"})


def _plain_entry(milestone: Milestone, total: int) -> TimelineEntry:
    what = milestone.what
    words = what
    if what == "scheduled":
        detail = milestone.detail or ""
        words = "scheduled"
        if detail.startswith("for "):
            words = f"scheduled for {moment(datetime.fromisoformat(detail[4:]))}"
    elif what == "started":
        words = "started sending"
    elif what == "auto-resume withheld":
        what = "withheld"
        words = "stayed paused although the session works"
        if milestone.detail:
            words += f": {milestone.detail}"
    elif what == "completed":
        words = "completed: every contact handled"
    elif what == "cancelled":
        words = f"cancelled at {_contact(milestone.index or 0, total)}"
        if milestone.reason:
            words += f": {milestone.reason}"
    return TimelineEntry(milestone.time, words, what)


def _pause_entry(
    pause: Milestone, later: Sequence[Milestone], total: int, now: datetime
) -> TimelineEntry:
    words = f"paused at {_contact(pause.index or 0, total)}"
    words += f" because {because(pause.reason or '', pause.detail or '')}"
    resumed = next((m for m in later if m.what in {"resumed", "paused", "cancelled"}), None)
    if resumed is not None and resumed.what == "resumed":
        how = " by itself" if resumed.reason == "automatic" else " by an operator"
        later_by = duration(span(pause.time, resumed.time).total_seconds())
        words += f", resumed{how} {later_by} later"
    elif resumed is None:
        words += f", paused for {duration(span(pause.time, now).total_seconds())} so far"
    return TimelineEntry(pause.time, words, "paused")
