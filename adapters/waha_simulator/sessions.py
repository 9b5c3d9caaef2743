"""WAHA's sessions API, as the simulator answers it: enough for a session's whole lifecycle."""

from __future__ import annotations

import secrets

from aiohttp import web
from aiohttp.typedefs import Handler

from adapters.waha_simulator.bodies import (
    CORE_ONLY_DEFAULT,
    ENGINE,
    SESSION_NOT_FOUND,
    STOPPED,
    JSONObject,
    nest_error,
    no_session_to_use,
    version_info,
)
from adapters.waha_simulator.faults import Endpoint
from adapters.waha_simulator.guards import (
    DEFAULT_SESSION,
    RefusalError,
    invalid_body,
    json_body,
    require_working,
    string_field,
    with_faults,
)
from adapters.waha_simulator.state import SIMULATOR_KEY, WahaSimulator


def session_body(sim: WahaSimulator, name: str, *, engine: bool) -> JSONObject:
    """Return a session as WAHA 2024.10.8 shows it (config null until it first runs)."""
    info = sim.session_info(name)
    if info is None:
        raise RefusalError(404, nest_error(404, SESSION_NOT_FOUND))
    status, config, has_run = info
    body: JSONObject = {"name": name, "status": status}
    if config is not None or not has_run:
        body["config"] = config
    body["me"] = sim.me(name)
    if engine:
        body["engine"] = {} if status == STOPPED else {"engine": ENGINE}
    return body


async def list_sessions(request: web.Request) -> web.StreamResponse:
    """GET /api/sessions[?all=true]: without `all`, STOPPED sessions are left out."""
    sim = request.app[SIMULATOR_KEY]
    everything = request.query.get("all", "false")
    if everything not in {"true", "false"}:
        raise invalid_body("all must be a boolean value")

    async def work() -> web.StreamResponse:
        names = [
            name
            for name in sim.session_names()
            if everything == "true" or sim.status(name) != STOPPED
        ]
        return web.json_response([session_body(sim, name, engine=False) for name in names])

    return await with_faults(request, Endpoint.SESSIONS, work)


async def get_session(request: web.Request) -> web.StreamResponse:
    """GET /api/sessions/{session}: answers at once, whatever the status."""
    sim = request.app[SIMULATOR_KEY]
    name = request.match_info["session"]

    async def work() -> web.StreamResponse:
        return web.json_response(session_body(sim, name, engine=True))

    return await with_faults(request, Endpoint.SESSION_STATUS, work)


async def create_session(request: web.Request) -> web.StreamResponse:
    """POST /api/sessions: create (and by default start) a session."""
    sim = request.app[SIMULATOR_KEY]
    body = await json_body(request)
    name = string_field(body, "name", f"session_{secrets.token_hex(4)}")
    config = body.get("config")
    if config is not None and not isinstance(config, dict):
        raise invalid_body("config must be an object")
    if sim.status(name) is not None:
        message = f"Session '{name}' already exists. Use PUT to update it."
        raise RefusalError(422, nest_error(422, message))
    if sim.config.only_default_session and name != DEFAULT_SESSION:
        raise RefusalError(422, nest_error(422, CORE_ONLY_DEFAULT))
    sim.add_session(name, config=config)
    if body.get("start", True) is not False:
        sim.start_session(name)
    return web.json_response(session_body(sim, name, engine=True), status=201)


async def start_session(request: web.Request) -> web.StreamResponse:
    """POST /api/sessions/{session}/start: only a STOPPED session starts."""
    sim = request.app[SIMULATOR_KEY]
    name = request.match_info["session"]
    if sim.config.only_default_session and name != DEFAULT_SESSION:
        raise RefusalError(422, nest_error(422, CORE_ONLY_DEFAULT))
    status = sim.status(name)
    if status is None:
        raise RefusalError(404, nest_error(404, SESSION_NOT_FOUND))
    if status != STOPPED:
        raise RefusalError(422, nest_error(422, f"Session '{name}' is already started."))
    sim.start_session(name)
    return web.json_response(session_body(sim, name, engine=True), status=201)


async def stop_session(request: web.Request) -> web.StreamResponse:
    """POST /api/sessions/{session}/stop: idempotent; does not log out."""
    sim = request.app[SIMULATOR_KEY]
    name = request.match_info["session"]
    if sim.status(name) is None:
        raise RefusalError(404, nest_error(404, SESSION_NOT_FOUND))
    sim.set_status(name, STOPPED)
    return web.json_response(session_body(sim, name, engine=True), status=201)


async def get_me(request: web.Request) -> web.StreamResponse:
    """GET /api/sessions/{session}/me: `me` while WORKING, else an empty answer (null)."""
    sim = request.app[SIMULATOR_KEY]
    name = request.match_info["session"]
    status = sim.status(name)
    if status is None or status == STOPPED:
        raise RefusalError(404, no_session_to_use(name))
    me = sim.me(name)
    return web.Response(status=200) if me is None else web.json_response(me)


def limit_route(field: str, unlimited: JSONObject) -> Handler:
    """Return the handler of GET /api/sessions/{session}/timelock or /capping (SRCnew).

    Newer than OAS 2026.7.1; answered here whatever the release. The account's limit as the
    controls set it, or `unlimited`; like the other session routes, only while WORKING.
    """

    async def handle(request: web.Request) -> web.StreamResponse:
        sim = request.app[SIMULATOR_KEY]
        name = request.match_info["session"]

        async def work() -> web.StreamResponse:
            await require_working(sim, name)
            return web.json_response(sim.limits(name).get(field, unlimited))

        return await with_faults(request, Endpoint.ACCOUNT_LIMITS, work)

    return handle


async def version(request: web.Request) -> web.StreamResponse:
    """GET /api/version."""
    return web.json_response(version_info(request.app[SIMULATOR_KEY].config.version))


async def ping(_request: web.Request) -> web.StreamResponse:
    """GET /ping: no key needed."""
    return web.json_response({"message": "pong"})
