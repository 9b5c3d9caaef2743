"""WAHA's chats API over the simulator's ledger: how a client finds out what was really sent."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from adapters.waha_simulator.bodies import ACK_NAMES, JSONObject, nest_error
from adapters.waha_simulator.config import LedgerEntry
from adapters.waha_simulator.faults import Endpoint
from adapters.waha_simulator.routes import RefusalError, invalid_body, require_working, with_faults
from adapters.waha_simulator.state import SIMULATOR_KEY, WahaSimulator

_DEFAULT_LIMIT = 10


def wa_message(sim: WahaSimulator, entry: LedgerEntry) -> JSONObject:
    """Return an accepted message as WAHA's chats API lists it (WAMessage, NOWEB flavour)."""
    ack = sim.ack_of(entry)
    return {
        "id": entry.serialized_id,
        "timestamp": int(entry.accepted_at.timestamp()),
        "from": sim.me_id,
        "fromMe": True,
        "source": "api",
        "to": entry.chat_id,
        "participant": None,
        "body": entry.text if entry.kind == "text" else (entry.caption or ""),
        "hasMedia": entry.kind != "text",
        "media": None,
        "ack": ack,
        "ackName": ACK_NAMES[ack],
        "replyTo": None,
    }


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
) -> list[LedgerEntry]:
    """Apply WAHA's message filters; parsing first, so bad input is a 400 before any wait."""
    from_me = _boolean(query, "filter.fromMe")
    since = _number(query, "filter.timestamp.gte")
    until = _number(query, "filter.timestamp.lte")
    ack = _choice(query, "filter.ack", set(ACK_NAMES.values()))
    descending = _choice(query, "sortOrder", {"asc", "desc"}) != "asc"
    limit = int(_number(query, "limit") or _DEFAULT_LIMIT)
    offset = int(_number(query, "offset") or 0)

    def wanted(entry: LedgerEntry) -> bool:
        seconds = int(entry.accepted_at.timestamp())
        return (
            entry.session == session
            and entry.chat_id == chat_id
            and from_me is not False  # every ledger message is our own
            and (since is None or seconds >= since)
            and (until is None or seconds <= until)
            and (ack is None or ACK_NAMES[sim.ack_of(entry)] == ack)
        )

    entries = sorted(
        filter(wanted, sim.ledger()), key=lambda entry: entry.accepted_at, reverse=descending
    )
    return entries[offset : offset + limit]


async def list_messages(request: web.Request) -> web.StreamResponse:
    """GET /api/{session}/chats/{chatId}/messages: the messages accepted for that chat."""
    sim = request.app[SIMULATOR_KEY]
    session, chat_id = request.match_info["session"], request.match_info["chatId"]
    _selected(sim, session, chat_id, request.query)

    async def work() -> web.StreamResponse:
        await require_working(sim, session)
        entries = _selected(sim, session, chat_id, request.query)
        return web.json_response([wa_message(sim, entry) for entry in entries])

    return await with_faults(request, Endpoint.MESSAGES, work)


async def get_message(request: web.Request) -> web.StreamResponse:
    """GET /api/{session}/chats/{chatId}/messages/{messageId}: by raw or full id; chat `all`."""
    sim = request.app[SIMULATOR_KEY]
    session, chat_id = request.match_info["session"], request.match_info["chatId"]
    wanted = request.match_info["messageId"]

    async def work() -> web.StreamResponse:
        await require_working(sim, session)
        for entry in sim.ledger():
            same_chat = chat_id in {"all", entry.chat_id}
            same_id = wanted in {entry.message_id, entry.serialized_id}
            if entry.session == session and same_chat and same_id:
                return web.json_response(wa_message(sim, entry))
        raise RefusalError(404, nest_error(404, "Message not found"))

    return await with_faults(request, Endpoint.MESSAGES, work)
