"""Sending windows: the days and hours of a time zone in which a number may send.

A window is read on the local wall clock: it is open whenever the clock of its time zone
shows one of its days and a time from `start` (included) to `end` (excluded). An end at or
before the start spans midnight: the window opens on a listed day and closes the next day
(so `start == end` is open around the clock from that time). On the day a daylight-saving
change skips the start (02:30 when Berlin jumps from 02:00 to 03:00), the window opens at
the change itself, the first moment the clock shows a time past the start.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import DomainError

DAY_NAMES: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_NAMES: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CLOCK: Final = re.compile(r"^(\d{2}):(\d{2})$")
_HOURS_PER_DAY: Final = 24
_MINUTES_PER_HOUR: Final = 60
# Eight days cover every weekday once, and the day after it for windows spanning midnight.
_DAYS_AHEAD: Final = 8


class InvalidSettingError(DomainError):
    """A number's setting that cannot be used; `field` names it as the API spells it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def time_zone(name: str, field: str = "timezone") -> ZoneInfo:
    """Return the IANA time zone `name` (e.g. Europe/Berlin), or raise InvalidSettingError."""
    if not name or name != name.strip() or len(name) > 64:  # noqa: PLR2004 - longest IANA names are ~30
        raise InvalidSettingError(field, f"not an IANA time zone: {name[:64]!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, UnicodeError):
        raise InvalidSettingError(
            field, f"unknown time zone {name!r} (an IANA name, e.g. Europe/Berlin or UTC)"
        ) from None


def clock_time(text: str, field: str) -> time:
    """Return `HH:MM` (00:00 to 23:59) as a time, or raise InvalidSettingError naming `field`."""
    match = _CLOCK.match(text)
    if match is None:
        raise InvalidSettingError(field, f"not a time of day as HH:MM: {text[:16]!r}")
    hours, minutes = int(match[1]), int(match[2])
    if hours >= _HOURS_PER_DAY or minutes >= _MINUTES_PER_HOUR:
        raise InvalidSettingError(field, f"{text} is out of range (00:00 to 23:59)")
    return time(hours, minutes)


def wall_moment(day: date, at: time, zone: tzinfo) -> datetime:
    """Return the first instant (UTC) at which the clock of `zone` shows `at` or later on `day`.

    Usually the instant the clock shows `at`; in the hour a daylight-saving change skips, the
    change itself; in the hour one repeats, the first of the two.
    """
    local = datetime.combine(day, at)
    first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if _local(first, zone) == local:
        return first
    # A skipped time: the change lies between the two readings; find it to the minute.
    other = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    low, high = min(first, other), max(first, other)
    steps = int((high - low) / timedelta(minutes=1))
    below, above = 0, steps  # minutes after `low`: the clock is before `local`, and not
    while above - below > 1:
        middle = (below + above) // 2
        if _local(low + timedelta(minutes=middle), zone) >= local:
            above = middle
        else:
            below = middle
    return low + timedelta(minutes=above)


def _local(moment: datetime, zone: tzinfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None, fold=0)


def local_day_start(moment: datetime, zone: tzinfo) -> datetime:
    """Return the instant (UTC) the local day of `moment` began in `zone`."""
    return wall_moment(moment.astimezone(zone).date(), time(0, 0), zone)


def next_local_day_start(moment: datetime, zone: tzinfo) -> datetime:
    """Return the instant (UTC) the local day after the one of `moment` begins in `zone`."""
    return wall_moment(moment.astimezone(zone).date() + timedelta(days=1), time(0, 0), zone)


@dataclass(frozen=True)
class SendWindow:
    """The weekdays (0 is Monday) and the hours in a time zone during which sends may go."""

    days: frozenset[int]
    start: time
    end: time
    timezone: str

    def __post_init__(self) -> None:
        if not self.days:
            raise InvalidSettingError("window.days", "name at least one day")
        if not self.days <= set(range(7)):
            raise InvalidSettingError("window.days", "days are 0 (Monday) to 6 (Sunday)")
        time_zone(self.timezone, "window.timezone")

    @property
    def zone(self) -> ZoneInfo:
        """The window's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def spans_midnight(self) -> bool:
        """Whether a day's window closes the next day (an end at or before the start)."""
        return self.end <= self.start

    # -- records -----------------------------------------------------------------------------

    @classmethod
    def parse(cls, record: Mapping[str, object], field: str = "window") -> SendWindow:
        """Return the window an operator gave, or raise InvalidSettingError naming the field."""
        days = record.get("days")
        if not isinstance(days, Sequence) or isinstance(days, str):
            raise InvalidSettingError(f"{field}.days", "a list of day names, e.g. ['mon', 'tue']")
        numbers = set()
        for position, name in enumerate(days):
            number = day_number(name)
            if number is None:
                raise InvalidSettingError(
                    f"{field}.days[{position}]",
                    f"not a day name: {str(name)[:16]!r} (mon, tue, wed, thu, fri, sat, sun)",
                )
            numbers.add(number)
        if not numbers:
            raise InvalidSettingError(f"{field}.days", "name at least one day")
        start = clock_time(_text(record, "start", field), f"{field}.start")
        end = clock_time(_text(record, "end", field), f"{field}.end")
        zone = _text(record, "timezone", field)
        time_zone(zone, f"{field}.timezone")
        return cls(frozenset(numbers), start, end, zone)

    def to_record(self) -> dict[str, object]:
        """Return the window as JSON-native data, as an operator writes it."""
        return {
            "days": [DAY_NAMES[d] for d in sorted(self.days)],
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
            "timezone": self.timezone,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, object]) -> SendWindow:
        """Rebuild a window from the data `to_record` made."""
        return cls.parse(record)

    # -- questions -------------------------------------------------------------------------------

    def is_open(self, now: datetime) -> bool:
        """Whether the window is open at `now`."""
        local = now.astimezone(self.zone)
        clock, day = local.time().replace(tzinfo=None), local.weekday()
        if not self.spans_midnight:
            return day in self.days and self.start <= clock < self.end
        yesterday = (day - 1) % 7
        return (day in self.days and clock >= self.start) or (
            yesterday in self.days and clock < self.end
        )

    def next_opening(self, now: datetime) -> datetime:
        """Return `now` if the window is open, else the moment it next opens."""
        if self.is_open(now):
            return now
        today = now.astimezone(self.zone).date()
        for offset in range(_DAYS_AHEAD):
            day = today + timedelta(days=offset)
            if day.weekday() in self.days:
                opening = wall_moment(day, self.start, self.zone)
                if opening > now:
                    return opening
        # Unreachable with at least one day; kept so the answer is always a moment.
        return wall_moment(today + timedelta(days=_DAYS_AHEAD), self.start, self.zone)

    def next_closing(self, now: datetime) -> datetime | None:
        """Return when the window open at `now` closes (None if it never does); None if shut."""
        if not self.is_open(now):
            return None
        moment = now
        for _ in range(_DAYS_AHEAD):
            closing = self._closing_after(moment)
            if not self.is_open(closing):
                return closing
            moment = closing  # another day's window begins as this one ends
        return None

    def _closing_after(self, moment: datetime) -> datetime:
        local = moment.astimezone(self.zone)
        day = local.date()
        clock = local.time().replace(tzinfo=None)
        if not self.spans_midnight or clock >= self.start:
            # In today's window: it ends today, or tomorrow when it spans midnight.
            ends_on = day + timedelta(days=1) if self.spans_midnight else day
        else:
            ends_on = day  # in the tail of yesterday's window
        return wall_moment(ends_on, self.end, self.zone)

    def open_spans(self, since: datetime, until: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Yield the stretches of time the window is open between `since` and `until`, in order."""
        moment = since
        while moment < until:
            opening = self.next_opening(moment)
            if opening >= until:
                return
            closing = self.next_closing(opening) or until
            yield opening, min(closing, until)
            moment = closing


def day_number(name: object) -> int | None:
    """Return 0 (Monday) to 6 for a day's name ("mon" or "monday", any case), else None."""
    if not isinstance(name, str):
        return None
    text = name.strip().lower()
    for names in (DAY_NAMES, _FULL_NAMES):
        if text in names:
            return names.index(text)
    return None


def _text(record: Mapping[str, object], name: str, field: str) -> str:
    value = record.get(name)
    if not isinstance(value, str):
        raise InvalidSettingError(f"{field}.{name}", "required, as text")
    return value


def optional_window(record: object) -> SendWindow | None:
    """Return the window a recorded option holds, or None (none, or no longer readable)."""
    if not isinstance(record, Mapping):
        return None
    try:
        return SendWindow.parse(record)
    except InvalidSettingError:
        return None


def both_open_at(windows: Sequence[SendWindow], now: datetime) -> datetime | None:
    """Return the first moment from `now` at which every window is open; None within 60 days.

    Windows that never overlap (one on Mondays, the other on Tuesdays) have no such moment.
    """
    if not windows:
        return now
    moment = now
    limit = now + timedelta(days=60)
    while moment <= limit:
        later = max(w.next_opening(moment) for w in windows)
        if later == moment:
            return moment
        moment = later
    return None
