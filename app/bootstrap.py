"""The composition root: the one place that wires adapters into the application."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.persistence import persistence_environment
from adapters.system import AsyncioSleeper, SystemClock, SystemRandom
from app.campaigns import CampaignsApp
from app.ports import Clock, RandomSource, Sleeper
from app.settings import Settings


@dataclass(frozen=True)
class Services:
    """Everything a process needs, built once."""

    settings: Settings
    campaigns: CampaignsApp
    clock: Clock
    sleeper: Sleeper
    rng: RandomSource


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
        clock=clock,
        sleeper=sleeper or AsyncioSleeper(),
        rng=rng or SystemRandom(),
    )
