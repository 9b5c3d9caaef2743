"""Shared fixtures: the application on an in-memory store with fake ports, and a real PostgreSQL."""

from __future__ import annotations

import gc
import os
import uuid
from collections.abc import Iterator

import pytest

from adapters.persistence import persistence_environment
from app.campaigns import CampaignsApp
from tests.fakes.system import InstantSleeper, ManualClock, SeededRandom


@pytest.fixture(autouse=True)
def _collector_as_it_was() -> Iterator[None]:
    """Undo what `serve` does to the collector (adapters/collector.py) after each test.

    Tests run `main(["serve"])` in this process: left tuned, every later test would run with
    another collector than the one it started with.
    """
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


POSTGRES_ADMIN_URL = os.environ.get(
    "CAMPAIGNS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def postgres_required() -> bool:
    """CI must exercise PostgreSQL: there a missing server is a failure, not a skip."""
    return bool(os.environ.get("CI") or os.environ.get("CAMPAIGNS_REQUIRE_POSTGRES"))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sleeper(clock: ManualClock) -> InstantSleeper:
    return InstantSleeper(clock)


@pytest.fixture
def rng() -> SeededRandom:
    return SeededRandom(0.5)


@pytest.fixture
def campaigns(clock: ManualClock) -> Iterator[CampaignsApp]:
    app = CampaignsApp(clock=clock, env=persistence_environment("memory://"))
    yield app
    app.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database of this test's own, dropped afterwards."""
    try:
        import psycopg

        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as error:  # noqa: BLE001 - any failure to connect means "no server here"
        reason = f"no PostgreSQL at {POSTGRES_ADMIN_URL}: {type(error).__name__}"
        if postgres_required():
            pytest.fail(f"{reason} (CI or CAMPAIGNS_REQUIRE_POSTGRES is set, so this fails)")
        pytest.skip(reason)
    name = f"wc_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
            yield f"{base}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
