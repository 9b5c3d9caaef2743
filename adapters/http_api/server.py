"""make_app: the aiohttp application over what the composition root gives it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

from aiohttp import web

from adapters.http_api.auth import bearer_auth
from adapters.http_api.context import ApiContext, RuntimeFactory
from adapters.http_api.errors import UPLOAD_LIMIT, problem_middleware
from adapters.http_api.keys import CONTEXT, OPENAPI, RUNTIME
from adapters.http_api.openapi import openapi_document
from adapters.http_api.routes import ENDPOINTS, PUBLIC_ROUTES, add_routes
from adapters.http_api.uploads import MULTIPART_OVERHEAD
from adapters.http_api.webhooks import PRUNING, WebhookPruning

log = logging.getLogger("waha_campaigns.http")


@dataclass
class _Deferred:
    """What make_app leaves for `start_running`: the supervisor starts once the app listens."""

    start_supervisor: bool
    started: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


DEFERRED = web.AppKey("deferred", _Deferred)


@dataclass(frozen=True)
class Mounted:
    """Something served beside the API by the same app (the operator console).

    `add` registers its routes on the app before it starts. `public_routes` names the routes
    the API's bearer token does not guard, because they guard themselves (the console signs
    people in with the token once, then keeps a session of its own).
    """

    add: Callable[[web.Application], None]
    public_routes: frozenset[str] = frozenset()


async def start_running(app: web.Application) -> None:
    """Start the supervisor (its recovery, then its loop) and the watcher (the log follower).

    Call it once the app listens (after `site.start()`), so that a service that cannot bind
    its port never recovers, schedules or sends anything. Does nothing for an app made with
    `start_supervisor=False`, or when called again.
    """
    deferred = app[DEFERRED]
    if not deferred.start_supervisor or deferred.started:
        return
    deferred.started = True
    context = app[CONTEXT]
    # The view cache's watcher runs with the supervisor, on the context's sleeper: it drives
    # the log follower (every read model's, and the views' invalidations: one reader, one loop).
    deferred.tasks.append(asyncio.create_task(context.view_cache.watch_store(context.sleeper)))
    notifications = app[RUNTIME].notifications
    if notifications is not None:
        deferred.tasks.append(asyncio.create_task(notifications.run()))
    await app[RUNTIME].supervisor.start()


async def _stop_runs(app: web.Application) -> None:
    # on_shutdown runs before aiohttp drains the requests in flight: runs stop at their next
    # safe point meanwhile, instead of sending on until the drain is over.
    runtime = app.get(RUNTIME)
    if runtime is not None:
        runtime.supervisor.request_shutdown()


def make_app(
    context: ApiContext,
    runtime: RuntimeFactory,
    *,
    start_supervisor: bool = True,
    mounted: Sequence[Mounted] = (),
) -> web.Application:
    """Return the API over `context`; starting it enters `runtime`, stopping it drains runs.

    The runtime (WAHA's client, the runner, the supervisor) lives in the app's cleanup_ctx.
    The supervisor does not start with the app: with `start_supervisor`, `start_running(app)`
    starts it once the app listens. A stop asks every run to stop at its next safe point
    before requests drain, then waits for the runs (bounded). The caller keeps owning the
    context's store and closes it after the app has stopped. Raises ValueError without an API
    token: `serve` generates one when CAMPAIGNS_API_TOKEN is unset. Each of `mounted` adds its
    routes after the API's; the bearer token guards them unless they are named public.
    """
    settings = context.settings
    token = settings.campaigns_api_token
    if token is None:
        raise ValueError("CAMPAIGNS_API_TOKEN is not set; `serve` generates one when it is unset")
    app = web.Application(
        client_max_size=settings.campaigns_max_upload_bytes + MULTIPART_OVERHEAD,
        # Outermost first: count what the client got, after problems are rendered.
        middlewares=[
            context.metrics.middleware,
            problem_middleware,
            bearer_auth(token, PUBLIC_ROUTES.union(*(m.public_routes for m in mounted))),
        ],
    )
    app[CONTEXT] = context
    app[UPLOAD_LIMIT] = settings.campaigns_max_upload_bytes
    app[PRUNING] = WebhookPruning()
    app[OPENAPI] = openapi_document(ENDPOINTS)
    app[DEFERRED] = deferred = _Deferred(start_supervisor)
    add_routes(app)
    for extra in mounted:
        extra.add(app)

    async def run_runtime(app: web.Application) -> AsyncIterator[None]:
        async with runtime() as started:
            app[RUNTIME] = started
            try:
                yield
            finally:
                for task in deferred.tasks:
                    task.cancel()
                for task in deferred.tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    app.cleanup_ctx.append(run_runtime)
    app.on_shutdown.append(_stop_runs)
    if settings.waha_webhook_hmac_key is None:
        log.warning("WAHA_WEBHOOK_HMAC_KEY is not set: webhooks are accepted unsigned")
    return app
