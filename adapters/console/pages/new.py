"""The new-campaign form: fill in, preview (nothing is created), then create."""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from adapters.console import commands
from adapters.console.campaign_form import ENCODINGS, OFFSETS, CampaignForm, due_words
from adapters.console.drafts import Draft, Upload
from adapters.console.formatting import count
from adapters.console.new_campaign import Checked, check
from adapters.console.pages.common import context_of, runtime_of, session_of, state_of
from adapters.console.rendering import page
from app.blocking import off_loop
from app.errors import InvalidCampaignError
from domain.content import ImageReference

_MAX_FILENAME = 120


def _upload(part: object, name: str) -> Upload | None:
    if not isinstance(part, web.FileField):
        return None
    data = part.file.read()
    if not data:
        return None  # the browser sends an empty part when no file was chosen
    return Upload((part.filename or name)[:_MAX_FILENAME], data)


def _known_sessions(request: web.Request) -> list[str]:
    return sorted({r.session for r in state_of(request).records.scheduled()} | {"default"})


def _form_page(
    request: web.Request,
    checked: Checked,
    draft: Draft | None,
    *,
    status: int = 200,
) -> web.Response:
    form = checked.form
    now = context_of(request).clock.now()
    preview = checked.preview
    values = {
        "form": form,
        "errors": checked.errors,
        "preview": preview,
        "columns": checked.columns,
        "creatable": checked.command is not None,
        "draft": draft,
        "digest": form.digest(draft),
        "sessions": _known_sessions(request),
        "offsets": OFFSETS,
        "encodings": ENCODINGS,
        "due": due_words(preview.scheduled_for if preview else None, now),
    }
    return page(request, "new_campaign.html", values, status=status)


async def new_campaign_page(request: web.Request) -> web.StreamResponse:
    """GET /ui/campaigns/new: the empty form."""
    return _form_page(request, Checked(CampaignForm()), None)


async def new_campaign(request: web.Request) -> web.StreamResponse:
    """POST /ui/campaigns/new: preview the form, or create the campaign previewed."""
    posted = await request.post()
    session = session_of(request)
    state = state_of(request)
    context = context_of(request)
    form = CampaignForm.from_post(posted)
    draft_id = posted.get("draft")
    previous = state.drafts.get(draft_id, session.id) if isinstance(draft_id, str) else None
    contacts = _upload(posted.get("contacts"), "contacts")
    image = _upload(posted.get("image"), "image")
    draft = previous
    if contacts is not None or image is not None:
        draft = state.drafts.keep(session.id, previous=previous, contacts=contacts, image=image)
    if draft is not None and posted.get("drop_image") == "on" and draft.image is not None:
        draft = state.drafts.keep(session.id, previous=None, contacts=draft.contacts, image=None)
    checked = await off_loop(
        check,
        form,
        draft,
        now=context.clock.now(),
        default_region=context.settings.campaigns_default_region,
    )
    wants_create = posted.get("action") == "create"
    previewed = posted.get("previewed") == form.digest(draft)
    if not wants_create or checked.command is None or draft is None:
        status = 422 if checked.errors else 200
        return _form_page(request, checked, draft, status=status)
    if not previewed:
        session.notify(
            "The form or its files changed since the preview: check this preview, then create.",
            "error",
        )
        return _form_page(request, checked, draft)
    return await _create(request, checked, draft)


async def _create(request: web.Request, checked: Checked, draft: Draft) -> web.StreamResponse:
    context = context_of(request)
    session = session_of(request)
    command = checked.command
    assert command is not None  # noqa: S101 - checked by the caller
    if draft.image is not None:
        stored = await off_loop(context.media.save, draft.image.data)
        image = ImageReference(stored.id, stored.sha256, stored.mimetype, stored.size)
        command = replace(command, image=image)
    try:
        outcome = await commands.schedule(context, runtime_of(request), command)
    except InvalidCampaignError as error:
        errors = dict(checked.errors)
        errors.setdefault("form", str(error))
        return _form_page(
            request, Checked(checked.form, errors, checked.preview), draft, status=422
        )
    state_of(request).drafts.drop(draft)
    preview = checked.preview
    left_out = preview.rejected if preview is not None else 0
    words = f"Campaign “{outcome.view.name}” created with {count(outcome.view.total)} contacts"
    if left_out:
        words += f"; {count(left_out)} row(s) with unusable phone numbers were left out"
    session.notify(words + ".", "success")
    raise web.HTTPSeeOther(f"/ui/campaigns/{outcome.view.id}")
