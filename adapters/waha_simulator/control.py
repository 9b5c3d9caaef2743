"""The simulator's own HTTP control API under /_simulator, which a real WAHA does not have."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from adapters.waha_simulator import limits
from adapters.waha_simulator.bodies import WORKING, JSONObject
from adapters.waha_simulator.config import StatusStep
from adapters.waha_simulator.faults import Endpoint, Fault, FaultKind
from adapters.waha_simulator.guards import CONTROL_PREFIX
from adapters.waha_simulator.state import SIMULATOR_KEY, WahaSimulator


class ControlRequestError(Exception):
    """A control request the simulator cannot follow; answered 400 `{"error": …}`."""


def _sim(request: web.Request) -> WahaSimulator:
    return request.app[SIMULATOR_KEY]


async def _object(request: web.Request) -> JSONObject:
    try:
        body = await request.json() if request.body_exists else {}
    except ValueError:
        raise ControlRequestError("the body must be JSON") from None
    if not isinstance(body, dict):
        raise ControlRequestError("the body must be a JSON object")
    return body


def _field(body: JSONObject, name: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    if name not in body:
        if default is ...:
            raise ControlRequestError(f"{name} is required")
        return default
    value = body[name]
    # JSON true is a Python int too: refuse it where a number is wanted.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ControlRequestError(f"{name} has the wrong type")
    return value


@web.middleware
async def control_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer bad control requests with 400 and the reason."""
    if not request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    try:
        return await handler(request)
    except (ControlRequestError, ValueError) as error:
        return web.json_response({"error": str(error)}, status=400)


def state(sim: WahaSimulator) -> JSONObject:
    """Return everything the simulator holds, except secrets and the ledger."""
    return {
        "sessions": [
            {"name": name, "status": sim.status(name), "history": sim.status_history(name)}
            for name in sim.session_names()
        ],
        "webhook": sim.webhook(),
        "faults": sim.faults(),
        "calls": sim.calls(),
        "not_on_whatsapp": sim.not_on_whatsapp(),
        "message_ids": sim.message_ids,
    }


async def get_state(request: web.Request) -> web.StreamResponse:
    """GET /_simulator/state."""
    return web.json_response(state(_sim(request)))


async def set_status(request: web.Request) -> web.StreamResponse:
    """PUT /_simulator/sessions/{session}/status `{"status": "WORKING"}`: now, ending schedules."""
    body = await _object(request)
    name = request.match_info["session"]
    _sim(request).set_status(name, _field(body, "status", str))
    return web.json_response({"name": name, "status": _sim(request).status(name)})


async def schedule(request: web.Request) -> web.StreamResponse:
    """PUT /_simulator/sessions/{session}/schedule `{"steps": [{status, after_seconds}], …}`."""
    body = await _object(request)
    raw_steps = _field(body, "steps", list)
    steps = []
    for raw in raw_steps:
        if not isinstance(raw, dict):
            raise ControlRequestError("each step must be an object")
        seconds = _field(raw, "after_seconds", (int, float))
        steps.append(StatusStep(_field(raw, "status", str), float(seconds)))
    repeat = _field(body, "repeat", bool, default=False)
    _sim(request).schedule_statuses(request.match_info["session"], steps, repeat=repeat)
    return web.json_response(
        {"name": request.match_info["session"], "steps": len(steps), "repeat": repeat}
    )


async def add_sessions(request: web.Request) -> web.StreamResponse:
    """POST /_simulator/sessions `{"names": [...], "status"?: "WORKING"}`: create (or replace)."""
    body = await _object(request)
    names = _field(body, "names", list)
    if not names or not all(isinstance(name, str) and name for name in names):
        raise ControlRequestError("names must be a list of non-empty strings")
    status = _field(body, "status", str, default=WORKING)
    sim = _sim(request)
    for name in names:
        sim.add_session(name, status=status)
    return web.json_response({"names": names, "status": status}, status=201)


async def remove_session(request: web.Request) -> web.StreamResponse:
    """DELETE /_simulator/sessions/{session}: WAHA no longer knows it."""
    _sim(request).remove_session(request.match_info["session"])
    return web.json_response({})


async def add_fault(request: web.Request) -> web.StreamResponse:
    """POST /_simulator/faults `{"endpoint", "kind", "times"?, "seconds"?, "body"?}`."""
    body = await _object(request)
    endpoint = Endpoint(_field(body, "endpoint", str))
    fault = Fault(
        kind=FaultKind(_field(body, "kind", str)),
        times=_field(body, "times", (int, type(None)), default=1),
        seconds=float(_field(body, "seconds", (int, float), default=0.0)),
        body=body.get("body"),
    )
    _sim(request).add_fault(endpoint, fault)
    return web.json_response({"endpoint": endpoint.value, **fault.to_json()}, status=201)


async def clear_faults(request: web.Request) -> web.StreamResponse:
    """DELETE /_simulator/faults[?endpoint=sendText]."""
    raw = request.query.get("endpoint")
    _sim(request).clear_faults(None if raw is None else Endpoint(raw))
    return web.json_response(_sim(request).faults())


async def mark_numbers(request: web.Request) -> web.StreamResponse:
    """POST (mark) or DELETE (unmark) /_simulator/numbers/not-on-whatsapp `{"phones": [...]}`."""
    phones = _field(await _object(request), "phones", list)
    if not all(isinstance(phone, str) for phone in phones):
        raise ControlRequestError("phones must be strings")
    sim = _sim(request)
    if request.method == "POST":
        sim.mark_not_on_whatsapp(*phones)
    else:
        sim.mark_on_whatsapp(*phones)
    return web.json_response({"not_on_whatsapp": sim.not_on_whatsapp()})


async def get_ledger(request: web.Request) -> web.StreamResponse:
    """GET /_simulator/ledger: every accepted message, in order, with its current ack."""
    sim = _sim(request)
    entries = [{**entry.to_json(), "ack": sim.ack_of(entry)} for entry in sim.ledger()]
    return web.json_response({"entries": entries})


async def get_sends(request: web.Request) -> web.StreamResponse:
    """GET /_simulator/sends[?session=]: every send request, and the most in flight at once."""
    sim = _sim(request)
    records = sim.sends.records(request.query.get("session"))
    return web.json_response(
        {
            "sends": [record.to_json() for record in records],
            "max_in_flight": sim.sends.max_in_flight(),
            "in_flight": sim.sends.in_flight(),
        }
    )


async def deliver_inbound(request: web.Request) -> web.StreamResponse:
    """POST /_simulator/sessions/{session}/inbound `{"from", "body"}`: a message arrives.

    Answers the `message` webhook's envelope, sent (signed) when webhooks go somewhere.
    """
    body = await _object(request)
    sender, text = _field(body, "from", str), _field(body, "body", str)
    envelope = _sim(request).receive_message(request.match_info["session"], sender, text)
    return web.json_response(envelope, status=201)


async def link_lid(request: web.Request) -> web.StreamResponse:
    """PUT /_simulator/sessions/{session}/lids `{"lid": "…@lid", "pn": "<digits>@c.us"}`.

    The session learns the phone behind a linked id: GET /api/{session}/lids/{lid} answers it.
    """
    body = await _object(request)
    lid, pn = _field(body, "lid", str), _field(body, "pn", str)
    name = request.match_info["session"]
    sim = _sim(request)
    if sim.status(name) is None:
        raise ControlRequestError(f"no session {name!r}")
    try:
        sim.link(name, lid, pn)
    except ValueError as error:
        raise ControlRequestError(str(error)) from None
    return web.json_response({"lid": lid, "pn": pn})


async def set_limits(request: web.Request) -> web.StreamResponse:
    """PUT /_simulator/sessions/{session}/limits `{"reachoutTimelock"?, "messageCapping"?}`.

    An object sets that limit, null clears it; either way WAHA's `session.status` goes out.
    """
    name = request.match_info["session"]
    sim = _sim(request)
    if sim.status(name) is None:
        raise ControlRequestError(f"no session {name!r}")
    sim.set_limits(name, limits.changes(await _object(request)))
    return web.json_response({"name": name, "limits": sim.limits(name)})


async def set_message_ids(request: web.Request) -> web.StreamResponse:
    """PUT /_simulator/message-ids `{"supported": bool}`: answer as WAHA 2026.4.3+, or older."""
    supported = _field(await _object(request), "supported", bool)
    _sim(request).message_ids = supported
    return web.json_response({"supported": supported})


async def set_webhook(request: web.Request) -> web.StreamResponse:
    """PUT /_simulator/webhook `{"url": str | null, "hmac_key": str | null}`."""
    body = await _object(request)
    url = _field(body, "url", (str, type(None)))
    hmac_key = _field(body, "hmac_key", (str, type(None)), default=None)
    _sim(request).set_webhook(url, hmac_key)
    return web.json_response(_sim(request).webhook())


async def reset(request: web.Request) -> web.StreamResponse:
    """POST /_simulator/reset: back to the configured start."""
    _sim(request).reset()
    return web.json_response(state(_sim(request)))


async def settle(request: web.Request) -> web.StreamResponse:
    """POST /_simulator/settle: answer once schedules, acks and webhooks have finished."""
    await _sim(request).settle()
    return web.json_response({})


def add_control_routes(router: web.UrlDispatcher) -> None:
    """Add the control API under /_simulator."""
    sessions = f"{CONTROL_PREFIX}/sessions/{{session}}"
    router.add_get(f"{CONTROL_PREFIX}/state", get_state)
    router.add_put(f"{sessions}/status", set_status)
    router.add_put(f"{sessions}/schedule", schedule)
    router.add_put(f"{sessions}/limits", set_limits)
    router.add_post(f"{sessions}/inbound", deliver_inbound)
    router.add_put(f"{sessions}/lids", link_lid)
    router.add_post(f"{CONTROL_PREFIX}/sessions", add_sessions)
    router.add_delete(sessions, remove_session)
    router.add_post(f"{CONTROL_PREFIX}/faults", add_fault)
    router.add_delete(f"{CONTROL_PREFIX}/faults", clear_faults)
    router.add_post(f"{CONTROL_PREFIX}/numbers/not-on-whatsapp", mark_numbers)
    router.add_delete(f"{CONTROL_PREFIX}/numbers/not-on-whatsapp", mark_numbers)
    router.add_get(f"{CONTROL_PREFIX}/ledger", get_ledger)
    router.add_get(f"{CONTROL_PREFIX}/sends", get_sends)
    router.add_put(f"{CONTROL_PREFIX}/message-ids", set_message_ids)
    router.add_put(f"{CONTROL_PREFIX}/webhook", set_webhook)
    router.add_post(f"{CONTROL_PREFIX}/reset", reset)
    router.add_post(f"{CONTROL_PREFIX}/settle", settle)
