"""Scheduling a campaign: what an operator asks for, and every check before anything is recorded."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from app.audience import AudienceReport, ContactInput, DuplicateRow, normalise_audience
from app.errors import AudienceRejectedError, InvalidCampaignError, MissingVariablesError
from app.views import CampaignView
from domain.contacts import contacts_missing_fields
from domain.content import ImageReference, MessageTemplate, is_variable_name
from domain.errors import DomainError
from domain.pacing import CampaignOptions, Pacing, pacing_problem

# WAHA session names: letters, digits, dash and underscore (its dashboard refuses others).
_SESSION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_NAME_LENGTH = 200
# A schedule this far in the past is more likely a timezone slip than an intent.
PAST_SCHEDULE_TOLERANCE = timedelta(minutes=5)
MAX_VARIANTS = 50
_VARIABLE_NAME_RULE = "a variable name is a letter, then letters, digits or '_' (at most 64)"


@dataclass(frozen=True)
class ScheduleCampaign:
    """What an operator asks for when scheduling a campaign."""

    name: str
    text: str
    contacts: Sequence[ContactInput]
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
    """The new campaign, and the duplicate rows that were dropped from its audience.

    `replayed`: the campaign an earlier request with the same key and body made (nothing new
    was recorded, and `duplicates` is empty).
    """

    view: CampaignView
    duplicates: list[DuplicateRow]
    replayed: bool = False


def validated_audience(
    request: ScheduleCampaign, template: MessageTemplate, default_region: str | None
) -> AudienceReport:
    """Return the request's audience report, or raise naming every problem; records nothing."""
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
        {"field": f"message.defaults.{name[:64]}", "reason": _VARIABLE_NAME_RULE}
        for name in request.defaults
        if not is_variable_name(name)
    )
    problems.extend(
        {"field": f"contacts[{row}].variables.{name[:64]}", "reason": _VARIABLE_NAME_RULE}
        for row, contact in enumerate(request.contacts)
        for name in contact.variables
        if not is_variable_name(name)
    )
    if problems:
        raise InvalidCampaignError("the campaign is not valid", problems)
    report = normalise_audience(request.contacts, default_region)
    if report.invalid:
        raise AudienceRejectedError(report)
    if not report.contacts:
        raise InvalidCampaignError(
            "the campaign has no contacts",
            [{"field": "contacts", "reason": "at least one contact is needed"}],
        )
    missing = contacts_missing_fields(template, report.contacts)
    if missing:
        available = {name for contact in report.contacts for name in contact.template_values()}
        raise MissingVariablesError(
            [replace(m, position=report.rows[m.position]) for m in missing], available=available
        )
    return report


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
