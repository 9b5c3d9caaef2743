"""make_app: the aiohttp application over the services, with the runtime in its cleanup_ctx."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from adapters.http_api.auth import bearer_auth
from adapters.http_api.errors import problem_middleware
from adapters.http_api.keys import METRICS, OPENAPI, RUNTIME, SERVICES, VIEW_CACHE
from adapters.http_api.metrics import ApiMetrics
from adapters.http_api.openapi import openapi_document
from adapters.http_api.routes import ENDPOINTS, PUBLIC_ROUTES, add_routes
from adapters.http_api.uploads import MULTIPART_OVERHEAD
from adapters.http_api.view_cache import ViewCache
from adapters.http_api.webhooks import SEEN_WEBHOOKS, SeenWebhooks
from app.bootstrap import Services, running
from app.ports import WahaGateway
from app.supervisor import SupervisorSettings

log = logging.getLogger("waha_campaigns.http")


def make_app(
    services: Services,
    *,
    gateway: WahaGateway | None = None,
    supervisor_settings: SupervisorSettings | None = None,
    start_supervisor: bool = True,
) -> web.Application:
    """Return the API over `services`; starting it starts the runtime, stopping it drains runs.

    The runtime (WAHA's client unless `gateway` is given, the runner, the supervisor) lives in
    the app's cleanup_ctx, with every WAHA call timed for /metrics. The caller keeps owning
    `services` and closes them after the app has stopped. Raises ValueError without an API
    token: `serve` generates one when CAMPAIGNS_API_TOKEN is unset.
    """
    settings = services.settings
    token = settings.campaigns_api_token
    if token is None:
        raise ValueError("CAMPAIGNS_API_TOKEN is not set; `serve` generates one when it is unset")
    metrics = ApiMetrics(services.campaigns)
    app = web.Application(
        client_max_size=settings.campaigns_max_upload_bytes + MULTIPART_OVERHEAD,
        # Outermost first: count what the client got, after problems are rendered.
        middlewares=[metrics.middleware, problem_middleware, bearer_auth(token, PUBLIC_ROUTES)],
    )
    app[SERVICES] = services
    app[METRICS] = metrics
    app[SEEN_WEBHOOKS] = SeenWebhooks()
    app[OPENAPI] = openapi_document(ENDPOINTS)
    app[VIEW_CACHE] = ViewCache(services.campaigns)
    add_routes(app)

    async def runtime(app: web.Application) -> AsyncIterator[None]:
        async with running(
            services,
            gateway=gateway,
            supervisor_settings=supervisor_settings,
            start_supervisor=start_supervisor,
            decorate_gateway=metrics.timed,
        ) as started:
            app[RUNTIME] = started
            # The watcher runs with the supervisor: both loop on the runtime's sleeper.
            watcher = (
                asyncio.create_task(app[VIEW_CACHE].watch_store(services.sleeper))
                if start_supervisor
                else None
            )
            try:
                yield
            finally:
                if watcher is not None:
                    watcher.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await watcher

    app.cleanup_ctx.append(runtime)
    if settings.waha_webhook_hmac_key is None:
        log.warning("WAHA_WEBHOOK_HMAC_KEY is not set: webhooks are accepted unsigned")
    return app
