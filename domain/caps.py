"""How many messages a number may send in a local day: the operator's cap and the warm-up's."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from domain.campaign import PauseReason
from domain.window import InvalidSettingError

MAX_DAILY_CAP: Final = 1_000_000
MAX_WARMUP_WEEKS: Final = 52
_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DAYS_PER_WEEK: Final = 7


def cap_value(value: object, field: str) -> int:
    """Return a cap the operator gave (a whole number, 0 or more), or raise naming `field`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidSettingError(field, "a whole number of messages, 0 or more")
    if value < 0:
        raise InvalidSettingError(field, f"must not be negative (got {value})")
    if value > MAX_DAILY_CAP:
        raise InvalidSettingError(field, f"at most {MAX_DAILY_CAP:,} messages a day")
    return value


@dataclass(frozen=True)
class Warmup:
    """A new number's caps by week of its life: week 1, 2, ...; the last one holds after.

    Declared by the operator (`started_on` is the day the number began sending).
    """

    started_on: date
    caps: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.caps:
            raise InvalidSettingError("warmup.caps", "give at least one cap (week 1)")
        if len(self.caps) > MAX_WARMUP_WEEKS:
            raise InvalidSettingError("warmup.caps", f"at most {MAX_WARMUP_WEEKS} weeks")
        for week, cap in enumerate(self.caps):
            cap_value(cap, f"warmup.caps[{week}]")

    def week_on(self, day: date) -> int:
        """Return the week of the number's life `day` falls in: 1 for its first seven days."""
        return max(0, (day - self.started_on).days) // _DAYS_PER_WEEK + 1

    def cap_on(self, day: date) -> int:
        """Return the warm-up's cap for the local day `day`."""
        return self.caps[min(self.week_on(day), len(self.caps)) - 1]

    @classmethod
    def parse(cls, record: Mapping[str, object], field: str = "warmup") -> Warmup:
        """Return the warm-up an operator gave, or raise InvalidSettingError naming the field."""
        started = record.get("started_on")
        if not isinstance(started, str) or not _DATE.match(started):
            raise InvalidSettingError(f"{field}.started_on", "a date as YYYY-MM-DD")
        try:
            started_on = date.fromisoformat(started)
        except ValueError:
            raise InvalidSettingError(f"{field}.started_on", f"no such date: {started}") from None
        caps = record.get("caps")
        if not isinstance(caps, Sequence) or isinstance(caps, str) or not caps:
            raise InvalidSettingError(f"{field}.caps", "a list of caps, e.g. [20, 50, 100, 200]")
        if len(caps) > MAX_WARMUP_WEEKS:
            raise InvalidSettingError(f"{field}.caps", f"at most {MAX_WARMUP_WEEKS} weeks")
        values = tuple(cap_value(cap, f"{field}.caps[{week}]") for week, cap in enumerate(caps))
        return cls(started_on, values)

    def to_record(self) -> dict[str, object]:
        """Return the warm-up as JSON-native data, as an operator writes it."""
        return {"started_on": self.started_on.isoformat(), "caps": list(self.caps)}


@dataclass(frozen=True)
class DailyCap:
    """The most messages the number may send on a local day, and which rule sets it."""

    limit: int
    reason: PauseReason  # DAILY_CAP or WARMUP_CAP: the smaller one binds

    @property
    def name(self) -> str:
        """The cap in words."""
        return "warm-up cap" if self.reason is PauseReason.WARMUP_CAP else "daily cap"


def effective_cap(daily_cap: int | None, warmup: Warmup | None, day: date) -> DailyCap | None:
    """Return the smaller of the operator's cap and the warm-up's for `day`, or None (no cap)."""
    caps = []
    if warmup is not None:
        caps.append(DailyCap(warmup.cap_on(day), PauseReason.WARMUP_CAP))
    if daily_cap is not None:
        caps.append(DailyCap(daily_cap, PauseReason.DAILY_CAP))
    # On a tie the operator's own cap is named: it binds whatever the warm-up says.
    return min(caps, key=lambda c: (c.limit, c.reason is PauseReason.WARMUP_CAP), default=None)
