"""What the number's guardrails say before a send: go, skip the contact, or hold the sends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.campaign import PauseReason


@dataclass(frozen=True)
class Go:
    """Nothing stands in the way: send."""


@dataclass(frozen=True)
class Skip:
    """Do not message this contact (e.g. it opted out); the campaign goes on.

    `reason` is the stable code recorded with the skip; `detail` says it in words.
    """

    reason: str
    detail: str


@dataclass(frozen=True)
class Hold:
    """Send nothing now: pause, and resume by itself at `resume_at` if it is known.

    `lane_wide` when it concerns the number (a window, a daily cap), not one campaign.
    """

    reason: PauseReason
    detail: str
    resume_at: datetime | None = None
    lane_wide: bool = True


GateVerdict = Go | Skip | Hold
