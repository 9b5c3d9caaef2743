"""Handlers that take things in: campaigns to schedule (JSON, or a form with a file) and media."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Final

from aiohttp import web

from adapters.contacts_file import ContactRows, ContactsFileError, open_contacts_file
from adapters.http_api.context import ApiContext
from adapters.http_api.errors import invalid_input
from adapters.http_api.keys import CONTEXT, RUNTIME
from adapters.http_api.schemas import (
    MAX_SCHEDULE_AHEAD,
    SESSION_NAME_PATTERN,
    CampaignFields,
    CampaignIn,
)
from adapters.http_api.uploads import (
    SpooledForm,
    read_form,
    read_json,
    spooled_form,
    validate_json,
)
from adapters.logging_setup import campaign_context
from adapters.media import UnsupportedMediaError
from app.audience import ContactInput, DuplicateRow
from app.blocking import off_loop
from app.errors import InvalidCampaignError
from app.idempotency import HashedBytes, RequestKey, digest, key_problem
from app.ports import MediaKind
from app.scheduling import ScheduleCampaign
from app.session_check import SessionCheck, check_session
from app.views import CampaignView
from domain.content import ImageReference
from domain.errors import DomainError
from domain.pacing import CampaignOptions, Pacing, pacing_warnings
from domain.window import InvalidSettingError

IDEMPOTENCY_KEY: Final = "Idempotency-Key"
# Said on the answer to a repeat: the campaign is the one the first request made.
REPLAYED: Final = "Idempotent-Replayed"
SESSION_NAME: Final = re.compile(SESSION_NAME_PATTERN)
# A voice campaign is taken (its text stays on the record) and the operator is told this.
VOICE_WARNING: Final = (
    "message.media_id is a voice note, which WhatsApp sends without a caption: the text is "
    "kept on the campaign but not sent to contacts"
)
_MAX_ID_ECHO = 64


@dataclass(frozen=True)
class _Command:
    """The scheduling command, and what the operator should know about it."""

    schedule: ScheduleCampaign
    warnings: list[str]


def media_reference(
    services: ApiContext, media_id: str, field: str = "message.media_id"
) -> tuple[ImageReference | None, list[dict[str, object]], list[str]]:
    """Return the stored media `media_id` names, with its problems and warnings.

    Blocking (it reads the media folder). A voice note carries no caption in WAHA: the text
    is kept on the campaign but not sent, and a warning says so.
    """
    try:
        stored = services.media.describe(media_id)
    except (KeyError, UnsupportedMediaError):
        problem: dict[str, object] = {
            "field": field,
            "value": media_id[:_MAX_ID_ECHO],
            "reason": "no such media; upload it with POST /media first",
        }
        return None, [problem], []
    warnings = []
    if stored.kind == MediaKind.VOICE.value:
        warnings.append(VOICE_WARNING)
    reference = ImageReference(stored.id, stored.sha256, stored.mimetype, stored.size, stored.kind)
    return reference, [], warnings


def _schedule_command(
    services: ApiContext,
    fields: CampaignFields,
    contacts: Iterable[ContactInput],
    session: SessionCheck | None,
) -> _Command:
    """Return the command for the request; reads the media store, so run it off the loop.

    An unknown session is refused with every other problem of the request, the
    application's own checks included, so that one answer names them all.
    """
    problems: list[dict[str, object]] = []
    warnings: list[str] = []
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
    if fields.message.media_id is not None:
        image, media_problems, media_warnings = media_reference(services, fields.message.media_id)
        problems += media_problems
        warnings += media_warnings
    command = ScheduleCampaign(
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
    if session is not None and session.problem is not None:
        problems.insert(0, session.problem)
        problems += _application_problems(command, services)
    if problems:
        raise invalid_input("the campaign is not valid", problems)
    if session is not None and session.warning is not None:
        warnings.append(session.warning)
    return _Command(command, warnings)


def _application_problems(
    command: ScheduleCampaign, services: ApiContext
) -> list[dict[str, object]]:
    # What scheduling itself would refuse, gathered without recording anything.
    try:
        services.campaigns.check_campaign(command)
    except InvalidCampaignError as error:
        return list(error.problems) or [{"field": "body", "reason": str(error)}]
    return []


def _open_contacts(path: Path, fields: CampaignFields) -> ContactRows:
    try:
        return open_contacts_file(path, phone_column=fields.phone_column, encoding=fields.encoding)
    except ContactsFileError as error:
        raise invalid_input(
            "the contacts file cannot be read", [{"field": error.field, "reason": str(error)}]
        ) from None


async def _campaign_from_form(form: SpooledForm) -> tuple[CampaignFields, ContactRows]:
    missing = [
        {"field": f, "reason": "required"}
        for f in ("campaign", "contacts")
        if f not in form.fields and f not in form.files
    ]
    if missing:
        raise invalid_input("the form lacks a field", missing)
    fields = await validate_json(CampaignFields, form.fields["campaign"])
    # One pass over the file checks it; its rows are read again, a few at a time, when used.
    contacts = await off_loop(_open_contacts, form.files["contacts"].path, fields)
    return fields, contacts


def _created_json(
    view: CampaignView,
    duplicates: Sequence[DuplicateRow],
    warnings: Sequence[str],
    duplicates_total: int = 0,
) -> bytes:
    # Up to MAX_ROWS_ANSWERED duplicates and a large view: built and encoded off the loop.
    extra = {
        "duplicates": [asdict(d) for d in duplicates],
        "duplicates_total": duplicates_total,
        "warnings": warnings,
    }
    return json.dumps(view.as_dict() | extra).encode()


def request_key(request: web.Request, *parts: object) -> RequestKey | None:
    """Return the request's Idempotency-Key with the sha256 of `parts`, or None without one."""
    key = request.headers.get(IDEMPOTENCY_KEY)
    if key is None:
        return None
    problem = key_problem(key)
    if problem is not None:
        raise invalid_input(
            f"the {IDEMPOTENCY_KEY} header is not valid",
            [{"field": IDEMPOTENCY_KEY, "value": key[:_MAX_ID_ECHO], "reason": problem}],
        )
    return RequestKey(key, digest(*parts))


def _created(view: CampaignView, body: bytes, *, replayed: bool) -> web.Response:
    headers = {"Location": f"/campaigns/{view.id}"}
    if replayed:
        headers[REPLAYED] = "true"
    return web.Response(
        body=body,
        status=200 if replayed else 201,
        content_type="application/json",
        headers=headers,
    )


@dataclass(frozen=True)
class _Asked:
    """A create (or preview) request as read: its fields, contacts and their warnings, key."""

    fields: CampaignFields
    # A list from a JSON body; from a form, the file's rows, read from its spool on each use.
    contacts: Iterable[ContactInput]
    warnings: list[str]
    key: RequestKey | None


@contextlib.asynccontextmanager
async def _read_request(request: web.Request) -> AsyncIterator[_Asked]:
    """Yield the request as read; a form's contacts file is spooled to disk until leaving."""
    services = request.app[CONTEXT]
    if request.content_type == "multipart/form-data":
        limit = services.settings.campaigns_max_upload_bytes
        async with spooled_form(request, {"campaign"}, {"contacts"}, limit) as form:
            fields, contacts = await _campaign_from_form(form)
            file_hash = HashedBytes(form.files["contacts"].sha256)
            key = request_key(request, fields.model_dump(mode="json"), file_hash)
            yield _Asked(fields, contacts, list(contacts.warnings), key)
        return
    body = await read_json(request, CampaignIn)
    listed = [ContactInput(c.phone, c.name, c.variables) for c in body.contacts]
    yield _Asked(body, listed, [], request_key(request, body.model_dump(mode="json")))


async def _command(request: web.Request, asked: _Asked) -> _Command:
    # WAHA is asked whether the session exists before anything is recorded.
    session = None
    if SESSION_NAME.fullmatch(asked.fields.session):
        session = await check_session(request.app[RUNTIME].gateway, asked.fields.session)
    services = request.app[CONTEXT]
    return await off_loop(_schedule_command, services, asked.fields, asked.contacts, session)


@contextlib.asynccontextmanager
async def campaign_request(
    request: web.Request,
) -> AsyncIterator[tuple[ScheduleCampaign, list[str]]]:
    """Yield the command a preview request asks for, with what the operator should know.

    A contacts file stays spooled (its rows read on use) until leaving.
    """
    async with _read_request(request) as asked:
        command = await _command(request, asked)
        yield command.schedule, asked.warnings + command.warnings


async def create_campaign(request: web.Request) -> web.Response:
    """POST /campaigns: schedule a campaign (JSON, or a form with a contacts file); start if due.

    With an Idempotency-Key, a repeat of the request answers the campaign it made (200,
    Idempotent-Replayed: true) and the key with another request is a 409; WAHA is asked
    whether the session exists (422 if not) before anything is recorded.
    """
    async with _read_request(request) as asked:
        return await _create(request, asked)


async def _create(request: web.Request, asked: _Asked) -> web.Response:
    runtime = request.app[RUNTIME]
    services = request.app[CONTEXT]
    key = asked.key
    if key is not None:
        found = await off_loop(services.campaigns.keyed_campaign, key)
        if found is not None:
            return _created(found, await off_loop(_created_json, found, [], []), replayed=True)
    command = await _command(request, asked)
    warnings = asked.warnings
    # Accepted, but said plainly: pacing below WAHA's advice (or none at all).
    warnings += pacing_warnings(command.schedule.pacing)
    scheduled = await off_loop(
        partial(services.campaigns.schedule_campaign, request_key=key), command.schedule
    )
    if scheduled.replayed:
        body_out = await off_loop(_created_json, scheduled.view, [], [])
        return _created(scheduled.view, body_out, replayed=True)
    campaign_id = scheduled.view.id
    with campaign_context(campaign_id):
        view = await runtime.supervisor.run_now(campaign_id)
    warnings += command.warnings
    body_out = await off_loop(
        _created_json, view, scheduled.duplicates, warnings, scheduled.duplicates_total
    )
    return _created(view, body_out, replayed=False)


async def upload_media(request: web.Request) -> web.Response:
    """POST /media: store a media file (its kind read from its bytes) under its content's id."""
    services = request.app[CONTEXT]
    limit = services.settings.campaigns_max_upload_bytes
    filenames: dict[str, str] = {}
    form = await read_form(request, {"file"}, limit, filenames)
    if "file" not in form:
        raise invalid_input("the form lacks a field", [{"field": "file", "reason": "required"}])
    stored = await off_loop(services.media.save, form["file"], filenames.get("file"))
    return web.json_response(asdict(stored), status=201)
