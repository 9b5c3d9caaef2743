"""A number's settings form: its fields as typed, and the changes they ask for, checked.

Each setting is checked on its own by the domain's own rules, so every bad field is named at
once, next to itself; the changes then go to `SessionSettingsBook.change`, the application
path `PUT /sessions/{session}/settings` takes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from functools import cache
from typing import Any, Final
from zoneinfo import available_timezones

from domain.caps import MAX_DAILY_CAP, Warmup, cap_value
from domain.number_settings import MAX_RECONTACT_DAYS
from domain.window import DAY_NAMES, InvalidSettingError, SendWindow, clock_time, time_zone

DAY_LABELS: Final = tuple(
    zip(DAY_NAMES, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True)
)
_SECONDS: Final = re.compile(r"^(\d{2}:\d{2}):\d{2}(?:\.\d+)?$")
_CAP_SEPARATORS: Final = re.compile(r"[\s,;]+")
_MAX_TEXT: Final = 200


@cache
def time_zones() -> tuple[str, ...]:
    """Every IANA time zone this machine knows, sorted: the time-zone field's suggestions."""
    return tuple(sorted(z for z in available_timezones() if "/" in z or z == "UTC"))


def _clock(text: str) -> str:
    # A browser's time field may send seconds ("09:00:00"); the setting is to the minute.
    found = _SECONDS.match(text)
    return found.group(1) if found else text


# The form's fields of each setting.
_SETTING_FIELDS: Final = {
    "window": ("window_on", "days", "start", "end", "timezone"),
    "daily_cap": ("daily_cap",),
    "warmup": ("warmup_started_on", "warmup_caps"),
    "recontact_after_days": ("recontact_after_days",),
}


@dataclass(frozen=True)
class SettingsForm:
    """The settings form as typed: kept as text, so a page with errors shows what was typed."""

    window_on: bool = False
    days: tuple[str, ...] = ()
    start: str = ""
    end: str = ""
    timezone: str = "UTC"
    daily_cap: str = ""
    warmup_started_on: str = ""
    warmup_caps: str = ""
    recontact_after_days: str = ""

    @classmethod
    def of(cls, settings: Mapping[str, Any]) -> SettingsForm:
        """Return the form filled in with the settings as recorded (`NumberSettings.to_record`)."""
        window = settings.get("window")
        warmup = settings.get("warmup")
        form = cls(
            daily_cap=_text_of(settings.get("daily_cap")),
            recontact_after_days=_text_of(settings.get("recontact_after_days")),
        )
        if isinstance(window, Mapping):
            form = replace(
                form,
                window_on=True,
                days=tuple(str(d) for d in window.get("days") or ()),
                start=str(window.get("start", "")),
                end=str(window.get("end", "")),
                timezone=str(window.get("timezone", "UTC")),
            )
        if isinstance(warmup, Mapping):
            form = replace(
                form,
                warmup_started_on=str(warmup.get("started_on", "")),
                warmup_caps=", ".join(str(c) for c in warmup.get("caps") or ()),
            )
        return form

    @classmethod
    def from_post(cls, post: Mapping[str, object], days: tuple[str, ...]) -> SettingsForm:
        """Return the form from a submitted form's fields; `days` are the ticked day boxes."""

        def text(name: str, default: str = "") -> str:
            value = post.get(name, default)
            return value.strip()[:_MAX_TEXT] if isinstance(value, str) else default

        return cls(
            window_on=post.get("window_on") == "on",
            days=tuple(d for d in DAY_NAMES if d in days),
            start=_clock(text("start")),
            end=_clock(text("end")),
            timezone=text("timezone", "UTC"),
            daily_cap=text("daily_cap"),
            warmup_started_on=text("warmup_started_on"),
            warmup_caps=text("warmup_caps"),
            recontact_after_days=text("recontact_after_days"),
        )

    def edited_since(self, shown: SettingsForm) -> set[str]:
        """Return the settings this form changes from the form as it was `shown`.

        Only these are saved: a setting left as shown keeps what someone else may have
        recorded meanwhile (a cap lowered from the CLI stays lowered).
        """
        return {
            setting
            for setting, fields in _SETTING_FIELDS.items()
            if any(getattr(self, f) != getattr(shown, f) for f in fields)
        }

    def hidden_fields(self) -> dict[str, str]:
        """Return the form's values as hidden `shown_*` fields, to tell later what was edited."""
        return {
            f"shown_{name}": ",".join(value) if isinstance(value, tuple) else str(value)
            for name, value in asdict(self).items()
            if name != "window_on"
        } | {"shown_window_on": "on" if self.window_on else ""}

    @classmethod
    def shown_in(cls, post: Mapping[str, object]) -> SettingsForm | None:
        """Return the form as it was shown, from its hidden fields (None on an older page)."""
        if "shown_timezone" not in post:
            return None
        fields = {k.removeprefix("shown_"): v for k, v in post.items() if k.startswith("shown_")}
        days = fields.get("days", "")
        ticked = tuple(days.split(",")) if isinstance(days, str) and days else ()
        return cls.from_post(fields, ticked)

    def changes(self) -> tuple[dict[str, object], dict[str, str]]:
        """Return every setting as the form asks (None: cleared) and each bad field's problem.

        The field names of the problems are the form's (`start`, `warmup_caps`, ...).
        """
        errors: dict[str, str] = {}
        changes: dict[str, object] = {
            "window": self._window(errors),
            "daily_cap": self._cap(errors),
            "warmup": self._warmup(errors),
            "recontact_after_days": self._recontact(errors),
        }
        return changes, errors

    def _window(self, errors: dict[str, str]) -> dict[str, object] | None:
        if not self.window_on:
            return None
        if not self.days:
            errors["days"] = "tick at least one day the number may send on"
        for name, value in (("start", self.start), ("end", self.end)):
            try:
                clock_time(value, name)
            except InvalidSettingError as error:
                errors[name] = _said(error, "a time of day, e.g. 09:00")
        try:
            time_zone(self.timezone)
        except InvalidSettingError as error:
            errors["timezone"] = error.reason
        record: dict[str, object] = {
            "days": list(self.days),
            "start": self.start,
            "end": self.end,
            "timezone": self.timezone,
        }
        if not errors.keys() & {"days", "start", "end", "timezone"}:
            try:
                SendWindow.parse(record)
            except InvalidSettingError as error:
                errors[_FIELDS.get(error.field, "days")] = error.reason
        return record

    def _cap(self, errors: dict[str, str]) -> int | None:
        if not self.daily_cap:
            return None
        try:
            return cap_value(_whole(self.daily_cap), "daily_cap")
        except (InvalidSettingError, ValueError) as error:
            errors["daily_cap"] = _said(
                error, f"a whole number of messages from 0 to {MAX_DAILY_CAP:,} (empty: no cap)"
            )
            return None

    def _warmup(self, errors: dict[str, str]) -> dict[str, object] | None:
        if not self.warmup_started_on and not self.warmup_caps:
            return None
        if not self.warmup_started_on:
            errors["warmup_started_on"] = "the day the number began sending, e.g. 2026-05-01"
        caps: list[int] = []
        try:
            caps = [_whole(c) for c in _CAP_SEPARATORS.split(self.warmup_caps) if c]
        except ValueError:
            errors["warmup_caps"] = "whole numbers of messages, week by week, e.g. 20, 50, 100"
        if not caps and "warmup_caps" not in errors:
            errors["warmup_caps"] = "the caps of week 1, 2, ..., e.g. 20, 50, 100, 200"
        record: dict[str, object] = {"started_on": self.warmup_started_on, "caps": caps}
        if not errors.keys() & {"warmup_started_on", "warmup_caps"}:
            try:
                Warmup.parse(record)
            except InvalidSettingError as error:
                name = "warmup_started_on" if "started_on" in error.field else "warmup_caps"
                week = re.search(r"\[(\d+)\]", error.field)
                where = f"week {int(week.group(1)) + 1}: " if week else ""
                errors[name] = where + error.reason
        return record

    def _recontact(self, errors: dict[str, str]) -> int | None:
        if not self.recontact_after_days:
            return None
        try:
            days = _whole(self.recontact_after_days)
        except ValueError:
            days = 0
        if not 1 <= days <= MAX_RECONTACT_DAYS:
            errors["recontact_after_days"] = (
                f"a whole number of days from 1 to {MAX_RECONTACT_DAYS:,} (empty: any time)"
            )
            return None
        return days


# The API's names of a window's fields, as the form names them.
_FIELDS: Final = {
    "window.start": "start",
    "window.end": "end",
    "window.timezone": "timezone",
    "daily_cap": "daily_cap",
    "warmup.started_on": "warmup_started_on",
    "warmup.caps": "warmup_caps",
    "recontact_after_days": "recontact_after_days",
}


def form_field(api_field: str) -> str:
    """Return the form's field for a setting's field as the application names it."""
    if api_field.startswith("window.days"):
        return "days"
    if api_field.startswith("warmup.caps"):
        return "warmup_caps"
    return _FIELDS.get(api_field, "form")


def _whole(text: str) -> int:
    cleaned = text.replace(",", "").replace("_", "").strip()
    if not cleaned.isdigit():
        raise ValueError(text)
    return int(cleaned)


def _said(error: Exception, fallback: str) -> str:
    return error.reason if isinstance(error, InvalidSettingError) else fallback


def _text_of(value: object) -> str:
    return "" if value is None else str(value)
