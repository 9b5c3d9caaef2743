"""The new-campaign form as the operator filled it in, and its simple fields read.

Kept as typed (strings, not numbers), so that a page with errors shows what was typed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

from adapters.console.drafts import Draft
from adapters.http_api.schemas import MAX_SCHEDULE_AHEAD
from app.errors import InvalidCampaignError
from app.scheduling import validated_schedule
from domain.errors import DomainError
from domain.pacing import Pacing

OFFSETS: Final = tuple(
    f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    for minutes in range(-12 * 60, 14 * 60 + 1, 30)
)
ENCODINGS: Final = (
    ("", "UTF-8 (or as the file declares)"),
    ("cp1252", "Windows (cp1252)"),
    ("latin-1", "Latin-1"),
)


@dataclass(frozen=True)
class CampaignForm:
    """The form as the operator filled it in: kept as typed, so a page with errors keeps it."""

    name: str = ""
    session: str = "default"
    text: str = ""
    phone_column: str = ""
    encoding: str = ""
    pacing_min: str = "30"
    pacing_max: str = "60"
    start_at: str = ""
    utc_offset: str = "+00:00"
    auto_resume: bool = True
    check_numbers: bool = False
    simulate_typing: bool = False

    @classmethod
    def from_post(cls, post: Mapping[str, object]) -> CampaignForm:
        """Return the form from a submitted form's fields (files are read elsewhere)."""

        def text(name: str, default: str = "") -> str:
            value = post.get(name, default)
            return value if isinstance(value, str) else default

        return cls(
            name=text("name"),
            session=text("session", "default").strip(),
            text=text("text").replace("\r\n", "\n"),
            phone_column=text("phone_column").strip(),
            encoding=text("encoding").strip(),
            pacing_min=text("pacing_min", "30").strip(),
            pacing_max=text("pacing_max", "60").strip(),
            start_at=text("start_at").strip(),
            utc_offset=text("utc_offset", "+00:00").strip(),
            auto_resume=post.get("auto_resume") == "on",
            check_numbers=post.get("check_numbers") == "on",
            simulate_typing=post.get("simulate_typing") == "on",
        )

    def digest(self, draft: Draft | None) -> str:
        """Return what identifies this form with these files: a preview is valid for it only."""
        parts = [repr(self)]
        if draft is not None:
            parts += [u.sha256 if u else "" for u in (draft.contacts, draft.image)]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def pacing_of(form: CampaignForm, errors: dict[str, str]) -> Pacing:
    """Return the form's pacing; a problem goes to `errors["pacing"]` (and the default back)."""
    try:
        low, high = float(form.pacing_min), float(form.pacing_max)
    except ValueError:
        errors["pacing"] = "give the wait as numbers of seconds, e.g. 30 and 60"
        return Pacing()
    try:
        return Pacing(low, high)
    except DomainError as error:
        errors["pacing"] = str(error)
        return Pacing()


def schedule_of(form: CampaignForm, now: datetime, errors: dict[str, str]) -> datetime | None:
    """Return when the campaign is due (None: now); a problem goes to `errors["start_at"]`."""
    if not form.start_at:
        return None
    if form.utc_offset not in OFFSETS:
        errors["start_at"] = "choose a UTC offset from the list"
        return None
    try:
        local = datetime.fromisoformat(form.start_at)
    except ValueError:
        errors["start_at"] = "give a date and time, e.g. 2026-05-01T09:00"
        return None
    sign = -1 if form.utc_offset.startswith("-") else 1
    hours, minutes = (int(part) for part in form.utc_offset[1:].split(":"))
    zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
    when = local.replace(tzinfo=zone)
    try:
        due = validated_schedule(when, now)
    except InvalidCampaignError as error:
        errors["start_at"] = _reason(error.problems, str(error))
        return None
    if due - now > MAX_SCHEDULE_AHEAD:
        errors["start_at"] = f"at most {MAX_SCHEDULE_AHEAD.days} days ahead"
        return None
    return due


def _reason(problems: Sequence[Mapping[str, object]], fallback: str) -> str:
    return str(problems[0].get("reason", fallback)) if problems else fallback


def due_words(when: datetime | None, now: datetime) -> str:
    """Return when the campaign would start, for the preview."""
    if when is None or when <= now:
        return "as soon as it is created"
    return when.astimezone(UTC).strftime("at %Y-%m-%d %H:%M UTC")
