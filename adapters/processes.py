"""Our own commands as child processes on loopback: for the demo, e2e tests and benchmarks."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from app.ports import Clock, Sleeper

_COMMAND = (sys.executable, "-c", "import sys; from adapters.cli import main; sys.exit(main())")


class ProcessStartError(RuntimeError):
    """A child process exited or did not answer in time; the message carries its output."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ChildProcess:
    """A running `waha-campaigns` subcommand."""

    process: asyncio.subprocess.Process
    url: str
    log_path: Path

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to tidy up, as in a crash."""
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()

    def terminate(self) -> None:
        """SIGTERM: ask for a graceful stop."""
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)

    async def wait(self, timeout: float = 30.0) -> int:  # noqa: ASYNC109 - kill after it
        """Wait for the exit and return its code; SIGKILL if it takes longer than `timeout`."""
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.kill()
            return await self.process.wait()

    def output(self) -> str:
        """Return what the process wrote so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


async def start(
    args: Sequence[str],
    *,
    port: int,
    ready_path: str,
    log_path: Path,
    clock: Clock,
    sleeper: Sleeper,
    env: Mapping[str, str] | None = None,
    ready_within: float = 30.0,
    headers: Mapping[str, str] | None = None,
) -> ChildProcess:
    """Start `waha-campaigns ARGS` and wait until GET ready_path answers below 500."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    process = await asyncio.create_subprocess_exec(
        *_COMMAND,
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    log.close()
    child = ChildProcess(process, f"http://127.0.0.1:{port}", log_path)
    await _wait_ready(
        child,
        ready_path,
        ready_within=ready_within,
        headers=headers or {},
        clock=clock,
        sleeper=sleeper,
    )
    return child


async def _wait_ready(
    child: ChildProcess,
    path: str,
    *,
    ready_within: float,
    headers: Mapping[str, str],
    clock: Clock,
    sleeper: Sleeper,
) -> None:
    deadline = clock.now().timestamp() + ready_within
    async with aiohttp.ClientSession() as session:
        while clock.now().timestamp() < deadline:
            if child.process.returncode is not None:
                code = child.process.returncode
                raise ProcessStartError(f"exited with {code}:\n{child.output()}")
            try:
                async with session.get(child.url + path, headers=headers) as response:
                    if response.status < 500:  # noqa: PLR2004 - any answer means it listens
                        return
            except aiohttp.ClientError:
                pass
            await sleeper.sleep(0.05)
    child.kill()
    raise ProcessStartError(
        f"no answer on {child.url}{path} within {ready_within} s:\n{child.output()}"
    )


@contextlib.asynccontextmanager
async def simulator(
    log_path: Path, *extra: str, clock: Clock, sleeper: Sleeper, port: int | None = None
) -> AsyncIterator[ChildProcess]:
    """Run `waha-campaigns simulate-waha` on loopback for the duration of the block."""
    port = port or free_port()
    child = await start(
        ["simulate-waha", "--host", "127.0.0.1", "--port", str(port), *extra],
        port=port,
        ready_path="/_simulator/state",
        log_path=log_path,
        clock=clock,
        sleeper=sleeper,
    )
    try:
        yield child
    finally:
        child.terminate()
        await child.wait(10)
