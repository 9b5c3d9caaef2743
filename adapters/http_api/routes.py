"""The route table: one entry per endpoint, read by make_app and by the OpenAPI generator."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel

from adapters.http_api import (
    changes,
    docs,
    guardrail_handlers,
    guardrail_schemas,
    handlers,
    intake,
    schemas,
)
from adapters.http_api.webhooks import receive_waha_webhook

# A body is a pydantic model, or a JSON schema for what no model describes (CSV, Prometheus).
Body = type[BaseModel] | Mapping[str, Any]
_JSON = "application/json"
_TEXT = {"type": "string"}


@dataclass(frozen=True)
class Endpoint:
    """One route, with what /openapi.json says about it."""

    method: str
    path: str
    handler: Handler
    name: str
    summary: str
    status: int
    responses: Mapping[str, Body]
    requests: Mapping[str, Body] = field(default_factory=dict)
    query: type[BaseModel] | None = None
    problems: tuple[int, ...] = ()
    public: bool = False
    # Other success statuses, answered with the same body.
    also: tuple[int, ...] = ()
    # Request headers it reads, as OpenAPI parameter objects (without "in").
    headers: tuple[Mapping[str, Any], ...] = ()
    # Whether a body must be sent (a 201 always needs one; others say so here).
    body_required: bool = False


IDEMPOTENCY_HEADER: Final[Mapping[str, Any]] = {
    "name": "Idempotency-Key",
    "required": False,
    "description": (
        "Any text of 1 to 255 printable ASCII characters (e.g. a UUID) naming this request. "
        "The same key with the same body answers the campaign the first request made (200, "
        "Idempotent-Replayed: true), across restarts and processes; the same key with another "
        "body is a 409 (idempotency-conflict) naming that campaign."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]*\\S[ -~]*$"},
}


_ID = (404,)
ENDPOINTS: Final = (
    Endpoint(
        "POST",
        "/campaigns",
        intake.create_campaign,
        "create_campaign",
        "Schedule a campaign; it starts at once when due now (200: the campaign an earlier "
        "request with this Idempotency-Key made)",
        201,
        {_JSON: schemas.CampaignCreatedOut},
        {_JSON: schemas.CampaignIn, "multipart/form-data": schemas.CampaignUpload},
        problems=(400, 409, 413, 415, 422),
        also=(200,),
        headers=(IDEMPOTENCY_HEADER,),
    ),
    Endpoint(
        "POST",
        "/campaigns/preview",
        guardrail_handlers.preview_campaign,
        "preview_campaign",
        "What POST /campaigns would do with this body: the first rendered messages, the "
        "rejects, the warnings and the ETA, recording nothing",
        200,
        {_JSON: guardrail_schemas.PreviewOut},
        {_JSON: schemas.CampaignIn, "multipart/form-data": schemas.CampaignUpload},
        query=guardrail_schemas.PreviewQuery,
        problems=(400, 413, 415, 422),
        body_required=True,
    ),
    Endpoint(
        "GET",
        "/campaigns",
        handlers.list_campaigns,
        "list_campaigns",
        "List campaigns, oldest first",
        200,
        {_JSON: schemas.CampaignPage},
        query=schemas.CampaignsQuery,
        problems=(422,),
    ),
    Endpoint(
        "GET",
        "/campaigns/{campaign_id}",
        handlers.show_campaign,
        "show_campaign",
        "A campaign's view",
        200,
        {_JSON: schemas.CampaignOut},
        problems=_ID,
    ),
    Endpoint(
        "POST",
        "/campaigns/{campaign_id}/pause",
        handlers.pause_campaign,
        "pause_campaign",
        "Pause a running campaign (202: it pauses at its next contact boundary)",
        200,
        {_JSON: schemas.CampaignOut},
        problems=(*_ID, 409),
        also=(202,),
    ),
    Endpoint(
        "POST",
        "/campaigns/{campaign_id}/resume",
        handlers.resume_campaign,
        "resume_campaign",
        "Resume a paused campaign at the contact it paused on",
        200,
        {_JSON: schemas.CampaignOut},
        problems=(*_ID, 409),
    ),
    Endpoint(
        "POST",
        "/campaigns/{campaign_id}/cancel",
        handlers.cancel_campaign,
        "cancel_campaign",
        "End a campaign for good",
        200,
        {_JSON: schemas.CampaignOut},
        {_JSON: schemas.CancelIn},
        problems=(*_ID, 409, 415, 422),
    ),
    Endpoint(
        "GET",
        "/campaigns/{campaign_id}/events",
        handlers.campaign_events,
        "campaign_events",
        "A campaign's events in version order",
        200,
        {_JSON: schemas.HistoryPage},
        query=schemas.HistoryQuery,
        problems=(*_ID, 422),
    ),
    Endpoint(
        "GET",
        "/campaigns/{campaign_id}/contacts",
        handlers.campaign_contacts,
        "campaign_contacts",
        "Each contact's outcome and delivery state, a page at a time (all as CSV with "
        "Accept: text/csv)",
        200,
        {_JSON: schemas.ContactReportPage, "text/csv": _TEXT},
        query=schemas.ContactsQuery,
        problems=(*_ID, 422),
    ),
    Endpoint(
        "GET",
        "/events",
        handlers.stored_events,
        "stored_events",
        "Every event of the store in commit order",
        200,
        {_JSON: schemas.StoredEventsPage},
        query=schemas.StoredEventsQuery,
        problems=(422,),
    ),
    Endpoint(
        "GET",
        "/sessions",
        guardrail_handlers.list_sessions,
        "list_sessions",
        "Every WhatsApp number (session) with campaigns, settings or a lane: WAHA's status, "
        "the lane's holder, the guardrails today, its campaigns",
        200,
        {_JSON: guardrail_schemas.SessionPage},
    ),
    Endpoint(
        "GET",
        "/sessions/{session}",
        guardrail_handlers.show_session,
        "show_session",
        "One WhatsApp number: WAHA's status, the lane's holder, its settings, sent today, the "
        "effective cap, the window's next opening or closing, its campaigns",
        200,
        {_JSON: guardrail_schemas.SessionOut},
        problems=(404,),
    ),
    Endpoint(
        "PUT",
        "/sessions/{session}/settings",
        guardrail_handlers.change_settings,
        "change_session_settings",
        "Change any of the number's settings (window, daily_cap, warmup, "
        "recontact_after_days); null clears one; X-Operator names who (recorded)",
        200,
        {_JSON: guardrail_schemas.SessionOut},
        {_JSON: guardrail_schemas.SettingsIn},
        problems=(400, 404, 409, 413, 415, 422),
        body_required=True,
    ),
    Endpoint(
        "POST",
        "/opt-outs",
        guardrail_handlers.add_opt_outs,
        "add_opt_outs",
        "Put phones on the opt-out list: no number of this service messages them again",
        200,
        {_JSON: guardrail_schemas.OptOutsAddedOut},
        {_JSON: guardrail_schemas.OptOutsIn},
        problems=(400, 409, 413, 415, 422),
        body_required=True,
    ),
    Endpoint(
        "GET",
        "/opt-outs",
        guardrail_handlers.list_opt_outs,
        "list_opt_outs",
        "The opt-out list, in the order phones got on it",
        200,
        {_JSON: guardrail_schemas.OptOutPage},
        query=guardrail_schemas.OptOutsQuery,
        problems=(422,),
    ),
    Endpoint(
        "DELETE",
        "/opt-outs/{phone}",
        guardrail_handlers.remove_opt_out,
        "remove_opt_out",
        "Take a phone off the opt-out list (404 if it is not on it)",
        200,
        {_JSON: guardrail_schemas.OptOutRemovedOut},
        problems=(404, 409),
    ),
    Endpoint(
        "POST",
        "/media",
        intake.upload_media,
        "upload_media",
        "Store a media file for campaigns (image, document, video or voice note); its id is "
        "its sha256",
        201,
        {_JSON: schemas.MediaOut},
        {"multipart/form-data": schemas.MediaUpload},
        problems=(400, 413, 415, 422),
    ),
    Endpoint(
        "POST",
        "/webhooks/waha",
        receive_waha_webhook,
        "waha_webhook",
        "WAHA's webhook: session.status, message.ack, and message (an opt-out keyword puts "
        "its sender on the opt-out list); X-Webhook-Hmac when a key is set",
        200,
        {_JSON: schemas.WebhookOut},
        {_JSON: schemas.WebhookIn},
        problems=(400, 401, 413, 502),
        public=True,
    ),
    Endpoint(
        "GET",
        "/healthz",
        handlers.healthz,
        "healthz",
        "The service answers",
        200,
        {_JSON: schemas.HealthOut},
        public=True,
    ),
    Endpoint(
        "GET",
        "/metrics",
        handlers.metrics,
        "metrics",
        "Prometheus metrics",
        200,
        {"text/plain": _TEXT},
    ),
    Endpoint(
        "PATCH",
        "/campaigns/{campaign_id}",
        changes.edit_campaign_handler,
        "edit_campaign",
        "Change a Scheduled campaign: name, message, pacing, scheduled_for, options (recorded "
        "as CampaignEdited, old and new)",
        200,
        {_JSON: schemas.CampaignEditedOut},
        {_JSON: schemas.CampaignPatch},
        problems=(*_ID, 409, 415, 422),
    ),
    Endpoint(
        "POST",
        "/campaigns/{campaign_id}/retry",
        changes.retry_campaign_handler,
        "retry_campaign",
        "Send the message again to a Paused, Completed or Cancelled campaign's failed (and, if "
        "asked, in-doubt) contacts: a new campaign, starting now (200: made already)",
        201,
        {_JSON: schemas.CampaignOut},
        {_JSON: schemas.RetryIn},
        problems=(*_ID, 409, 415, 422),
        also=(200,),
    ),
    Endpoint(
        "GET",
        "/openapi.json",
        handlers.openapi,
        "openapi",
        "This document (it holds no secret: no token needed)",
        200,
        {_JSON: {"type": "object"}},
        public=True,
    ),
    Endpoint(
        "GET",
        "/docs",
        docs.docs_page,
        "docs",
        "This document, rendered (Swagger UI, served by this service)",
        200,
        {"text/html": _TEXT},
        public=True,
    ),
)
# The reference page's files (docs.add_assets) are public too; they are not operations.
PUBLIC_ROUTES: Final = frozenset({e.name for e in ENDPOINTS if e.public} | {docs.ASSETS_ROUTE})


# `preview` names an operation of its own (POST /campaigns/preview), never a campaign: the
# router must not take it for an id, or it would offer GET on it.
_ROUTER_PATTERNS: Final = {"{campaign_id}": "{campaign_id:(?!preview$)[^{}/]+}"}


def router_path(path: str) -> str:
    """Return the path as the router matches it (OpenAPI shows `path` itself)."""
    for parameter, pattern in _ROUTER_PATTERNS.items():
        path = path.replace(parameter, pattern)
    return path


def add_routes(app: web.Application) -> None:
    """Register every endpoint on `app`, named so that auth can tell the public ones."""
    for endpoint in ENDPOINTS:
        app.router.add_route(
            endpoint.method, router_path(endpoint.path), endpoint.handler, name=endpoint.name
        )
    docs.add_assets(app)
