"""The number's guardrails as pure decisions, asked in order before each send.

1. a closed window holds the sends until it opens; 2. a reached cap holds them until the
next local day's opening; 3. WhatsApp's own limits hold them until WAHA's end; 4. a contact
who opted out is skipped; 5. a contact the number messaged lately is skipped. Each returns
a verdict (domain/gates.py), or None when it does not stand in the way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID

from domain.campaign import PauseReason
from domain.gates import Hold, Skip
from domain.number_settings import NumberSettings
from domain.opt_out import OptOutEntry
from domain.window import DAY_NAMES, SendWindow, both_open_at

# A WhatsApp limit in force without an end WAHA names is looked at again after this long.
LIMIT_RECHECK: Final = timedelta(minutes=15)
# A campaign's window that never meets the number's is looked at again daily (settings change).
NO_OVERLAP_RECHECK: Final = timedelta(days=1)
OPTED_OUT: Final = "opted_out"
RECENTLY_CONTACTED: Final = "recently_contacted"


def local_text(moment: datetime, window: SendWindow | None) -> str:
    """Return `moment` as the operator reads it: in the window's time zone, else UTC."""
    zone = window.zone if window is not None else None
    shown = moment.astimezone(zone) if zone is not None else moment
    return shown.isoformat(timespec="minutes")


def describe_window(window: SendWindow) -> str:
    """Return a window in words, e.g. `mon-fri 09:00-18:00 Europe/Berlin`."""
    days = ",".join(DAY_NAMES[d] for d in sorted(window.days))
    return f"{days} {window.start:%H:%M}-{window.end:%H:%M} {window.timezone}"


def window_verdict(
    number: SendWindow | None, campaign: SendWindow | None, now: datetime
) -> Hold | None:
    """Hold the sends while the number's window, or the campaign's own, is closed."""
    if number is not None and not number.is_open(now):
        opening = number.next_opening(now)
        return Hold(
            PauseReason.OUTSIDE_WINDOW,
            f"outside the number's sending window ({describe_window(number)}); "
            f"it opens at {local_text(opening, number)}",
            resume_at=opening,
        )
    if campaign is not None and not campaign.is_open(now):
        windows = [w for w in (number, campaign) if w is not None]
        both = both_open_at(windows, now)
        if both is None:
            again = now + NO_OVERLAP_RECHECK
            return Hold(
                PauseReason.OUTSIDE_WINDOW,
                f"the campaign's window ({describe_window(campaign)}) never meets the "
                f"number's within 60 days; looked at again at {again.isoformat()}: change "
                "one of them, then resume",
                resume_at=again,
                lane_wide=False,
            )
        return Hold(
            PauseReason.OUTSIDE_WINDOW,
            f"outside the campaign's window ({describe_window(campaign)}); "
            f"it opens at {local_text(both, campaign)}",
            resume_at=both,
            lane_wide=False,
        )
    return None


def cap_verdict(settings: NumberSettings, now: datetime, sent_today: int) -> Hold | None:
    """Hold the sends once the number sent its cap for the local day."""
    cap = settings.cap_on(now)
    if cap is None or sent_today < cap.limit:
        return None
    opening = settings.next_day_opening(now)
    detail = f"{sent_today} sent today; the {cap.name} is {cap.limit}"
    if cap.reason is PauseReason.WARMUP_CAP and settings.warmup is not None:
        week = settings.warmup.week_on(settings.local_day(now))
        detail += f" (week {week} of the warm-up)"
    detail += f"; sending goes on at {local_text(opening, settings.window)}"
    return Hold(cap.reason, detail, resume_at=opening)


@dataclass(frozen=True)
class WhatsAppLimit:
    """A limit WhatsApp imposes on the account, as WAHA reports it; `until` None: no end given."""

    reason: PauseReason  # REACHOUT_TIMELOCK or CAPPED
    until: datetime | None


def limits_verdict(limits: Sequence[WhatsAppLimit], now: datetime) -> Hold | None:
    """Hold the sends while WhatsApp limits the account, until the end WAHA gives."""
    for limit in limits:
        if limit.until is not None and limit.until <= now:
            continue  # over
        name = "reachout timelock" if limit.reason is PauseReason.REACHOUT_TIMELOCK else "capped"
        if limit.until is None:
            resume = now + LIMIT_RECHECK
            detail = f"WhatsApp: {name}, with no end given; looked at again at {resume.isoformat()}"
        else:
            resume = limit.until
            detail = f"WhatsApp: {name} until {limit.until.isoformat()}"
        return Hold(limit.reason, detail, resume_at=resume)
    return None


def opt_out_verdict(entry: OptOutEntry | None) -> Skip | None:
    """Skip a contact on the opt-out list."""
    if entry is None:
        return None
    note = f": {entry.note}" if entry.note else ""
    return Skip(OPTED_OUT, f"opted out at {entry.at.isoformat()} ({entry.source}){note}")


@dataclass(frozen=True)
class EarlierMessage:
    """The last message the number sent to a chat: which campaign, and when."""

    campaign_id: UUID
    at: datetime


def recent_contact_verdict(
    earlier: EarlierMessage | None, now: datetime, days: int | None
) -> Skip | None:
    """Skip a contact the number messaged (in any campaign) within `days` days."""
    if days is None or earlier is None or now - earlier.at >= timedelta(days=days):
        return None
    return Skip(
        RECENTLY_CONTACTED,
        f"messaged by campaign {earlier.campaign_id} at {earlier.at.isoformat()}, "
        f"within {days} day(s)",
    )
