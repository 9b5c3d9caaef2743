"""How every simulated WAHA route refuses, reads its body, and misbehaves on demand."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from adapters.waha_simulator.bodies import (
    CORE_ONLY_DEFAULT,
    STOPPED,
    UNAUTHORIZED,
    WORKING,
    JSONObject,
    exception_463,
    exception_rate_overlimit,
    nest_error,
    no_session_to_use,
    not_working,
    plain_exception,
    route_not_found,
    server_error,
)
from adapters.waha_simulator.faults import Endpoint, Fault, FaultKind
from adapters.waha_simulator.sends import SendRecord
from adapters.waha_simulator.state import SIMULATOR_KEY, WahaSimulator

CONTROL_PREFIX = "/_simulator"
_Work = Callable[[], Awaitable[web.StreamResponse]]
DEFAULT_SESSION = "default"


class RefusalError(Exception):
    """WAHA refuses the request with this answer; the error middleware sends it."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.response = web.json_response(body, status=status)


def invalid_body(*messages: str) -> RefusalError:
    """Return the 400 NestJS's class-validator answers for a bad body or query."""
    return RefusalError(400, nest_error(400, list(messages)))


@web.middleware
async def nest_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer refusals, and unknown routes the way NestJS does."""
    try:
        return await handler(request)
    except RefusalError as refusal:
        return refusal.response
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        if request.path.startswith(CONTROL_PREFIX):
            raise
        return unknown_route(request).response


def unknown_route(request: web.Request) -> RefusalError:
    """Return NestJS's 404 for a route this WAHA does not have, naming the request's target."""
    # Express names the original URL, query and all; aiohttp's raw_path is that target.
    return RefusalError(404, route_not_found(request.method, request.raw_path))


@web.middleware
async def api_key_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a missing or wrong X-Api-Key (or `?x-api-key=`) when a key is set."""
    key = request.app[SIMULATOR_KEY].config.api_key
    exempt = request.path.startswith(CONTROL_PREFIX) or request.path == "/ping"
    if key is not None and not exempt:
        given = request.headers.get("X-Api-Key") or request.query.get("x-api-key") or ""
        if not hmac.compare_digest(given.encode(), key.encode()):
            return web.json_response(UNAUTHORIZED, status=401)
    return await handler(request)


async def json_body(request: web.Request) -> JSONObject:
    """Return the request's JSON object, or refuse it as Express's body parser would."""
    if not request.body_exists:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise RefusalError(400, nest_error(400, "Unexpected token in JSON body")) from None
    if not isinstance(body, dict):
        raise invalid_body("body must be an object")
    return body


def string_field(body: JSONObject, name: str, default: str | None = None) -> str:
    """Return a required string field, or refuse the body as class-validator would."""
    value = body.get(name, default)
    if not isinstance(value, str):
        raise invalid_body(f"{name} must be a string")
    return value


def optional_string(body: JSONObject, name: str) -> str | None:
    """Return an optional string field, or refuse the body as class-validator would."""
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise invalid_body(f"{name} must be a string")
    return value


async def require_working(sim: WahaSimulator, session: str) -> None:
    """Refuse as WAHA does: Core refusal, 404 when stopped or unknown, 422 when not WORKING."""
    if sim.config.only_default_session and session != DEFAULT_SESSION:
        raise RefusalError(422, nest_error(422, CORE_ONLY_DEFAULT))
    if sim.status(session) in {None, STOPPED}:
        raise RefusalError(404, no_session_to_use(session))
    status = await sim.wait_for_working(session, sim.config.not_working_wait)
    if status is None:
        raise RefusalError(404, no_session_to_use(session))
    if status != WORKING:
        raise RefusalError(422, not_working(session, status))


async def with_faults(
    request: web.Request, endpoint: Endpoint, work: _Work, record: SendRecord | None = None
) -> web.StreamResponse:
    """Do `work`, unless a fault armed on `endpoint` makes the call misbehave.

    A send's `record` learns the fault that made it misbehave (latency only delays it).
    """
    sim = request.app[SIMULATOR_KEY]
    fault = sim.take_fault(endpoint)
    if fault is None:
        return await work()
    if fault.kind is FaultKind.LATENCY:
        await sim.sleeper.sleep(fault.seconds)
        return await work()
    if record is not None:
        record.fault = fault.kind.value
    if fault.kind in {FaultKind.ERROR_500, FaultKind.ERROR_463, FaultKind.RATE_OVERLIMIT}:
        return await _server_error(request, sim, fault)
    if fault.kind.answers_first:
        await work()  # a refusal (404, 422…) is still answered: nothing was accepted to lose
    if fault.kind in {FaultKind.HANG, FaultKind.ACCEPT_THEN_HANG}:
        await _hang(request, sim)
    if request.transport is not None:
        request.transport.close()
    # Nothing reaches the client: aiohttp drops writes to a closed transport quietly.
    return web.Response(status=500)


async def _hang(request: web.Request, sim: WahaSimulator) -> None:
    # Without handler cancellation aiohttp won't tell us the client left: look every 0.1 s.
    release = sim.hang_release
    while not release.is_set():
        if request.transport is None or request.transport.is_closing():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(release.wait(), 0.1)


async def _server_error(request: web.Request, sim: WahaSimulator, fault: Fault) -> web.Response:
    if fault.kind is FaultKind.ERROR_500 and fault.body is not None:
        return web.json_response(fault.body, status=500)
    exception = {
        FaultKind.ERROR_463: exception_463,
        FaultKind.RATE_OVERLIMIT: exception_rate_overlimit,
    }.get(fault.kind, lambda: plain_exception("Simulated failure"))()
    body: Any = {}
    if request.body_exists:
        with contextlib.suppress(ValueError):
            body = await request.json()
    echo = {
        "path": request.path_qs,
        "method": request.method,
        "body": body,
        "query": dict(request.query),
    }
    return web.json_response(
        server_error(exception, echo, sim.config.version, sim.clock.now()), status=500
    )
