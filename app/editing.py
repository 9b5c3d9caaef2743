"""Editing a campaign before it starts, as one CampaignEdited event, never an overwrite.

Each change is checked as scheduling checks it; the event records what changed, old and new.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Final
from uuid import UUID

from app.campaigns import CampaignsApp
from app.errors import (
    MAX_ROWS_ANSWERED,
    MAX_ROWS_LISTED,
    InvalidCampaignError,
)
from app.scheduling import MAX_NAME_LENGTH, validated_schedule
from app.screening import LackingRows
from app.views import CampaignView
from domain.campaign import Campaign
from domain.content import ImageReference, MessageContent, MessageTemplate, is_variable_name
from domain.errors import DomainError
from domain.lifecycle import next_status
from domain.pacing import CampaignOptions, Pacing
from domain.window import InvalidSettingError


class Keep(Enum):
    """A field not given: distinct from None (scheduled_for None is now; image None, none)."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP
_VARIABLE_NAME_RULE = "a variable name is a letter, then letters, digits or '_' (at most 64)"


@dataclass(frozen=True)
class EditCampaign:
    """What an operator changes; every field left as KEEP stays as it is.

    `pacing` and `options` are partial: the names given replace the current values.
    """

    name: str | Keep = KEEP
    text: str | Keep = KEEP
    defaults: Mapping[str, str] | Keep = KEEP
    image: ImageReference | Keep | None = KEEP
    scheduled_for: datetime | Keep | None = KEEP
    pacing: Mapping[str, float] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EditedCampaign:
    """The campaign after the edit, and the fields that changed (none: nothing recorded)."""

    view: CampaignView
    changed: list[str]


def edit_campaign(campaigns: CampaignsApp, campaign_id: UUID, edit: EditCampaign) -> EditedCampaign:
    """Apply the edit to a Scheduled campaign, or raise before recording anything.

    IllegalTransitionError (409) when the campaign is no longer Scheduled, InvalidCampaignError
    (422) naming every bad field, ConcurrentUpdateError when someone changed it meanwhile.
    """
    campaign = campaigns.load(campaign_id)
    next_status(campaign.state, "edit")  # the state first: no point judging fields
    problems: list[dict[str, object]] = []
    fields: dict[str, Any] = {}
    if not isinstance(edit.name, Keep):
        fields["name"] = _name(edit.name, problems)
    message = _message(campaigns, campaign, edit, problems)
    if message is not None:
        fields["message"] = message
    if not isinstance(edit.scheduled_for, Keep):
        fields["scheduled_for"] = _schedule(campaigns, edit.scheduled_for, problems)
    if edit.pacing:
        fields["pacing"] = _pacing(campaign.pacing, edit.pacing, problems)
    if edit.options:
        fields["options"] = _options(campaign.options, edit.options, problems)
    if problems:
        raise InvalidCampaignError("the edit is not valid; nothing was changed", problems)
    changed = campaign.edit(at=campaigns.clock.now(), **fields)
    if changed:
        campaigns.save_campaign(campaign)
    return EditedCampaign(campaigns.campaign(campaign_id), changed)


def _name(name: str, problems: list[dict[str, object]]) -> str:
    if not name.strip():
        problems.append({"field": "name", "reason": "must not be empty"})
    elif len(name) > MAX_NAME_LENGTH:
        problems.append({"field": "name", "reason": f"at most {MAX_NAME_LENGTH} characters"})
    return name.strip()


def _message(
    campaigns: CampaignsApp,
    campaign: Campaign,
    edit: EditCampaign,
    problems: list[dict[str, object]],
) -> dict[str, object] | None:
    if isinstance(edit.text, Keep) and isinstance(edit.defaults, Keep) and edit.image is KEEP:
        return None
    current = MessageContent.from_record(campaign.message)
    text = current.template.text if isinstance(edit.text, Keep) else edit.text
    given = edit.defaults
    defaults = dict(current.template.defaults) if isinstance(given, Keep) else dict(given)
    image = current.image if isinstance(edit.image, Keep) else edit.image
    template = MessageTemplate(text, defaults)
    if not text.strip():
        problems.append({"field": "message.text", "reason": "must not be empty"})
        return None
    bad_names = [name for name in defaults if not is_variable_name(name)]
    problems.extend(
        {"field": f"message.defaults.{name[:64]}", "reason": _VARIABLE_NAME_RULE}
        for name in bad_names
    )
    try:
        template.fields()
    except DomainError as error:
        problems.append({"field": "message.text", "reason": str(error)})
        return None
    if bad_names:
        return None
    # A contact at a time, the first rows of each kind kept and the rest counted, as a
    # creation checks them: a million contacts are never held at once.
    lacking = LackingRows(max(MAX_ROWS_ANSWERED, MAX_ROWS_LISTED))
    for position, contact in enumerate(campaigns.audience_contacts(campaign.audience_id)):
        lacking.check(template, position, contact)
    refusal = lacking.refusal()
    if refusal is not None:
        problems.extend(refusal.problems)
        return None
    return MessageContent(template, image).to_record()


def _schedule(
    campaigns: CampaignsApp, scheduled_for: datetime | None, problems: list[dict[str, object]]
) -> datetime | None:
    try:
        return validated_schedule(scheduled_for, campaigns.clock.now())
    except InvalidCampaignError as error:
        problems.extend(error.problems)
        return None


def _pacing(
    current: Mapping[str, float],
    given: Mapping[str, float],
    problems: list[dict[str, object]],
) -> dict[str, float]:
    merged = {**current, **given}
    try:
        return Pacing(float(merged["min_seconds"]), float(merged["max_seconds"])).to_record()
    except DomainError as error:
        problems.append({"field": "pacing", "reason": str(error)})
        return dict(current)


def _options(
    current: Mapping[str, Any], given: Mapping[str, Any], problems: list[dict[str, object]]
) -> dict[str, Any]:
    known = CampaignOptions.__dataclass_fields__
    merged = {k: v for k, v in {**current, **given}.items() if k in known}
    try:
        return CampaignOptions(**merged).to_record()
    except InvalidSettingError as error:  # the campaign's window: named to its field
        problems.append({"field": error.field, "reason": error.reason})
        return dict(current)
    except (DomainError, TypeError) as error:
        problems.append({"field": "options", "reason": str(error)})
        return dict(current)
