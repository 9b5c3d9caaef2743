"""Shapes of the guardrails' endpoints: sessions and their settings, opt-outs, previews."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from adapters.http_api.schemas import MAX_PAGE, MAX_POSITION
from domain.caps import MAX_DAILY_CAP, MAX_WARMUP_WEEKS
from domain.number_settings import MAX_RECONTACT_DAYS
from domain.opt_out import MAX_NOTE_LENGTH

MAX_PREVIEW: Final = 100
_CLOCK: Final = r"^\d{2}:\d{2}$"


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WindowIn(_Input):
    """When the number (or a campaign) may send, on the local clock of `timezone`."""

    days: list[StrictStr] = Field(
        min_length=1,
        max_length=7,
        description="Day names: mon, tue, wed, thu, fri, sat, sun (or in full, any case).",
    )
    start: str = Field(description="HH:MM, 00:00 to 23:59.", json_schema_extra={"pattern": _CLOCK})
    end: str = Field(
        description="HH:MM; at or before start, the window spans midnight into the next day.",
        json_schema_extra={"pattern": _CLOCK},
    )
    timezone: str = Field(description="An IANA time zone, e.g. Europe/Berlin.", max_length=64)


class WarmupIn(_Input):
    """A new number's caps by week of its life, declared by the operator."""

    started_on: str = Field(
        description="YYYY-MM-DD: the day the number began sending.",
        json_schema_extra={"pattern": r"^\d{4}-\d{2}-\d{2}$"},
    )
    caps: list[StrictInt] = Field(
        min_length=1,
        max_length=MAX_WARMUP_WEEKS,
        description="The cap for week 1, 2, ...; the last one holds after.",
    )


class SettingsIn(_Input):
    """Any of the number's settings; a field given as null clears it, one left out is kept."""

    window: WindowIn | None = Field(default=None, description="Sends go only inside it.")
    daily_cap: StrictInt | None = Field(
        default=None,
        ge=0,
        le=MAX_DAILY_CAP,
        description=(
            "The most messages the number sends per local day (the window's time zone, else "
            "UTC), counted across all campaigns."
        ),
    )
    warmup: WarmupIn | None = Field(
        default=None, description="The effective cap is the smaller of this and daily_cap."
    )
    recontact_after_days: StrictInt | None = Field(
        default=None,
        ge=1,
        le=MAX_RECONTACT_DAYS,
        description="Skip a number this session messaged, in any campaign, within N days.",
    )


class SettingsOut(BaseModel):
    """The number's settings (null: unset), and who last changed them when."""

    window: dict[str, Any] | None
    daily_cap: int | None
    warmup: dict[str, Any] | None
    recontact_after_days: int | None
    changed_at: datetime | None
    changed_by: str | None


class LaneOut(BaseModel):
    """Who sends for the number now."""

    owner: str
    epoch: int
    expires_at: datetime | None = Field(description="null: held while its process lives.")


class SessionOut(BaseModel):
    """One WhatsApp number: WAHA's status, its lane, its guardrails today, its campaigns."""

    session: str
    waha_status: str | None = Field(description="null: WAHA could not be asked (waha_detail).")
    waha_detail: str
    lane: LaneOut | None
    settings: dict[str, Any]
    settings_changed_at: datetime | None
    settings_changed_by: str | None
    day_started_at: datetime = Field(description="When the number's local day began.")
    sent_today: int
    effective_cap: int | None = Field(description="The smaller of daily_cap and the warm-up's.")
    cap_kind: Literal["daily_cap", "warmup_cap"] | None
    remaining_today: int | None
    window_open: bool | None = Field(description="null: no window.")
    window_opens_at: datetime | None
    window_closes_at: datetime | None
    running: list[str]
    paused: list[str]


class SessionPage(BaseModel):
    """Every known session: with campaigns, settings or a lane."""

    items: list[SessionOut]
    next_cursor: int | None = Field(description="Always null: every session is on one page.")


class OptOutsIn(_Input):
    """Phones to put on the opt-out list (all or none): nobody on it gets any message."""

    phones: list[StrictStr] = Field(min_length=1, max_length=10_000)
    note: str = Field(default="", max_length=MAX_NOTE_LENGTH)
    source: Literal["api", "import"] = Field(
        default="api", description="import: from a file (the CLI's `opt-out import`)."
    )


class OptOutsAddedOut(BaseModel):
    """What adding did: phones new on the list, and those on it already (kept as they were)."""

    added: int
    already: int
    phones: list[str] = Field(description="The phones given, in E.164, repeats once.")


class OptOutRemovedOut(BaseModel):
    """A phone taken off the list."""

    phone: str
    removed: Literal[True]


class OptOutOut(BaseModel):
    """One phone on the list."""

    phone: str
    source: str = Field(description="api, import, or inbound:<keyword> (a reply).")
    at: datetime
    note: str


class OptOutPage(BaseModel):
    """One page of the list, in the order phones got on it."""

    items: list[OptOutOut]
    next_cursor: int | None = Field(description="Pass as cursor for the next page; null at end.")


class OptOutsQuery(BaseModel):
    """Page of the opt-out list."""

    limit: int = Field(default=100, ge=1, le=MAX_PAGE)
    cursor: int = Field(default=0, ge=0, le=MAX_POSITION)


class PreviewQuery(BaseModel):
    """How many rendered messages a preview shows."""

    limit: int = Field(default=5, ge=1, le=MAX_PREVIEW)


class PreviewMessageOut(BaseModel):
    """A contact's message as it would be rendered (one of its possible variants)."""

    index: int
    phone: str
    name: str | None
    text: str


class RejectOut(BaseModel):
    """A contact the campaign would not message: a repeated row, or one the gates skip now."""

    position: int = Field(description="The row in the request (contacts[i]).")
    phone: str
    reason: Literal["duplicate", "opted_out", "recently_contacted"]
    detail: str


class PreviewOut(BaseModel):
    """What POST /campaigns would do, recording nothing."""

    total: int = Field(description="Contacts the campaign would have.")
    messages: list[PreviewMessageOut]
    rejects: list[RejectOut] = Field(description="At most 1,000; rejects_total counts them all.")
    rejects_total: int
    warnings: list[str]
    eta: datetime | None = Field(description="When it should finish if created now.")
