"""Handlers that take things in: campaigns to schedule (JSON, or a form with a file) and images."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

from aiohttp import web

from adapters.contacts_file import ContactsFile, ContactsFileError, read_contacts_file
from adapters.http_api.context import ApiContext
from adapters.http_api.errors import invalid_input
from adapters.http_api.keys import CONTEXT, RUNTIME
from adapters.http_api.schemas import MAX_SCHEDULE_AHEAD, CampaignFields, CampaignIn
from adapters.http_api.uploads import read_form, read_json, validate_json
from adapters.logging_setup import campaign_context
from app.audience import ContactInput, DuplicateRow
from app.blocking import off_loop
from app.scheduling import ScheduleCampaign
from app.views import CampaignView
from domain.content import ImageReference
from domain.errors import DomainError
from domain.pacing import CampaignOptions, Pacing, pacing_warnings
from domain.window import InvalidSettingError

_MAX_ID_ECHO = 64


def _schedule_command(
    services: ApiContext, fields: CampaignFields, contacts: Sequence[ContactInput]
) -> ScheduleCampaign:
    """Return the command for the request; reads the media store, so run it off the loop."""
    problems: list[dict[str, object]] = []
    scheduled_for = fields.scheduled_for
    # Naive times are the application's to refuse; an aware one is compared without converting
    # it, which would overflow near year 9999.
    if (
        scheduled_for is not None
        and scheduled_for.utcoffset() is not None
        and scheduled_for - services.clock.now() > MAX_SCHEDULE_AHEAD
    ):
        problems.append(
            {
                "field": "scheduled_for",
                "value": scheduled_for.isoformat(),
                "reason": f"must be at most {MAX_SCHEDULE_AHEAD.days} days ahead",
            }
        )
    pacing = Pacing()
    try:
        pacing = Pacing(fields.pacing.min_seconds, fields.pacing.max_seconds)
    except DomainError as error:
        problems.append({"field": "pacing", "reason": str(error)})
    options = CampaignOptions()
    try:
        options = CampaignOptions(**fields.options.model_dump())
    except InvalidSettingError as error:  # the campaign's window: named to its field
        problems.append({"field": error.field, "reason": error.reason})
    except DomainError as error:
        problems.append({"field": "options", "reason": str(error)})
    image = None
    media_id = fields.message.media_id
    if media_id is not None:
        try:
            stored = services.media.describe(media_id)
        except KeyError:
            problems.append(
                {
                    "field": "message.media_id",
                    "value": media_id[:_MAX_ID_ECHO],
                    "reason": "no such image; upload it with POST /media first",
                }
            )
        else:
            image = ImageReference(stored.id, stored.sha256, stored.mimetype, stored.size)
    if problems:
        raise invalid_input("the campaign is not valid", problems)
    return ScheduleCampaign(
        name=fields.name,
        text=fields.message.text,
        contacts=contacts,
        session=fields.session,
        defaults=fields.message.defaults,
        image=image,
        scheduled_for=fields.scheduled_for,
        pacing=pacing,
        options=options,
        variants=fields.message.variants,
    )


def _read_contacts(data: bytes, fields: CampaignFields) -> ContactsFile:
    try:
        return read_contacts_file(data, phone_column=fields.phone_column, encoding=fields.encoding)
    except ContactsFileError as error:
        raise invalid_input(
            "the contacts file cannot be read", [{"field": error.field, "reason": str(error)}]
        ) from None


async def _campaign_from_form(
    request: web.Request, limit: int
) -> tuple[CampaignFields, ContactsFile]:
    form = await read_form(request, {"campaign", "contacts"}, limit)
    missing = [
        {"field": f, "reason": "required"} for f in ("campaign", "contacts") if f not in form
    ]
    if missing:
        raise invalid_input("the form lacks a field", missing)
    fields = await validate_json(CampaignFields, form["campaign"])
    contacts = await off_loop(_read_contacts, form["contacts"], fields)
    return fields, contacts


def _created_json(
    view: CampaignView, duplicates: Sequence[DuplicateRow], warnings: Sequence[str]
) -> bytes:
    # A list of 100,000 rows with thousands of duplicates: built and encoded off the loop.
    duplicated = [asdict(d) for d in duplicates]
    return json.dumps(view.as_dict() | {"duplicates": duplicated, "warnings": warnings}).encode()


async def campaign_request(request: web.Request) -> tuple[ScheduleCampaign, list[str]]:
    """Return the command a create (or preview) request asks for, and its contacts' warnings."""
    services = request.app[CONTEXT]
    fields: CampaignFields
    warnings: list[str] = []
    if request.content_type == "multipart/form-data":
        limit = services.settings.campaigns_max_upload_bytes
        fields, contacts_file = await _campaign_from_form(request, limit)
        contacts, warnings = contacts_file.contacts, contacts_file.warnings
    else:
        body = await read_json(request, CampaignIn)
        fields = body
        contacts = [ContactInput(c.phone, c.name, c.variables) for c in body.contacts]
    command = await off_loop(_schedule_command, services, fields, contacts)
    return command, list(warnings)


async def create_campaign(request: web.Request) -> web.Response:
    """POST /campaigns: schedule a campaign (JSON, or a form with a contacts file); start if due."""
    runtime = request.app[RUNTIME]
    services = request.app[CONTEXT]
    command, warnings = await campaign_request(request)
    # Accepted, but said plainly: pacing below WAHA's advice (or none at all).
    warnings += pacing_warnings(command.pacing)
    scheduled = await off_loop(services.campaigns.schedule_campaign, command)
    campaign_id = scheduled.view.id
    with campaign_context(campaign_id):
        view = await runtime.supervisor.run_now(campaign_id)
    body_out = await off_loop(_created_json, view, scheduled.duplicates, warnings)
    return web.Response(
        body=body_out,
        status=201,
        content_type="application/json",
        headers={"Location": f"/campaigns/{view.id}"},
    )


async def upload_media(request: web.Request) -> web.Response:
    """POST /media: store an image (checked by its bytes) under the id of its content."""
    services = request.app[CONTEXT]
    limit = services.settings.campaigns_max_upload_bytes
    form = await read_form(request, {"file"}, limit)
    if "file" not in form:
        raise invalid_input("the form lacks a field", [{"field": "file", "reason": "required"}])
    stored = await off_loop(services.media.save, form["file"])
    return web.json_response(asdict(stored), status=201)
