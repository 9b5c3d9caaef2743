"""WAHA's sending API as the simulator answers it: texts, media, ids, and the typing courtesy.

Every send request (text or media, accepted or not) is logged in `WahaSimulator.sends` with
when it came and went and what became of it, so a client's sends in flight can be counted.
"""

from __future__ import annotations

import binascii
import contextlib
import hashlib
from base64 import b64decode
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler

from adapters.waha_simulator.bodies import (
    JSONObject,
    nest_error,
    new_message_id,
    noweb_media,
    noweb_sent,
    noweb_text,
)
from adapters.waha_simulator.faults import Endpoint, FaultKind
from adapters.waha_simulator.guards import (
    DEFAULT_SESSION,
    RefusalError,
    invalid_body,
    json_body,
    optional_string,
    require_working,
    string_field,
    unknown_route,
    with_faults,
)
from adapters.waha_simulator.sends import ACCEPTED, GONE, REFUSED, SendRecord
from adapters.waha_simulator.state import SIMULATOR_KEY, WahaSimulator

# Takes a WORKING session's send (or refuses it) and returns the 201 body.
_Accept = Callable[[WahaSimulator, str, JSONObject, SendRecord], JSONObject]
_EITHER_URL_OR_DATA = 'Either "file.url" or "file.data" must be specified.'


async def _write(request: web.Request, response: web.StreamResponse) -> None:
    # Written here, not after the handler returns, so a send's finished_at is when its answer
    # went out. A hung-up or dropped client gets nothing: aiohttp's later write is a no-op.
    transport = request.transport
    if transport is not None and not transport.is_closing():
        with contextlib.suppress(ConnectionResetError):
            await response.prepare(request)
            await response.write_eof()


def send_route(endpoint: Endpoint, kind: str, accept: _Accept) -> Handler:
    """Return the handler of one send endpoint: WAHA's checks, faults, then `accept`."""

    async def handle(request: web.Request) -> web.StreamResponse:
        sim = request.app[SIMULATOR_KEY]
        record = sim.sends.receive(endpoint.value, kind)
        try:
            response = await _send(request, sim, endpoint, record, accept)
        except RefusalError as refusal:
            await _write(request, refusal.response)
            sim.sends.finish(record, REFUSED, refusal.status)
            return refusal.response
        except BaseException:
            # Cancelled: the client left (aiohttp may cancel its handler) or the server stopped.
            sim.sends.finish(record, record.fault or GONE, None)
            raise
        await _write(request, response)
        if record.fault is None:
            sim.sends.finish(record, ACCEPTED, response.status)
        else:
            answered = FaultKind(record.fault).answers
            sim.sends.finish(record, record.fault, response.status if answered else None)
        return response

    return handle


async def _send(
    request: web.Request,
    sim: WahaSimulator,
    endpoint: Endpoint,
    record: SendRecord,
    accept: _Accept,
) -> web.StreamResponse:
    try:
        body = await json_body(request)
    except RefusalError:
        sim.sends.begin(record, None, None)
        raise
    named, chat = body.get("session", DEFAULT_SESSION), body.get("chatId")
    sim.sends.begin(
        record,
        named if isinstance(named, str) else None,
        chat if isinstance(chat, str) else None,
    )
    session = string_field(body, "session", DEFAULT_SESSION)

    async def work() -> web.StreamResponse:
        await require_working(sim, session)
        return web.json_response(accept(sim, session, body, record), status=201)

    return await with_faults(request, endpoint, work, record)


def accept_text(
    sim: WahaSimulator, session: str, body: JSONObject, record: SendRecord
) -> JSONObject:
    """POST /api/sendText: the text, under the client's own `id` where this WAHA knows it."""
    chat_id, text = string_field(body, "chatId"), string_field(body, "text")
    # Before 2026.4.3 the DTO had no `id`, and the whitelist stripped it: ignored, unchecked.
    own_id = optional_string(body, "id") if sim.message_ids else None
    entry = sim.accept_message(
        session,
        chat_id,
        "text",
        message_id=own_id or None,
        text=text,
        received_at=record.received_at,
    )
    record.message_id = entry.message_id
    return noweb_sent(chat_id, entry.message_id, noweb_text(text), entry.accepted_at)


@dataclass(frozen=True, slots=True)
class MediaRoute:
    """One media send endpoint: what the ledger calls it and what its OAS request has.

    No media request has an `id` in OAS: WAHA's whitelist strips one, and a fresh id is made.
    """

    kind: str  # the ledger's kind
    captioned: bool  # OAS has `caption` (not on sendVoice)
    converts: bool  # OAS requires `convert` (sendVideo, sendVoice)
    default_mimetype: str | None  # OAS gives one (video, voice); else `mimetype` is required

    def accept(
        self, sim: WahaSimulator, session: str, body: JSONObject, record: SendRecord
    ) -> JSONObject:
        """Take a media send, its file as base64 `data` or as a `url`."""
        chat_id = string_field(body, "chatId")
        caption = optional_string(body, "caption") if self.captioned else None
        if self.converts and not isinstance(body.get("convert"), bool):
            raise invalid_body("convert must be a boolean value")
        as_note = body.get("asNote", False)
        if self.kind == "video" and not isinstance(as_note, bool):
            raise invalid_body("asNote must be a boolean value")
        file = body.get("file")
        if not isinstance(file, dict):
            raise invalid_body("file must be an object")
        mimetype = string_field(file, "mimetype", self.default_mimetype)
        filename = optional_string(file, "filename")
        data, url = optional_string(file, "data"), optional_string(file, "url")
        if data is None and url is None:
            raise RefusalError(422, nest_error(422, _EITHER_URL_OR_DATA))
        try:
            media = b64decode(data, validate=True) if data is not None else b""
        except binascii.Error:
            raise invalid_body("file.data must be base64 encoded") from None
        digest = hashlib.sha256(media)
        entry = sim.accept_message(
            session,
            chat_id,
            self.kind,
            caption=caption,
            mimetype=mimetype,
            media_sha256=digest.hexdigest() if data is not None else None,
            media_url=url if data is None else None,
            filename=filename,
            received_at=record.received_at,
        )
        record.message_id = entry.message_id
        message = noweb_media(
            self.kind,
            mimetype,
            media,
            digest.digest(),
            caption=caption,
            filename=filename,
            as_note=as_note is True,
        )
        return noweb_sent(chat_id, entry.message_id, message, entry.accepted_at)


MEDIA_ROUTES: dict[Endpoint, MediaRoute] = {
    Endpoint.SEND_IMAGE: MediaRoute("image", captioned=True, converts=False, default_mimetype=None),
    Endpoint.SEND_FILE: MediaRoute(
        "document", captioned=True, converts=False, default_mimetype=None
    ),
    Endpoint.SEND_VIDEO: MediaRoute(
        "video", captioned=True, converts=True, default_mimetype="video/mp4"
    ),
    Endpoint.SEND_VOICE: MediaRoute(
        "voice", captioned=False, converts=True, default_mimetype="audio/ogg; codecs=opus"
    ),
}


def add_send_routes(router: web.UrlDispatcher) -> None:
    """Add sendText and the media sends, each at `/api/<its endpoint>`."""
    router.add_post("/api/sendText", send_route(Endpoint.SEND_TEXT, "text", accept_text))
    for endpoint, media in MEDIA_ROUTES.items():
        router.add_post(f"/api/{endpoint.value}", send_route(endpoint, media.kind, media.accept))


async def new_id(request: web.Request) -> web.StreamResponse:
    """GET /api/{session}/new-message-id (WAHA 2026.4.3+): an id for sendText to use.

    Like the other session routes, it waits for WORKING (a 422 after the wait otherwise); an
    older WAHA has no such route at all.
    """
    sim = request.app[SIMULATOR_KEY]
    if not sim.message_ids:
        raise unknown_route(request)
    session = request.match_info["session"]

    async def work() -> web.StreamResponse:
        await require_working(sim, session)
        return web.json_response({"id": new_message_id()})

    return await with_faults(request, Endpoint.NEW_MESSAGE_ID, work)


def chat_action(endpoint: Endpoint, *, answer: JSONObject | None) -> Handler:
    """Return the handler of sendSeen, startTyping or stopTyping: it answers `answer`."""

    async def handle(request: web.Request) -> web.StreamResponse:
        sim = request.app[SIMULATOR_KEY]
        body = await json_body(request)
        session = string_field(body, "session", DEFAULT_SESSION)

        async def work() -> web.StreamResponse:
            await require_working(sim, session)
            string_field(body, "chatId")
            if answer is None:
                return web.Response(status=201)
            return web.json_response(answer, status=201)

        return await with_faults(request, endpoint, work)

    return handle


async def check_exists(request: web.Request) -> web.StreamResponse:
    """GET /api/contacts/check-exists?phone=&session=."""
    sim = request.app[SIMULATOR_KEY]
    phone = string_field(dict(request.query), "phone")
    session = request.query.get("session", DEFAULT_SESSION)

    async def work() -> web.StreamResponse:
        await require_working(sim, session)
        chat_id = sim.chat_id_of(phone)
        found = {"numberExists": True, "chatId": chat_id}
        return web.json_response(found if chat_id is not None else {"numberExists": False})

    return await with_faults(request, Endpoint.CHECK_EXISTS, work)
