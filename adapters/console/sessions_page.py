"""The sessions pages: each WhatsApp number, WAHA's word on it, its guardrails today, its campaigns.

`session_card` is the one place that turns what is known of a number into what the pages
show: the application's `SessionView` (the same view `GET /sessions/{session}` answers), what
WAHA said when asked just now, and the campaigns on the number, all in the operator's words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import quote
from uuid import UUID
from zoneinfo import ZoneInfo

from adapters.console.formatting import count, relative
from adapters.console.records import ScheduledRecord
from app.campaign_facts import CampaignFacts
from app.ports import SessionStatusFact
from app.sessions import SessionView, WahaSaid
from domain.lifecycle import TERMINAL, CampaignStatus
from domain.number_settings import NumberSettings
from domain.session import is_sendable
from domain.window import DAY_NAMES, InvalidSettingError

_DAY_TITLES: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_RUN: Final = 3  # three days in a row or more are written as a span: Mon-Fri
SETTING_TITLES: Final = {
    "window": "window",
    "daily_cap": "daily cap",
    "warmup": "warm-up",
    "recontact_after_days": "recontact",
}


@dataclass(frozen=True)
class SessionCampaign:
    """A campaign that sends (or will send) through the session."""

    id: str
    name: str
    status: str

    @property
    def href(self) -> str:
        """The campaign's page."""
        return f"/ui/campaigns/{self.id}"


@dataclass(frozen=True)
class StatusAnswer:
    """What asking WAHA for a session's status gave: its fact, or why there is none."""

    fact: SessionStatusFact | None
    problem: str = ""

    @property
    def said(self) -> WahaSaid:
        """The answer as the application's session view takes it."""
        if self.fact is None:
            return WahaSaid(None, self.problem or "WAHA could not say")
        return WahaSaid(self.fact.status, self.fact.detail)


@dataclass(frozen=True)
class Today:
    """What the number sent on its local day, against its cap."""

    sent: int
    cap: int | None
    remaining: int | None
    headline: str  # "1,234 of 2,000 sent today" or "1,234 sent today"
    detail: str  # "766 left (warm-up cap, week 2)", "no daily cap", "cap reached: ..."
    since: str  # "since 00:00 Europe/Berlin (2026-05-01 22:00:00 UTC)"
    reached: bool


@dataclass(frozen=True)
class WindowState:
    """The number's sending window now: none, open (until when) or closed (until when)."""

    kind: str  # none, open or closed
    spec: str  # "Mon-Fri 09:00-18:00 Europe/Berlin"; "" without a window
    headline: str  # "Open now", "Closed", "No window"
    detail: str  # "closes in 3 h 20 min (Fri 18:00 Europe/Berlin)", "sends at any hour"
    at: datetime | None  # the next closing (open) or opening (closed)


@dataclass(frozen=True)
class SessionCard:
    """One number as the pages show it."""

    name: str
    status: str | None  # None: WAHA could not say (the reason is in `note`)
    note: str
    sendable: bool
    observed_at: datetime | None
    lane_owner: str | None
    lane_detail: str
    today: Today
    window: WindowState
    recontact: str
    changed: str  # who changed the settings last, when; "" if never
    active: list[SessionCampaign]
    finished: int

    @property
    def href(self) -> str:
        """The number's page: its details and its settings form."""
        return f"/ui/sessions/{quote(self.name)}/settings"

    @property
    def live_href(self) -> str:
        """Where the number's page asks for its live part."""
        return f"/ui/sessions/{quote(self.name)}/live"


def days_words(days: Iterable[str]) -> str:
    """Return days as people write them: "Mon-Fri", "Sat, Sun", "Mon-Wed, Fri", "every day"."""
    numbers = sorted({DAY_NAMES.index(d) for d in days if d in DAY_NAMES})
    if len(numbers) == len(DAY_NAMES):
        return "every day"
    runs: list[list[int]] = []
    for n in numbers:
        if runs and runs[-1][-1] == n - 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    parts: list[str] = []
    for run in runs:
        if len(run) >= _RUN:
            parts.append(f"{_DAY_TITLES[run[0]]}-{_DAY_TITLES[run[-1]]}")
        else:
            parts.extend(_DAY_TITLES[n] for n in run)
    return ", ".join(parts)


def window_words(window: Mapping[str, Any]) -> str:
    """Return a recorded window as people write it: "Mon-Fri 09:00-18:00 Europe/Berlin"."""
    days = days_words(str(d) for d in window.get("days") or ())
    return f"{days} {window.get('start')}-{window.get('end')} {window.get('timezone')}"


def local_words(moment: datetime, zone: str) -> str:
    """Return an instant on a zone's wall clock, named: "Fri 18:00 Europe/Berlin"."""
    return f"{moment.astimezone(ZoneInfo(zone)).strftime('%a %H:%M')} {zone}"


def setting_words(name: str, value: object) -> str:
    """Return one setting's value in words, for the list of changes."""
    if value is None:
        return "none"
    if name == "window" and isinstance(value, Mapping):
        return window_words(value)
    if name == "warmup" and isinstance(value, Mapping):
        caps = ", ".join(
            count(c) if isinstance(c, int) else str(c) for c in value.get("caps") or ()
        )
        return f"from {value.get('started_on')}: {caps}"
    if name == "recontact_after_days" and isinstance(value, int):
        return f"{count(value)} day{'' if value == 1 else 's'}"
    return count(value) if isinstance(value, int) else str(value)


def change_words(change: Mapping[str, Any]) -> list[str]:
    """Return what one recorded change did, a setting a line: "daily cap: 200 → 300"."""
    old, new = change.get("old") or {}, change.get("new") or {}
    return [
        f"{SETTING_TITLES.get(n, n)}: {setting_words(n, old.get(n))} → "
        f"{setting_words(n, new.get(n))}"
        for n in new
    ]


def _settings_of(view: SessionView) -> NumberSettings:
    try:
        return NumberSettings.from_record(view.settings)
    except InvalidSettingError:  # recorded by an older release with other rules: show it bare
        return NumberSettings()


def _today(view: SessionView, settings: NumberSettings, now: datetime) -> Today:
    zone = settings.window.timezone if settings.window is not None else "UTC"
    start = view.day_started_at.astimezone(ZoneInfo(zone)).strftime("%H:%M")
    since = f"since {start} {zone}"
    cap, sent = view.effective_cap, view.sent_today
    if cap is None:
        headline = f"{count(sent)} sent today"
        return Today(sent, None, None, headline, "no daily cap", since, reached=False)
    kind = "daily cap"
    if view.cap_kind == "warmup_cap" and settings.warmup is not None:
        kind = f"warm-up cap, week {settings.warmup.week_on(settings.local_day(now))}"
    remaining = view.remaining_today if view.remaining_today is not None else max(0, cap - sent)
    reached = remaining == 0
    if reached:
        opening = settings.next_day_opening(now)
        detail = f"cap reached ({kind}): sends again {relative(opening, now)}"
    else:
        detail = f"{count(remaining)} left ({kind})"
    headline = f"{count(sent)} of {count(cap)} sent today"
    return Today(sent, cap, remaining, headline, detail, since, reached)


def _window(view: SessionView, now: datetime) -> WindowState:
    window = view.settings.get("window")
    if not isinstance(window, Mapping) or view.window_open is None:
        return WindowState("none", "", "No window", "sends at any hour", None)
    spec = window_words(window)
    zone = str(window.get("timezone"))
    if view.window_open:
        closes = view.window_closes_at
        if closes is None:
            return WindowState("open", spec, "Open now", "it never closes", None)
        detail = f"closes {relative(closes, now)} ({local_words(closes, zone)})"
        return WindowState("open", spec, "Open now", detail, closes)
    opens = view.window_opens_at
    if opens is None:  # pragma: no cover - a closed window always has a next opening
        return WindowState("closed", spec, "Closed", "", None)
    detail = f"opens {relative(opens, now)} ({local_words(opens, zone)})"
    return WindowState("closed", spec, "Closed", detail, opens)


def _lane(view: SessionView, now: datetime) -> tuple[str | None, str]:
    lane = view.lane
    if lane is None:
        return None, "no process holds it: one takes it when a campaign runs"
    expires = lane.get("expires_at")
    if isinstance(expires, datetime):
        return str(lane.get("owner")), f"its lease ends {relative(expires, now)} unless renewed"
    return str(lane.get("owner")), "held while its process lives"


def _note(status: str | None, problem: str) -> str:
    if status is None:
        return f"WAHA could not say: {problem}" if problem else "WAHA could not say"
    if is_sendable(status):
        return "working: campaigns can send"
    return f"cannot send while {status}: campaigns on it pause"


def session_card(
    view: SessionView,
    answer: StatusAnswer,
    facts: Sequence[CampaignFacts],
    records: Mapping[UUID, ScheduledRecord],
    now: datetime,
) -> SessionCard:
    """Return what the pages show of one number."""
    mine = [f for f in facts if f.session == view.session]
    active = [
        SessionCampaign(str(f.id), _name(records, f), f.status.value)
        for f in mine
        if f.status not in TERMINAL
    ]
    active.sort(key=lambda c: (_ORDER.get(c.status, 9), c.name.casefold()))
    settings = _settings_of(view)
    recontact = settings.recontact_after_days
    owner, lane_detail = _lane(view, now)
    changed = ""
    if view.settings_changed_at is not None:
        changed = f"by {view.settings_changed_by}, {relative(view.settings_changed_at, now)}"
    status = answer.fact.status if answer.fact is not None else None
    return SessionCard(
        name=view.session,
        status=status,
        note=_note(status, answer.problem),
        sendable=status is not None and is_sendable(status),
        observed_at=answer.fact.observed_at if answer.fact is not None else None,
        lane_owner=owner,
        lane_detail=lane_detail,
        today=_today(view, settings, now),
        window=_window(view, now),
        recontact="any time" if recontact is None else f"not within {count(recontact)} days",
        changed=changed,
        active=active,
        finished=len(mine) - len(active),
    )


_ORDER = {
    CampaignStatus.RUNNING.value: 0,
    CampaignStatus.PAUSED.value: 1,
    CampaignStatus.SCHEDULED.value: 2,
}


def _name(records: Mapping[UUID, ScheduledRecord], facts: CampaignFacts) -> str:
    record = records.get(facts.id)
    return record.name if record is not None else str(facts.id)
