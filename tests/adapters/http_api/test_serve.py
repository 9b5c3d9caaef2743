"""`waha-campaigns serve`: bad settings stop it with one line; it serves, and stops on SIGTERM."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import aiohttp
import pytest
from aiohttp import web

from adapters import collector
from adapters.bootstrap import Services, build, http_app
from adapters.cli import main
from adapters.cli import serve as serve_module
from adapters.cli.serve import ListenError, StartError, serve, with_api_token
from adapters.http_api.keys import RUNTIME
from app.ports import SendReceipt, WahaGateway
from app.settings import Settings
from app.supervisor import Supervisor
from domain.contacts import ChatId
from domain.session import SessionName
from tests.adapters.http_api.conftest import TOKEN, campaign_body, make_settings
from tests.builders import scheduled
from tests.fakes.gateway import FakeWahaGateway
from tests.fakes.system import InstantSleeper, ManualClock, SeededRandom


async def eventually(condition: Callable[[], bool], *, within: float = 10) -> bool:
    """Return whether `condition` holds within `within` seconds of real time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


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


def test_without_a_token_one_is_made_once_and_kept_beside_the_store(tmp_path: Path) -> None:
    database = tmp_path / "campaigns.sqlite3"
    settings = make_settings(
        tmp_path, campaigns_api_token=None, campaigns_database_url=f"sqlite:///{database}"
    )

    first, made = with_api_token(settings)
    second, kept = with_api_token(settings)

    token_file = tmp_path / "campaigns.sqlite3.api-token"
    assert first.campaigns_api_token is not None
    token = first.campaigns_api_token.get_secret_value()
    assert len(token) >= 40
    assert token_file.read_text().strip() == token
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert second.campaigns_api_token == first.campaigns_api_token
    assert made is not None
    assert kept is not None
    assert "made now" in made
    assert "kept" in kept
    assert token not in made + kept


def test_a_configured_token_is_kept(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)

    completed, kept = with_api_token(settings)

    assert kept is None
    assert completed is settings
    assert list(tmp_path.iterdir()) == []


def test_make_app_refuses_to_run_without_a_token(tmp_path: Path, clock: ManualClock) -> None:
    services = build(make_settings(tmp_path, campaigns_api_token=None), clock=clock)
    try:
        with pytest.raises(ValueError, match="CAMPAIGNS_API_TOKEN"):
            http_app(services)
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
    app = http_app(services, gateway=FakeWahaGateway(clock), start_supervisor=False)
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
def test_a_generated_token_is_kept_in_a_file_named_and_the_app_is_served(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    environment.chdir(tmp_path)
    environment.setenv("CAMPAIGNS_DATABASE_URL", "memory://")
    environment.setenv("CAMPAIGNS_MEDIA_DIR", str(tmp_path / "media"))
    served: list[web.Application] = []
    collected: list[tuple[int, int]] = []
    gc.unfreeze()

    async def fake_serve(
        app: web.Application, *, host: str, port: int, announce: Callable[[str], None]
    ) -> None:
        served.append(app)
        announce(f"listening on http://{host}:{port}")
        # The collector is tuned before anything runs, and the composition root left out of it.
        collected.append((gc.get_threshold()[0], gc.get_freeze_count()))

    environment.setattr(serve_module, "serve", fake_serve)

    code = main(["serve", "--host", "127.0.0.2", "--port", "8181"])

    out = capsys.readouterr().out
    assert code == 0
    assert len(served) == 1
    token = (tmp_path / "var" / "memory.api-token").read_text().strip()
    assert token not in out
    assert "the API token made now in var/memory.api-token (mode 0600" in out
    assert "listening on http://127.0.0.2:8181 (store memory://)" in out
    [(young, frozen)] = collected
    assert young == collector.YOUNG_THRESHOLD
    assert frozen > 0


async def test_a_port_in_use_is_one_clear_error(services: Services, clock: ManualClock) -> None:
    app = http_app(services, gateway=FakeWahaGateway(clock), start_supervisor=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(ListenError, match=f"cannot listen on 127.0.0.1:{port}"):
            await serve(app, host="127.0.0.1", port=port, announce=print)


async def test_a_service_that_cannot_listen_starts_nothing_and_sends_nothing(
    services: Services, clock: ManualClock
) -> None:
    gateway = FakeWahaGateway(clock)
    due = scheduled(services.campaigns, 2)  # due now: a started supervisor would send it
    app = http_app(services, gateway=gateway)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(ListenError):
            await serve(app, host="127.0.0.1", port=port, announce=print)

    assert gateway.sent == []
    assert services.campaigns.campaign(due).status == "Scheduled"


async def test_once_listening_the_supervisor_runs_due_campaigns(
    services: Services, clock: ManualClock
) -> None:
    gateway = FakeWahaGateway(clock)
    due = scheduled(services.campaigns, 2)
    stop = asyncio.Event()
    serving = asyncio.create_task(
        serve(
            http_app(services, gateway=gateway), host="127.0.0.1", port=0, announce=print, stop=stop
        )
    )

    completed = await eventually(lambda: services.campaigns.campaign(due).status == "Completed")
    stop.set()
    await asyncio.wait_for(serving, timeout=10)

    assert completed
    assert len(gateway.sent) == 2


class HeldFirstSend:
    """A gateway whose first send waits until released; the others go straight through."""

    def __init__(self, inner: FakeWahaGateway) -> None:
        self.inner = inner
        self.waiting = asyncio.Event()
        self.release = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def send_text(
        self, session: SessionName, chat_id: ChatId, text: str, *, message_id: str | None = None
    ) -> SendReceipt:
        if not self.waiting.is_set():
            self.waiting.set()
            await self.release.wait()
        return await self.inner.send_text(session, chat_id, text, message_id=message_id)


async def test_a_stop_asks_runs_to_stop_before_requests_drain(
    services: Services, clock: ManualClock
) -> None:
    gateway = FakeWahaGateway(clock)
    held = HeldFirstSend(gateway)
    app = http_app(services, gateway=cast("WahaGateway", held), start_supervisor=False)
    in_slow_request, finish_slow_request = asyncio.Event(), asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        # In flight while the service stops: the drain waits for it, and for the run.
        in_slow_request.set()
        await finish_slow_request.wait()
        await request.app[RUNTIME].supervisor.wait_for_runs()
        return web.json_response({})

    app.router.add_get("/slow", slow)
    stop, listening = asyncio.Event(), asyncio.Event()
    lines: list[str] = []

    def announce(line: str) -> None:
        lines.append(line)
        listening.set()

    serving = asyncio.create_task(
        serve(app, host="127.0.0.1", port=0, announce=announce, stop=stop)
    )
    await listening.wait()
    url = lines[0].rsplit(" ", 1)[-1]
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as session:
        async with session.post(f"{url}/campaigns", json=campaign_body(3)) as response:
            assert response.status == 201
            campaign_id = UUID((await response.json())["id"])
        await held.waiting.wait()
        slow_request = asyncio.create_task(session.get(f"{url}/slow"))
        await in_slow_request.wait()

        stop.set()
        lanes = app[RUNTIME].supervisor.lanes
        asked_in_time = await eventually(
            lambda: lanes.stop_requested(SessionName("default")), within=2
        )
        held.release.set()
        finish_slow_request.set()
        (await slow_request).release()
    await asyncio.wait_for(serving, timeout=10)

    assert asked_in_time
    # The send in flight finished; nobody else was messaged while requests drained.
    assert len(gateway.sent) == 1
    assert services.campaigns.campaign(campaign_id).next_index == 1


async def test_a_sigterm_during_start_up_stops_the_service_in_order(
    services: Services, clock: ManualClock
) -> None:
    app = http_app(services, gateway=FakeWahaGateway(clock), start_supervisor=False)
    unhandled: list[int] = []

    async def terminated_while_starting(_app: web.Application) -> None:
        os.kill(os.getpid(), signal.SIGTERM)

    app.on_startup.append(terminated_while_starting)
    # Were serve's handler not installed yet, the signal would land here (not kill pytest).
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: unhandled.append(signum))
    try:
        await asyncio.wait_for(
            serve(app, host="127.0.0.1", port=0, announce=lambda _line: None), timeout=5
        )
    finally:
        signal.signal(signal.SIGTERM, previous)

    assert unhandled == []


async def test_a_recovery_that_fails_is_a_start_error(
    services: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unusable_store(_self: Supervisor) -> None:
        raise OSError("disk I/O error")

    monkeypatch.setattr(Supervisor, "start", unusable_store)
    app = http_app(services, gateway=FakeWahaGateway(clock))

    with pytest.raises(StartError, match="disk I/O error"):
        await asyncio.wait_for(
            serve(app, host="127.0.0.1", port=0, announce=lambda _line: None), timeout=5
        )


def test_a_media_folder_that_cannot_be_written_stops_the_start(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("where the media folder's parent should be")
    environment.setenv("CAMPAIGNS_DATABASE_URL", "memory://")
    environment.setenv("CAMPAIGNS_MEDIA_DIR", str(blocker / "media"))
    served: list[web.Application] = []

    async def fake_serve(app: web.Application, **_options: Any) -> None:
        served.append(app)

    environment.setattr(serve_module, "serve", fake_serve)

    code = main(["serve"])

    assert code == 2
    assert served == []
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1
    assert "CAMPAIGNS_MEDIA_DIR" in err


def test_serve_help_lists_its_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--help"])

    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "exit status:" in out
    assert "0  stopped cleanly" in out
    assert "1  could not listen" in out
    assert "2  a bad setting" in out
