"""A WhatsApp number's guardrails (its session's settings), and their changes on the record.

The settings live on an aggregate of their own per session, not on the session's `Lane`:
only the lane's holder writes the lane, while operators change settings from anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate, event

from domain.caps import DailyCap, Warmup, cap_value, effective_cap
from domain.window import (
    InvalidSettingError,
    SendWindow,
    local_day_start,
    next_local_day_start,
)

_SETTINGS_NAMESPACE: Final = UUID("8f3b6c2a-1d4e-4a7b-9c0d-2e5f6a7b8c9d")
MAX_RECONTACT_DAYS: Final = 3650
SETTING_NAMES: Final = ("window", "daily_cap", "warmup", "recontact_after_days")
UTC_ZONE: Final = ZoneInfo("UTC")


def settings_id(session: str) -> UUID:
    """Return the id of the settings of WAHA session `session`."""
    return uuid5(_SETTINGS_NAMESPACE, session)


@dataclass(frozen=True)
class NumberSettings:
    """The guardrails of one WhatsApp number; every one of them is optional."""

    window: SendWindow | None = None
    daily_cap: int | None = None
    warmup: Warmup | None = None
    recontact_after_days: int | None = None

    @property
    def zone(self) -> ZoneInfo:
        """The time zone of the number's days: its window's, else UTC."""
        return self.window.zone if self.window is not None else UTC_ZONE

    def local_day(self, now: datetime) -> date:
        """Return the number's local date at `now`."""
        return now.astimezone(self.zone).date()

    def day_start(self, now: datetime) -> datetime:
        """Return the instant the number's local day of `now` began."""
        return local_day_start(now, self.zone)

    def cap_on(self, now: datetime) -> DailyCap | None:
        """Return the cap for the local day of `now`: the smaller of daily_cap and the warm-up."""
        return effective_cap(self.daily_cap, self.warmup, self.local_day(now))

    def next_day_opening(self, now: datetime) -> datetime:
        """Return when sending may begin on the local day after `now`'s (its window's opening)."""
        tomorrow = next_local_day_start(now, self.zone)
        return tomorrow if self.window is None else self.window.next_opening(tomorrow)

    # -- changes ---------------------------------------------------------------------------------

    def changed(self, changes: Mapping[str, object]) -> NumberSettings:
        """Return the settings with `changes` (a name to a value; None clears it).

        Raises InvalidSettingError naming the first bad field; nothing is changed then.
        """
        unknown = sorted(set(changes) - set(SETTING_NAMES))
        if unknown:
            raise InvalidSettingError(unknown[0], f"not a setting ({', '.join(SETTING_NAMES)})")
        window, daily_cap = self.window, self.daily_cap
        warmup, recontact = self.warmup, self.recontact_after_days
        for name, value in changes.items():
            if name == "window":
                window = None if value is None else _window(value)
            elif name == "warmup":
                warmup = None if value is None else _warmup(value)
            elif name == "daily_cap":
                daily_cap = None if value is None else cap_value(value, name)
            else:
                recontact = None if value is None else _days(value, name)
        return NumberSettings(window, daily_cap, warmup, recontact)

    def to_record(self) -> dict[str, Any]:
        """Return the settings as JSON-native data, every name present (None when unset)."""
        return {
            "window": None if self.window is None else self.window.to_record(),
            "daily_cap": self.daily_cap,
            "warmup": None if self.warmup is None else self.warmup.to_record(),
            "recontact_after_days": self.recontact_after_days,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> NumberSettings:
        """Rebuild the settings from the data `to_record` made (names it lacks are unset)."""
        return cls().changed({k: v for k, v in record.items() if k in SETTING_NAMES})


def _window(value: object) -> SendWindow:
    if not isinstance(value, Mapping):
        raise InvalidSettingError("window", "an object: {days, start, end, timezone}")
    return SendWindow.parse(value)


def _warmup(value: object) -> Warmup:
    if not isinstance(value, Mapping):
        raise InvalidSettingError("warmup", "an object: {started_on, caps}")
    return Warmup.parse(value)


def _days(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidSettingError(name, "a whole number of days, 1 or more")
    if not 1 <= value <= MAX_RECONTACT_DAYS:
        raise InvalidSettingError(name, f"from 1 to {MAX_RECONTACT_DAYS} days (got {value})")
    return value


class SessionSettings(Aggregate):
    """The settings of one WAHA session (one WhatsApp number), with who changed what, when."""

    TOPIC = "waha_campaigns:SessionSettings"
    class_version = 1

    class Event(Aggregate.Event):
        """Base of the settings' events."""

        TOPIC = "waha_campaigns:SessionSettings.Event"

    class Created(Event, Aggregate.Created):
        """Base of the settings' creation event."""

        TOPIC = "waha_campaigns:SessionSettings.Created"

    class SettingsOpened(Created):
        """The session got settings of its own (the first time an operator set one)."""

        TOPIC = "waha_campaigns:SessionSettings.SettingsOpened"
        class_version = 1
        session: str
        at: datetime

    class SettingsChanged(Event):
        """`by` changed these settings from `old` to `new` (only the names changed)."""

        TOPIC = "waha_campaigns:SessionSettings.SettingsChanged"
        class_version = 1
        by: str
        old: dict[str, Any]
        new: dict[str, Any]
        at: datetime

    @staticmethod
    def create_id(session: str, at: datetime) -> UUID:  # noqa: ARG004 - the library passes both
        """Return the settings' id, derived from the session's name."""
        return settings_id(session)

    @event(SettingsOpened)
    def __init__(self, *, session: str, at: datetime) -> None:
        self.session = session
        self.opened_at = at
        self.record: dict[str, Any] = NumberSettings().to_record()
        self.changed_at: datetime | None = None
        self.changed_by: str | None = None

    @property
    def settings(self) -> NumberSettings:
        """The settings as they are now."""
        return NumberSettings.from_record(self.record)

    def change(self, *, changes: Mapping[str, object], by: str, at: datetime) -> NumberSettings:
        """Apply `changes` (None clears a setting); record them unless nothing changes.

        Raises InvalidSettingError naming the first bad field, before anything is recorded.
        """
        updated = self.settings.changed(changes).to_record()
        old = {k: self.record.get(k) for k in updated if updated[k] != self.record.get(k)}
        if old:
            new = {k: updated[k] for k in old}
            self._changed(by=by, old=old, new=new, at=at)
        return self.settings

    @event(SettingsChanged)
    def _changed(self, by: str, old: dict[str, Any], new: dict[str, Any], at: datetime) -> None:
        self.record = {**self.record, **new}
        self.changed_at = at
        self.changed_by = by
