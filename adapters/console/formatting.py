"""Numbers, durations and times as people read them: 1,234; "in 3 h 20 min"; "12 s ago"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

_MINUTE: Final = 60
_HOUR: Final = 60 * _MINUTE
_DAY: Final = 24 * _HOUR


def count(value: int | None) -> str:
    """Return a whole number with thousands separated: 1234567 -> "1,234,567"; None -> "—"."""
    return "—" if value is None else f"{value:,}"


def duration(seconds: float) -> str:
    """Return a span in its two largest units: "12 s", "4 min 5 s", "3 h 20 min", "2 d 3 h".

    Below a second it says "under a second"; the sign is ignored.
    """
    total = round(abs(seconds))
    if total < 1:
        return "under a second"
    units = ((_DAY, "d"), (_HOUR, "h"), (_MINUTE, "min"), (1, "s"))
    parts: list[str] = []
    for size, name in units:
        amount, total = divmod(total, size)
        if amount:
            parts.append(f"{amount:,} {name}")
        elif parts:
            break  # "3 h", not "3 h 0 min"
        if len(parts) == 2:  # noqa: PLR2004 - the two largest units say enough
            break
    return " ".join(parts)


def relative(when: datetime, now: datetime) -> str:
    """Return `when` from `now`'s point of view: "in 3 h 20 min", "12 s ago", "just now"."""
    seconds = (when - now).total_seconds()
    if abs(seconds) < 1:
        return "just now"
    return f"in {duration(seconds)}" if seconds > 0 else f"{duration(seconds)} ago"


def moment(when: datetime) -> str:
    """Return an instant as "2026-05-01 09:00:12 UTC" (the console speaks UTC, and says so)."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(when: datetime) -> str:
    """Return an instant for a <time datetime=…> attribute (the browser may show it locally)."""
    return when.astimezone(UTC).isoformat()


def seconds(value: float) -> str:
    """Return a pacing bound as people write it: 30 -> "30 s", 0.5 -> "0.5 s"."""
    return f"{value:g} s"


def percent(part: int, whole: int) -> float:
    """Return `part` of `whole` in percent, 0 when there is no whole, never above 100."""
    if whole <= 0:
        return 0.0
    return min(100.0, 100.0 * part / whole)


def span(start: datetime, end: datetime) -> timedelta:
    """Return how long from `start` to `end` (never negative: clocks of two hosts may differ)."""
    return max(end - start, timedelta(0))
