"""Fixtures for the CLI: a SQLite store written through the app, and a fake of the service."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpServer

from adapters.cli import main
from adapters.persistence import persistence_environment
from app.campaigns import CampaignsApp
from tests.adapters.cli.fake_service import FakeService
from tests.fakes.system import ManualClock


@dataclass(frozen=True)
class SqliteStore:
    """A store file, its URL, and a writable app on it standing in for the service."""

    path: Path
    url: str
    app: CampaignsApp
    clock: ManualClock


@pytest.fixture
def store(tmp_path: Path, clock: ManualClock) -> Iterator[SqliteStore]:
    path = tmp_path / "campaigns.sqlite3"
    url = f"sqlite:///{path}"
    app = CampaignsApp(clock=clock, env=persistence_environment(url))
    yield SqliteStore(path, url, app, clock)
    app.close()


@dataclass(frozen=True)
class Service:
    """The fake service and its URL."""

    fake: FakeService
    url: str


@pytest.fixture
async def service(aiohttp_server: AiohttpServer) -> Service:
    fake = FakeService()
    server = await aiohttp_server(fake.app())
    return Service(fake, str(server.make_url("")).rstrip("/"))


async def cli(*argv: str) -> int:
    """Run main() in a worker thread: it runs its own event loop, as from a shell."""
    return await asyncio.to_thread(main, list(argv))
