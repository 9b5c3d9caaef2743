"""`waha-campaigns serve`: bad settings stop it with one line; it serves, and stops on SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from adapters.cli import main
from adapters.cli import serve as serve_module
from adapters.cli.serve import ListenError, serve, with_api_token
from adapters.http_api.server import make_app
from app.bootstrap import Services, build
from app.settings import Settings
from tests.adapters.http_api.conftest import TOKEN, make_settings
from tests.fakes.gateway import FakeWahaGateway
from tests.fakes.system import InstantSleeper, ManualClock, SeededRandom


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(("CAMPAIGNS_", "WAHA_")):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("CAMPAIGNS_PORT", "eighty", "CAMPAIGNS_PORT"),
        ("WAHA_URL", "ftp://waha", "WAHA_URL"),
        ("CAMPAIGNS_DATABASE_URL", "mysql://db", "CAMPAIGNS_DATABASE_URL"),
        ("CAMPAIGNS_LOG_FORMAT", "xml", "CAMPAIGNS_LOG_FORMAT"),
    ],
)
def test_a_bad_setting_stops_the_start_with_one_line(
    environment: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    named: str,
) -> None:
    environment.setenv(variable, value)

    code = main(["serve"])

    assert code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1
    assert named in err


def test_a_bad_port_option_names_the_setting(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["serve", "--port", "70000"])

    assert code == 2
    assert "CAMPAIGNS_PORT" in capsys.readouterr().err


def test_a_secret_in_a_bad_setting_is_not_echoed(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv("WAHA_URL", "not-a-url-with-secret-123")

    main(["serve"])

    assert "secret-123" not in capsys.readouterr().err


def test_without_a_token_one_is_generated(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, campaigns_api_token=None)

    completed, generated = with_api_token(settings)

    assert generated is not None
    assert len(generated) >= 40
    assert completed.campaigns_api_token is not None
    assert completed.campaigns_api_token.get_secret_value() == generated


def test_a_configured_token_is_kept(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)

    completed, generated = with_api_token(settings)

    assert generated is None
    assert completed is settings


def test_make_app_refuses_to_run_without_a_token(tmp_path: Path, clock: ManualClock) -> None:
    services = build(make_settings(tmp_path, campaigns_api_token=None), clock=clock)
    try:
        with pytest.raises(ValueError, match="CAMPAIGNS_API_TOKEN"):
            make_app(services)
    finally:
        services.campaigns.close()


@pytest.fixture
def services(
    tmp_path: Path, clock: ManualClock, sleeper: InstantSleeper, rng: SeededRandom
) -> Iterator[Services]:
    settings: Settings = make_settings(tmp_path, campaigns_port=0)
    built = build(settings, clock=clock, sleeper=sleeper, rng=rng)
    yield built
    built.campaigns.close()


async def test_it_serves_until_sigterm_then_stops_cleanly(
    services: Services, clock: ManualClock
) -> None:
    app = make_app(services, gateway=FakeWahaGateway(clock), start_supervisor=False)
    lines: list[str] = []
    answered: list[int] = []
    listening = asyncio.Event()

    def announce(line: str) -> None:
        lines.append(line)
        listening.set()

    async def client() -> None:
        await listening.wait()
        url = lines[0].rsplit(" ", 1)[-1]
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{url}/healthz") as response:
                answered.append(response.status)
            async with session.get(
                f"{url}/campaigns", headers={"Authorization": f"Bearer {TOKEN}"}
            ) as response:
                answered.append(response.status)
        os.kill(os.getpid(), signal.SIGTERM)

    await asyncio.wait_for(
        asyncio.gather(serve(app, host="127.0.0.1", port=0, announce=announce), client()),
        timeout=10,
    )

    assert answered == [200, 200]
    assert lines[0].startswith("waha-campaigns API listening on http://127.0.0.1:")


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.mark.usefixtures("root_logging")
def test_a_generated_token_is_printed_once_and_the_app_is_served(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv("CAMPAIGNS_DATABASE_URL", "memory://")
    served: list[web.Application] = []

    async def fake_serve(
        app: web.Application, *, host: str, port: int, announce: Callable[[str], None]
    ) -> None:
        served.append(app)
        announce(f"listening on http://{host}:{port}")

    environment.setattr(serve_module, "serve", fake_serve)

    code = main(["serve", "--host", "127.0.0.2", "--port", "8181"])

    out = capsys.readouterr().out
    assert code == 0
    assert len(served) == 1
    token_lines = [line for line in out.splitlines() if "API token" in line]
    assert len(token_lines) == 1
    token = token_lines[0].rsplit(" ", 1)[-1]
    assert out.count(token) == 1
    assert "listening on http://127.0.0.2:8181 (store memory://)" in out


async def test_a_port_in_use_is_one_clear_error(services: Services, clock: ManualClock) -> None:
    app = make_app(services, gateway=FakeWahaGateway(clock), start_supervisor=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(ListenError, match=f"cannot listen on 127.0.0.1:{port}"):
            await serve(app, host="127.0.0.1", port=port, announce=print)
