"""A fake of the campaigns service's HTTP API: the few endpoints the CLI calls, in memory."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from adapters.contacts_file import read_contacts_file
from app.audience import ContactInput

TOKEN = "s3cret-token"


def a_view(**overrides: Any) -> dict[str, Any]:
    """Return a campaign view as the service sends it."""
    view: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "name": "Spring sale",
        "status": "Running",
        "session": "default",
        "total": 4,
        "sent": 0,
        "failed": 0,
        "skipped": 0,
        "in_doubt": 0,
        "next_index": 0,
        "pause": None,
        "scheduled_for": "2026-11-28T09:00:00+00:00",
        "started_at": "2026-11-28T09:00:00+00:00",
        "completed_at": None,
        "version": 2,
        "message": {"text": "Hi"},
        "pacing": {"min_seconds": 30.0, "max_seconds": 60.0},
        "options": {},
        "in_flight": None,
        "cancelled": None,
        "audience": {"size": 4},
        "delivered": 0,
        "read": 0,
    }
    view.update(overrides)
    return view


def _contact_json(contact: ContactInput) -> dict[str, Any]:
    body: dict[str, Any] = {"phone": contact.phone}
    if contact.name is not None:
        body["name"] = contact.name
    if contact.variables:
        body["variables"] = dict(contact.variables)
    return body


def problem(status: int, title: str, detail: str, errors: list[Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"title": title, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return web.json_response(body, status=status, content_type="application/problem+json")


@dataclass
class FakeService:
    """Campaigns by id; for `watch`, a script of views a campaign's GET returns in turn."""

    campaigns: dict[str, dict[str, Any]] = field(default_factory=dict)
    scripts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    received: list[tuple[str, str, Any]] = field(default_factory=list)
    media: list[tuple[str, str, bytes]] = field(default_factory=list)
    reject_contacts: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[tuple[str, bytes]] = field(default_factory=list)  # contacts files, as sent
    created_extra: dict[str, Any] = field(default_factory=dict)  # more of a created answer
    stuck_cursor: str | None = None  # a broken service: every page says this comes next

    def add(self, view: dict[str, Any]) -> dict[str, Any]:
        self.campaigns[view["id"]] = view
        return view

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        app.router.add_post("/campaigns", self._create)
        app.router.add_get("/campaigns", self._list)
        app.router.add_get("/campaigns/{id}", self._show)
        app.router.add_post("/campaigns/{id}/{command}", self._command)
        app.router.add_post("/media", self._media)
        return app

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return problem(401, "Unauthorized", "a bearer token is required")
        response: web.StreamResponse = await handler(request)
        return response

    async def _create(self, request: web.Request) -> web.Response:
        if request.content_type == "multipart/form-data":
            body = await self._form_body(request)
        else:
            body = await request.json()
        self.received.append(("POST", "/campaigns", body))
        if self.reject_contacts:
            return problem(422, "Invalid campaign", "1 contact(s)", self.reject_contacts)
        view = self.add(
            a_view(
                name=body["name"],
                status="Scheduled",
                total=len(body["contacts"]),
                duplicates=[{"position": 2, "value": "x", "first_position": 0}]
                if len(body["contacts"]) > 2  # the fixture CSV repeats its first number
                else [],
                **self.created_extra,
            )
        )
        return web.json_response(view, status=201)

    async def _form_body(self, request: web.Request) -> dict[str, Any]:
        """The form as the JSON body it stands for: its file read as the service reads it."""
        form = await request.post()
        campaign = form["campaign"]
        assert isinstance(campaign, bytes | bytearray)  # a JSON part, not text/plain
        body: dict[str, Any] = json.loads(campaign)
        upload = form["contacts"]
        assert isinstance(upload, web.FileField)
        data = upload.file.read()
        self.uploads.append((upload.filename, data))
        found = read_contacts_file(
            data, phone_column=body.get("phone_column"), encoding=body.get("encoding")
        )
        body["contacts"] = [_contact_json(contact) for contact in found.contacts]
        return body

    async def _list(self, request: web.Request) -> web.Response:
        self.received.append(("GET", "/campaigns", dict(request.query)))
        items = list(self.campaigns.values())
        status = request.query.get("status")
        if status:
            items = [v for v in items if v["status"] == status]
        cursor = request.query.get("cursor", "0")
        start = 0 if cursor == self.stuck_cursor else int(cursor)
        limit = int(request.query.get("limit", "50"))
        page = items[start : start + limit]
        more = start + limit < len(items)
        following = self.stuck_cursor or (start + limit if more else None)
        return web.json_response({"items": page, "next_cursor": following})

    async def _show(self, request: web.Request) -> web.Response:
        campaign_id = request.match_info["id"]
        script = self.scripts.get(campaign_id)
        if script:
            view = script.pop(0) if len(script) > 1 else script[0]
            return web.json_response(view)
        if campaign_id not in self.campaigns:
            return problem(404, "Not Found", f"no campaign with id {campaign_id}")
        return web.json_response(self.campaigns[campaign_id])

    async def _command(self, request: web.Request) -> web.Response:
        campaign_id, command = request.match_info["id"], request.match_info["command"]
        body = await request.json() if request.can_read_body else None
        self.received.append(("POST", f"/campaigns/{campaign_id}/{command}", body))
        view = self.campaigns.get(campaign_id)
        if view is None:
            return problem(404, "Not Found", f"no campaign with id {campaign_id}")
        allowed = {"pause": "Running", "resume": "Paused", "cancel": view["status"]}
        if view["status"] != allowed[command] or view["status"] == "Completed":
            return problem(409, "Conflict", f"cannot {command} a {view['status']} campaign")
        if command == "pause":
            view.update(
                status="Paused",
                pause={
                    "reason": "manual",
                    "detail": "",
                    "at": "2026-11-28T10:00:00+00:00",
                    "index": view["next_index"],
                },
            )
        elif command == "resume":
            view.update(status="Running", pause=None)
        else:
            reason = (body or {}).get("reason", "cancelled by operator")
            view.update(
                status="Cancelled",
                pause=None,
                cancelled={
                    "reason": reason,
                    "index": view["next_index"],
                    "at": "2026-11-28T10:00:00+00:00",
                },
            )
        return web.json_response(view)

    async def _media(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form["file"]
        assert isinstance(upload, web.FileField)
        content = upload.file.read()
        self.media.append((upload.filename, upload.content_type, content))
        return web.json_response(
            {"id": "media-1", "sha256": "0" * 64, "mimetype": upload.content_type, "size": 3},
            status=201,
        )
