"""Every status a route is shown answering here is one /openapi.json declares for it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import ClientResponse

from adapters.http_api.openapi import problem_statuses
from adapters.http_api.routes import ENDPOINTS
from tests.adapters.http_api.conftest import (
    MAX_UPLOAD,
    PNG,
    Client,
    campaign_body,
    create,
    signed,
)
from tests.adapters.http_api.test_uploads import image_form
from tests.adapters.http_api.test_webhooks import session_status
from tests.fakes.system import ManualClock

UNKNOWN = "00000000-0000-4000-8000-000000000000"
JSON = {"Content-Type": "application/json"}
TOO_LARGE = b" " * (MAX_UPLOAD + 1)
NO_BOUNDARY = {"Content-Type": "multipart/form-data"}
KEYED = {"Idempotency-Key": "documented-statuses-1"}
BAD_KEY = {"Idempotency-Key": " "}
SETTINGS = "/sessions/default/settings"


Request = Callable[[Client, str], Awaitable[ClientResponse]]


@dataclass(frozen=True)
class Shown:
    """A request to `route` that answers `status`; {id} in its path names a scheduled campaign."""

    route: str
    status: int
    request: Request


def post(path: str, **request: Any) -> Request:
    return lambda client, campaign_id: client.post(path.format(id=campaign_id), **request)


def get(path: str, **request: Any) -> Request:
    return lambda client, campaign_id: client.get(path.format(id=campaign_id), **request)


def patch(path: str, **request: Any) -> Request:
    return lambda client, campaign_id: client.patch(path.format(id=campaign_id), **request)


def put(path: str, **request: Any) -> Request:
    return lambda client, campaign_id: client.put(path.format(id=campaign_id), **request)


def delete(path: str, **request: Any) -> Request:
    return lambda client, campaign_id: client.delete(path.format(id=campaign_id), **request)


def form(path: str, data: Callable[[], aiohttp.FormData]) -> Request:
    # A FormData is spent once sent: each request builds its own.
    return lambda client, _campaign_id: client.post(path, data=data())


def anonymous(method: str, path: str) -> Request:
    async def send(client: Client, _campaign_id: str) -> ClientResponse:
        async with aiohttp.ClientSession() as session:
            response = await session.request(method, client.make_url(path))
            await response.read()
            return response

    return send


WORKING, SIGNED = signed(session_status("WORKING"))
NO_EVENT, NO_EVENT_SIGNED = signed({"id": "evt_x"})
SHOWN = (
    Shown("create_campaign", 201, post("/campaigns", json=campaign_body())),
    Shown("create_campaign", 400, post("/campaigns", data=b"{", headers=JSON)),
    Shown("create_campaign", 400, post("/campaigns", data=b"x", headers=NO_BOUNDARY)),
    Shown("create_campaign", 401, anonymous("POST", "/campaigns")),
    Shown("create_campaign", 413, post("/campaigns", data=TOO_LARGE, headers=JSON)),
    Shown("create_campaign", 415, post("/campaigns", data=b"x")),
    Shown("create_campaign", 422, post("/campaigns", json=campaign_body(name=""))),
    Shown("create_campaign", 201, post("/campaigns", json=campaign_body(), headers=KEYED)),
    Shown("create_campaign", 200, post("/campaigns", json=campaign_body(), headers=KEYED)),
    Shown("create_campaign", 409, post("/campaigns", json=campaign_body(3), headers=KEYED)),
    Shown("create_campaign", 422, post("/campaigns", json=campaign_body(), headers=BAD_KEY)),
    Shown("preview_campaign", 200, post("/campaigns/preview", json=campaign_body())),
    Shown("preview_campaign", 400, post("/campaigns/preview", data=b"{", headers=JSON)),
    Shown("preview_campaign", 413, post("/campaigns/preview", data=TOO_LARGE, headers=JSON)),
    Shown("preview_campaign", 415, post("/campaigns/preview", data=b"x")),
    Shown("preview_campaign", 422, post("/campaigns/preview", json=campaign_body(name=""))),
    Shown("preview_campaign", 422, post("/campaigns/preview?limit=0", json=campaign_body())),
    Shown("list_campaigns", 200, get("/campaigns")),
    Shown("list_campaigns", 401, anonymous("GET", "/campaigns")),
    Shown("list_campaigns", 422, get("/campaigns", params={"limit": "0"})),
    Shown("show_campaign", 200, get("/campaigns/{id}")),
    Shown("show_campaign", 404, get(f"/campaigns/{UNKNOWN}")),
    Shown("pause_campaign", 404, post(f"/campaigns/{UNKNOWN}/pause")),
    Shown("pause_campaign", 409, post("/campaigns/{id}/pause")),
    Shown("resume_campaign", 404, post(f"/campaigns/{UNKNOWN}/resume")),
    Shown("resume_campaign", 409, post("/campaigns/{id}/resume")),
    Shown("edit_campaign", 200, patch("/campaigns/{id}", json={"name": "Renamed"})),
    Shown("edit_campaign", 400, patch("/campaigns/{id}", data=b"{", headers=JSON)),
    Shown("edit_campaign", 404, patch(f"/campaigns/{UNKNOWN}", json={"name": "x"})),
    Shown("edit_campaign", 413, patch("/campaigns/{id}", data=TOO_LARGE, headers=JSON)),
    Shown("edit_campaign", 415, patch("/campaigns/{id}", data=b"x")),
    Shown("edit_campaign", 422, patch("/campaigns/{id}", json={"name": ""})),
    Shown("retry_campaign", 404, post(f"/campaigns/{UNKNOWN}/retry")),
    Shown("retry_campaign", 409, post("/campaigns/{id}/retry")),
    Shown("retry_campaign", 400, post("/campaigns/{id}/retry", data=b"{", headers=JSON)),
    Shown("retry_campaign", 413, post("/campaigns/{id}/retry", data=TOO_LARGE, headers=JSON)),
    Shown("retry_campaign", 415, post("/campaigns/{id}/retry", data=b"x")),
    Shown("cancel_campaign", 400, post("/campaigns/{id}/cancel", data=b"{", headers=JSON)),
    Shown("cancel_campaign", 404, post(f"/campaigns/{UNKNOWN}/cancel")),
    Shown("cancel_campaign", 413, post("/campaigns/{id}/cancel", data=TOO_LARGE, headers=JSON)),
    Shown("cancel_campaign", 415, post("/campaigns/{id}/cancel", data=b"x")),
    Shown("cancel_campaign", 422, post("/campaigns/{id}/cancel", json={"reason": ""})),
    Shown("cancel_campaign", 200, post("/campaigns/{id}/cancel")),
    Shown("cancel_campaign", 409, post("/campaigns/{id}/cancel")),
    Shown("edit_campaign", 409, patch("/campaigns/{id}", json={"name": "Too late"})),
    Shown("retry_campaign", 422, post("/campaigns/{id}/retry", json={"outcomes": ["failed"]})),
    Shown("retry_campaign", 422, post("/campaigns/{id}/retry", json={"outcomes": ["sent"]})),
    Shown("campaign_events", 200, get("/campaigns/{id}/events")),
    Shown("campaign_events", 404, get(f"/campaigns/{UNKNOWN}/events")),
    Shown("campaign_events", 422, get("/campaigns/{id}/events", params={"limit": "x"})),
    Shown("campaign_contacts", 200, get("/campaigns/{id}/contacts")),
    Shown("campaign_contacts", 404, get(f"/campaigns/{UNKNOWN}/contacts")),
    Shown("stored_events", 200, get("/events")),
    Shown("stored_events", 422, get("/events", params={"limit": "0"})),
    Shown("list_sessions", 200, get("/sessions")),
    Shown("list_sessions", 401, anonymous("GET", "/sessions")),
    Shown("show_session", 200, get("/sessions/default")),
    Shown("show_session", 404, get("/sessions/no%20such")),
    Shown("change_session_settings", 200, put(SETTINGS, json={"daily_cap": 5})),
    Shown("change_session_settings", 400, put(SETTINGS, data=b"{", headers=JSON)),
    Shown("change_session_settings", 404, put("/sessions/a.b/settings", json={})),
    Shown("change_session_settings", 413, put(SETTINGS, data=TOO_LARGE, headers=JSON)),
    Shown("change_session_settings", 415, put(SETTINGS, data=b"x")),
    Shown("change_session_settings", 422, put(SETTINGS, json={"daily_cap": -1})),
    Shown("add_opt_outs", 200, post("/opt-outs", json={"phones": ["+4915112345678"]})),
    Shown("add_opt_outs", 400, post("/opt-outs", data=b"{", headers=JSON)),
    Shown("add_opt_outs", 413, post("/opt-outs", data=TOO_LARGE, headers=JSON)),
    Shown("add_opt_outs", 415, post("/opt-outs", data=b"x")),
    Shown("add_opt_outs", 422, post("/opt-outs", json={"phones": ["no phone"]})),
    Shown("list_opt_outs", 200, get("/opt-outs")),
    Shown("list_opt_outs", 422, get("/opt-outs", params={"limit": "0"})),
    Shown("remove_opt_out", 200, delete("/opt-outs/+4915112345678")),
    Shown("remove_opt_out", 404, delete("/opt-outs/+4915112345678")),
    Shown("upload_media", 201, form("/media", lambda: image_form(PNG))),
    Shown("upload_media", 400, post("/media", data=b"x", headers=NO_BOUNDARY)),
    Shown("upload_media", 413, form("/media", lambda: image_form(PNG + TOO_LARGE))),
    Shown("upload_media", 415, form("/media", lambda: image_form(b"MZ\x90\x00 a program"))),
    Shown("upload_media", 415, post("/media", data=PNG, headers={"Content-Type": "image/png"})),
    Shown("upload_media", 422, form("/media", lambda: image_form(PNG, field="photo"))),
    Shown("waha_webhook", 200, post("/webhooks/waha", data=WORKING, headers=SIGNED)),
    Shown("waha_webhook", 400, post("/webhooks/waha", data=NO_EVENT, headers=NO_EVENT_SIGNED)),
    Shown("waha_webhook", 401, post("/webhooks/waha", data=WORKING, headers=JSON)),
    Shown("waha_webhook", 413, post("/webhooks/waha", data=TOO_LARGE)),
    Shown("healthz", 200, anonymous("GET", "/healthz")),
    Shown("metrics", 200, get("/metrics")),
    Shown("metrics", 401, anonymous("GET", "/metrics")),
    Shown("openapi", 200, anonymous("GET", "/openapi.json")),
    Shown("docs", 200, anonymous("GET", "/docs")),
)


def documented(route: str) -> set[int]:
    endpoint = next(e for e in ENDPOINTS if e.name == route)
    return {endpoint.status, *endpoint.also, *problem_statuses(endpoint)}


async def test_every_route_answers_only_statuses_it_documents(
    client: Client, clock: ManualClock
) -> None:
    later = (clock.now() + timedelta(days=1)).isoformat()
    campaign_id = (await create(client, scheduled_for=later))["id"]
    answered: dict[str, set[int]] = defaultdict(set)

    for shown in SHOWN:
        response = await shown.request(client, campaign_id)
        assert response.status == shown.status, (shown, await response.text())
        answered[shown.route].add(response.status)

    assert set(answered) == {e.name for e in ENDPOINTS}
    undocumented = {route: statuses - documented(route) for route, statuses in answered.items()}
    assert all(not statuses for statuses in undocumented.values()), undocumented


async def test_the_document_declares_what_problem_statuses_lists(client: Client) -> None:
    doc = await (await client.get("/openapi.json")).json()

    for endpoint in ENDPOINTS:
        declared = doc["paths"][endpoint.path][endpoint.method.lower()]["responses"]
        assert {int(s) for s in declared} == documented(endpoint.name), endpoint.name
