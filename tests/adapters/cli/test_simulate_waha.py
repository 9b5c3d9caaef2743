"""`simulate-waha` from the command line: it serves until stopped, or says in one line why not."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import aiohttp
import pytest

from adapters.cli import main
from adapters.cli.simulate_waha import serve_simulator
from adapters.waha_simulator import SimulatorConfig, make_simulator_app


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def test_a_port_in_use_is_one_line_and_exit_1(
    taken_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate-waha", "--port", str(taken_port)]) == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"waha-campaigns: cannot listen on 127.0.0.1:{taken_port}: ")
    assert len(captured.err.splitlines()) == 1


def test_an_address_this_machine_does_not_have_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 192.0.2.0/24 is reserved for documentation: no machine has it.
    assert main(["simulate-waha", "--host", "192.0.2.1", "--port", "3999"]) == 1

    err = capsys.readouterr().err
    assert err.startswith("waha-campaigns: cannot listen on 192.0.2.1:3999: ")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("port", ["70000", "0", "-1", "http"])
def test_a_port_outside_1_to_65535_is_a_usage_error(
    port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["simulate-waha", "--port", port])

    assert exit_.value.code == 2
    assert "argument --port: not a port from 1 to 65535" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--not-working-wait", "--starting-seconds"])
def test_a_wait_that_is_not_a_finite_number_of_seconds_is_a_usage_error(
    option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["simulate-waha", option, "inf"])

    assert exit_.value.code == 2
    assert f"argument {option}: not a number of seconds" in capsys.readouterr().err


def test_no_session_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate-waha", "--sessions", ","]) == 2
    assert capsys.readouterr().err == "waha-campaigns: --sessions names no session\n"


async def test_the_simulator_serves_until_stopped(unused_tcp_port: int) -> None:
    stop = asyncio.Event()
    announced = asyncio.Event()
    serving = asyncio.ensure_future(
        serve_simulator(
            make_simulator_app(SimulatorConfig()),
            host="127.0.0.1",
            port=unused_tcp_port,
            announce=announced.set,
            stop=stop,
        )
    )
    await asyncio.wait_for(announced.wait(), 10)

    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{unused_tcp_port}/_simulator/state") as response,
    ):
        status = response.status
    stop.set()
    await asyncio.wait_for(serving, 10)

    assert status == 200
