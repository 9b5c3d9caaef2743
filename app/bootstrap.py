"""The composition root: the one place that wires adapters into the application."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta

import aiohttp

from adapters.media import FileMediaStore
from adapters.persistence import persistence_environment
from adapters.system import AsyncioSleeper, SystemClock, SystemRandom
from adapters.waha.client import AiohttpWahaGateway
from app.campaigns import CampaignsApp
from app.deliveries import DeliveryTracker
from app.ports import Clock, RandomSource, Sleeper, WahaGateway
from app.runner import CampaignRunner, RunnerPorts
from app.settings import Settings
from app.supervisor import Supervisor, SupervisorSettings


@dataclass(frozen=True)
class Services:
    """Everything a process needs that does not need an event loop, built once."""

    settings: Settings
    campaigns: CampaignsApp
    media: FileMediaStore
    deliveries: DeliveryTracker
    clock: Clock
    sleeper: Sleeper
    rng: RandomSource


@dataclass(frozen=True)
class Runtime:
    """The services plus what lives on the event loop: WAHA's client, the runner, the supervisor."""

    services: Services
    gateway: WahaGateway
    runner: CampaignRunner
    supervisor: Supervisor


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    sleeper: Sleeper | None = None,
    rng: RandomSource | None = None,
    create_dirs: bool = True,
) -> Services:
    """Return the services for `settings`, with real clock, sleeper and chance unless given."""
    clock = clock or SystemClock()
    campaigns = CampaignsApp(
        clock=clock,
        env=persistence_environment(settings.campaigns_database_url, create_dirs=create_dirs),
        default_region=settings.campaigns_default_region,
        snapshot_interval=settings.campaigns_snapshot_interval,
    )
    return Services(
        settings=settings,
        campaigns=campaigns,
        media=FileMediaStore(settings.campaigns_media_dir),
        deliveries=DeliveryTracker(campaigns),
        clock=clock,
        sleeper=sleeper or AsyncioSleeper(),
        rng=rng or SystemRandom(),
    )


@contextlib.asynccontextmanager
async def running(
    services: Services,
    *,
    gateway: WahaGateway | None = None,
    supervisor_settings: SupervisorSettings | None = None,
    start_supervisor: bool = True,
    decorate_gateway: Callable[[WahaGateway], WahaGateway] | None = None,
) -> AsyncIterator[Runtime]:
    """Run the runtime on the current loop; on exit, stop runs safely and close WAHA's client.

    `decorate_gateway` wraps the gateway (given or built) before anything uses it, e.g. to time
    every WAHA call for the metrics.
    """
    settings = services.settings
    async with contextlib.AsyncExitStack() as stack:
        if gateway is None:
            # One ClientSession per process: its connection pool is shared by every run.
            session = await stack.enter_async_context(aiohttp.ClientSession())
            gateway = AiohttpWahaGateway(
                session,
                base_url=settings.waha_url,
                api_key=settings.waha_api_key,
                clock=services.clock,
                timeout=aiohttp.ClientTimeout(
                    total=settings.waha_timeout_seconds,
                    connect=settings.waha_connect_timeout_seconds,
                ),
            )
        if decorate_gateway is not None:
            gateway = decorate_gateway(gateway)
        runner = CampaignRunner(
            RunnerPorts(
                services.campaigns,
                gateway,
                services.media,
                services.clock,
                services.sleeper,
                services.rng,
            )
        )
        supervisor = Supervisor(
            services.campaigns,
            runner,
            gateway,
            clock=services.clock,
            sleeper=services.sleeper,
            settings=supervisor_settings
            or SupervisorSettings(
                waha_timeout_seconds=settings.waha_timeout_seconds,
                takeover_after=timedelta(seconds=settings.campaigns_takeover_after_seconds),
            ),
        )
        if start_supervisor:
            await supervisor.start()
        try:
            yield Runtime(services, gateway, runner, supervisor)
        finally:
            await supervisor.shutdown()
