"""The route table: one entry per endpoint, read by make_app and by the OpenAPI generator."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel

from adapters.http_api import changes, docs, handlers, intake, schemas
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
        "WAHA's webhook: session.status and message.ack (X-Webhook-Hmac when a key is set)",
        200,
        {_JSON: schemas.WebhookOut},
        {_JSON: schemas.WebhookIn},
        problems=(400, 401, 413),
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


def add_routes(app: web.Application) -> None:
    """Register every endpoint on `app`, named so that auth can tell the public ones."""
    for endpoint in ENDPOINTS:
        app.router.add_route(endpoint.method, endpoint.path, endpoint.handler, name=endpoint.name)
    docs.add_assets(app)
