"""The simulator's aiohttp application: WAHA's routes, the controls, and their lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from adapters.system import AsyncioSleeper, SystemClock
from adapters.waha_simulator import chats, guards, limits, sending, sessions
from adapters.waha_simulator.config import SimulatorConfig
from adapters.waha_simulator.control import add_control_routes, control_errors
from adapters.waha_simulator.faults import Endpoint
from adapters.waha_simulator.state import SIMULATOR_KEY, WahaSimulator

if TYPE_CHECKING:
    from adapters.waha_simulator.config import Clock, Sleeper


# WAHA's JSON body limit (SRC24 src/main.ts): base64 media must fit in it.
_BODY_LIMIT = 50 * 1024 * 1024


def make_simulator_app(
    config: SimulatorConfig | None = None,
    *,
    clock: Clock | None = None,
    sleeper: Sleeper | None = None,
) -> web.Application:
    """Return the simulator's aiohttp app; its `WahaSimulator` is at `app[SIMULATOR_KEY]`."""
    simulator = WahaSimulator(
        config or SimulatorConfig(),
        clock=clock or SystemClock(),
        sleeper=sleeper or AsyncioSleeper(),
    )
    app = web.Application(
        middlewares=[control_errors, guards.nest_errors, guards.api_key_guard],
        client_max_size=_BODY_LIMIT,
    )
    app[SIMULATOR_KEY] = simulator
    _add_waha_routes(app.router)
    add_control_routes(app.router)
    app.cleanup_ctx.append(_background_work)
    app.on_shutdown.append(_release_hangs)
    return app


def _add_waha_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/ping", sessions.ping)
    router.add_get("/api/version", sessions.version)
    router.add_get("/api/sessions", sessions.list_sessions)
    router.add_post("/api/sessions", sessions.create_session)
    router.add_get("/api/sessions/{session}", sessions.get_session)
    router.add_post("/api/sessions/{session}/start", sessions.start_session)
    router.add_post("/api/sessions/{session}/stop", sessions.stop_session)
    router.add_get("/api/sessions/{session}/me", sessions.get_me)
    timelock = sessions.limit_route(limits.TIMELOCK, limits.NO_TIMELOCK)
    router.add_get("/api/sessions/{session}/timelock", timelock)
    capping = sessions.limit_route(limits.CAPPING, limits.NO_CAPPING)
    router.add_get("/api/sessions/{session}/capping", capping)
    sending.add_send_routes(router)
    router.add_post("/api/sendSeen", sending.chat_action(Endpoint.SEND_SEEN, answer={}))
    router.add_post("/api/startTyping", sending.chat_action(Endpoint.START_TYPING, answer=None))
    router.add_post("/api/stopTyping", sending.chat_action(Endpoint.STOP_TYPING, answer=None))
    router.add_get("/api/contacts/check-exists", sending.check_exists)
    router.add_get("/api/{session}/new-message-id", sending.new_id)
    router.add_get("/api/{session}/lids/{lid}", chats.phone_of_lid)
    router.add_get("/api/{session}/chats/{chatId}/messages", chats.list_messages)
    router.add_get("/api/{session}/chats/{chatId}/messages/{messageId}", chats.get_message)


async def _background_work(app: web.Application) -> AsyncIterator[None]:
    # One ClientSession for every webhook delivery, closed after the background tasks stop.
    async with aiohttp.ClientSession() as http:
        app[SIMULATOR_KEY].open(http)
        yield
        await app[SIMULATOR_KEY].close()


async def _release_hangs(app: web.Application) -> None:
    # on_shutdown runs before aiohttp waits for handlers, so hanging ones must end here.
    app[SIMULATOR_KEY].release_hangs()
