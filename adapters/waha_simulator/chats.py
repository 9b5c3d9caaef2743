"""WAHA's chats API over the simulator's messages: how a client finds out what was really sent."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from adapters.waha_simulator.bodies import ACK_NAMES, MESSAGE_NOT_FOUND, nest_error
from adapters.waha_simulator.faults import Endpoint
from adapters.waha_simulator.guards import (
    RefusalError,
    invalid_body,
    require_working,
    unknown_route,
    with_faults,
)
from adapters.waha_simulator.messages import StoredMessage
from adapters.waha_simulator.state import SIMULATOR_KEY, WahaSimulator

_DEFAULT_LIMIT = 10


def _number(query: Mapping[str, str], name: str) -> float | None:
    raw = query.get(name)
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        raise invalid_body(
            f"{name} must be a number conforming to the specified constraints"
        ) from None


def _boolean(query: Mapping[str, str], name: str) -> bool | None:
    raw = query.get(name)
    if raw is None:
        return None
    if raw not in {"true", "false"}:
        raise invalid_body(f"{name} must be a boolean value")
    return raw == "true"


def _choice(query: Mapping[str, str], name: str, allowed: set[str]) -> str | None:
    raw = query.get(name)
    if raw is not None and raw not in allowed:
        raise invalid_body(
            f"{name} must be one of the following values: {', '.join(sorted(allowed))}"
        )
    return raw


def _selected(
    sim: WahaSimulator, session: str, chat_id: str, query: Mapping[str, str]
) -> list[StoredMessage]:
    """Apply WAHA's message filters; parsing first, so bad input is a 400 before any wait."""
    from_me = _boolean(query, "filter.fromMe")
    since = _number(query, "filter.timestamp.gte")
    until = _number(query, "filter.timestamp.lte")
    ack = _choice(query, "filter.ack", set(ACK_NAMES.values()))
    descending = _choice(query, "sortOrder", {"asc", "desc"}) != "asc"
    limit = int(_number(query, "limit") or _DEFAULT_LIMIT)
    offset = int(_number(query, "offset") or 0)

    def wanted(message: StoredMessage) -> bool:
        seconds = int(message.at.timestamp())
        return (
            (from_me is None or message.from_me is from_me)
            and (since is None or seconds >= since)
            and (until is None or seconds <= until)
            and (ack is None or ACK_NAMES[sim.messages.ack_of(message)] == ack)
        )

    messages = sorted(
        filter(wanted, sim.messages.in_chat(session, chat_id)),
        key=lambda message: message.at,
        reverse=descending,
    )
    return messages[offset : offset + limit]


async def list_messages(request: web.Request) -> web.StreamResponse:
    """GET /api/{session}/chats/{chatId}/messages: the chat's messages, ours and theirs."""
    sim = request.app[SIMULATOR_KEY]
    session, chat_id = request.match_info["session"], request.match_info["chatId"]
    _selected(sim, session, chat_id, request.query)

    async def work() -> web.StreamResponse:
        await require_working(sim, session)
        found = _selected(sim, session, chat_id, request.query)
        return web.json_response([sim.messages.wa_message(m, sim.me_id) for m in found])

    return await with_faults(request, Endpoint.MESSAGES, work)


async def phone_of_lid(request: web.Request) -> web.StreamResponse:
    """GET /api/{session}/lids/{lid}: `{"lid", "pn"}`, `pn` null when the session knows none.

    As WAHA's engines answer (LidToPhoneNumber); the lid may come without its `@lid`.
    """
    sim = request.app[SIMULATOR_KEY]
    session, asked = request.match_info["session"], request.match_info["lid"]
    lid = asked if "@" in asked else f"{asked}@lid"

    async def work() -> web.StreamResponse:
        await require_working(sim, session)
        return web.json_response({"lid": lid, "pn": sim.phone_of_lid(session, lid)})

    return await with_faults(request, Endpoint.LIDS, work)


async def get_message(request: web.Request) -> web.StreamResponse:
    """GET /api/{session}/chats/{chatId}/messages/{messageId}: by raw or full id; chat `all`.

    WAHA before 2026.4.3 has no such route: with message ids off, it is NestJS's
    `Cannot GET …` 404, which a client tells from this route's own `Message not found`.
    """
    sim = request.app[SIMULATOR_KEY]
    if not sim.message_ids:
        raise unknown_route(request)
    session, chat_id = request.match_info["session"], request.match_info["chatId"]
    wanted = request.match_info["messageId"]

    async def work() -> web.StreamResponse:
        await require_working(sim, session)
        found = sim.messages.find(session, chat_id, wanted)
        if found is None:
            raise RefusalError(404, nest_error(404, MESSAGE_NOT_FOUND))
        return web.json_response(sim.messages.wa_message(found, sim.me_id))

    return await with_faults(request, Endpoint.MESSAGES, work)
