"""Scheduling a campaign: what an operator asks for, and every check before anything is recorded."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.audience import AudienceReport, ContactInput, DuplicateRow
from app.errors import MAX_ROWS_ANSWERED, InvalidCampaignError
from app.ports import ContactSpool
from app.screening import VARIABLE_NAME_RULE, AudienceScreen, MemoryContactSpool, ScreenedAudience
from app.views import CampaignView
from domain.content import ImageReference, MessageTemplate, is_variable_name
from domain.errors import DomainError
from domain.pacing import CampaignOptions, Pacing, pacing_problem

# WAHA session names: letters, digits, dash and underscore (its dashboard refuses others).
_SESSION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_NAME_LENGTH = 200
# A schedule this far in the past is more likely a timezone slip than an intent.
PAST_SCHEDULE_TOLERANCE = timedelta(minutes=5)
MAX_VARIANTS = 50


@dataclass(frozen=True)
class ScheduleCampaign:
    """What an operator asks for when scheduling a campaign."""

    name: str
    text: str
    # Read once per check, in order: a list, or rows read again from a file each time.
    contacts: Iterable[ContactInput]
    session: str = "default"
    defaults: Mapping[str, str] = field(default_factory=dict)
    image: ImageReference | None = None
    scheduled_for: datetime | None = None
    pacing: Pacing = field(default_factory=Pacing)
    options: CampaignOptions = field(default_factory=CampaignOptions)
    # Other texts: each contact gets one of `text` and these (domain/variation.py).
    variants: Sequence[str] = ()


@dataclass(frozen=True)
class ScheduledCampaign:
    """The new campaign, and the duplicate rows that were dropped from its audience (the first).

    `replayed`: the campaign an earlier request with the same key and body made (nothing new
    was recorded, and `duplicates` is empty).
    """

    view: CampaignView
    duplicates: list[DuplicateRow]
    replayed: bool = False
    # Every duplicate row: `duplicates` lists the first MAX_ROWS_ANSWERED of them.
    duplicates_total: int = 0


def validated_audience(
    request: ScheduleCampaign, template: MessageTemplate, default_region: str | None
) -> AudienceReport:
    """Return the request's audience report, or raise naming every problem; records nothing.

    Held in memory, every row of each kind listed: for audiences bounded by an upload.
    """
    spool = MemoryContactSpool()
    screened = screened_audience(request, template, default_region, spool, listed=None)
    return AudienceReport(spool.contacts, screened.duplicates, [], spool.rows)


def screened_audience(
    request: ScheduleCampaign,
    template: MessageTemplate,
    default_region: str | None,
    spool: ContactSpool,
    *,
    listed: int | None = MAX_ROWS_ANSWERED,
) -> ScreenedAudience:
    """Screen the request's rows in one pass, keeping its contacts in `spool`; records nothing.

    Raises naming every problem (the first `listed` rows of a kind, and how many more):
    InvalidCampaignError, or its kinds for unusable phones and missing template values.
    """
    problems: list[dict[str, object]] = []
    if not request.name.strip():
        problems.append({"field": "name", "reason": "must not be empty"})
    elif len(request.name) > MAX_NAME_LENGTH:
        problems.append({"field": "name", "reason": f"at most {MAX_NAME_LENGTH} characters"})
    if not _SESSION_NAME.match(request.session):
        problems.append(
            {"field": "session", "reason": "letters, digits, '-' and '_' only (1 to 64)"}
        )
    if not request.text.strip():
        problems.append({"field": "message.text", "reason": "must not be empty"})
    problems.extend(_text_problems(request))
    pacing = pacing_problem(request.pacing)
    if pacing is not None:
        problems.append({"field": "pacing", "reason": pacing})
    problems.extend(
        {"field": f"message.defaults.{name[:64]}", "reason": VARIABLE_NAME_RULE}
        for name in request.defaults
        if not is_variable_name(name)
    )
    screen = AudienceScreen(template, default_region, spool, listed=listed, phones=not problems)
    for position, row in enumerate(request.contacts):
        screen.add(position, row)
    return screen.outcome(problems)


def _text_problems(request: ScheduleCampaign) -> list[dict[str, object]]:
    """Each text that cannot be rendered (the text, then its variants), named by its field."""
    problems: list[dict[str, object]] = []
    if len(request.variants) > MAX_VARIANTS:
        problems.append({"field": "message.variants", "reason": f"at most {MAX_VARIANTS} variants"})
        return problems
    named = [("message.text", request.text)]
    named += [(f"message.variants[{i}]", text) for i, text in enumerate(request.variants)]
    for name, text in named:
        if name != "message.text" and not text.strip():
            problems.append({"field": name, "reason": "must not be empty"})
            continue
        try:
            MessageTemplate(text).fields()
        except DomainError as error:
            problems.append({"field": name, "reason": str(error)})
    return problems


def validated_schedule(scheduled_for: datetime | None, now: datetime) -> datetime:
    """Return when the campaign is due, in the clock's timezone, or raise."""
    if scheduled_for is None:
        return now
    if scheduled_for.tzinfo is None or scheduled_for.utcoffset() is None:
        raise InvalidCampaignError(
            "scheduled_for needs a timezone",
            [{"field": "scheduled_for", "reason": "give a UTC offset, e.g. ...Z or +02:00"}],
        )
    if scheduled_for < now - PAST_SCHEDULE_TOLERANCE:
        raise InvalidCampaignError(
            "scheduled_for is in the past",
            [{"field": "scheduled_for", "reason": "must not be in the past"}],
        )
    return scheduled_for.astimezone(now.tzinfo)
