"""`waha-campaigns simulate-waha`: run the WAHA simulator for the demo and end-to-end tests."""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Callable

from aiohttp import web

from adapters.cli.arguments import (
    ExitCode,
    Subparsers,
    add_command,
    port_number,
    positive_int,
    seconds,
)
from adapters.cli.output import fail, reader_left
from adapters.waha_simulator import SimulatorConfig, make_simulator_app

# The start line names this many sessions at most: 500 names would bury the rest of it.
_NAMES_SHOWN = 10
# Each session costs a little memory at start: enough for any benchmark, not for a typo.
MOST_SESSIONS = 10_000


class ListenError(Exception):
    """The simulator cannot listen there: the port is in use or not ours, the host unknown."""


def add_parser(subparsers: Subparsers) -> None:
    """Add `simulate-waha` and its options."""
    parser = add_command(
        subparsers,
        "simulate-waha",
        summary="run a WAHA simulator (not a real WAHA) with controls under /_simulator",
        description=(
            "Answer like WAHA (NOWEB engine, shapes recorded from 2024.10.8, with the message "
            "ids of 2026.4.3 unless --no-message-ids) on loopback, without WhatsApp. "
            "Control it under /_simulator: statuses, schedules, faults, limits, inbound "
            "messages, the ledger and the record of sends. Runs until SIGINT or SIGTERM."
        ),
        exits={
            ExitCode.OK: "stopped by SIGINT or SIGTERM",
            ExitCode.FAILED: "cannot listen there (port in use or not permitted, unknown host)",
            ExitCode.USAGE: "usage error (e.g. a port outside 1-65535)",
            ExitCode.INTERRUPTED: "interrupted (Ctrl-C) before it was listening",
        },
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    parser.add_argument(
        "--port", type=port_number, default=3000, help="port, 1-65535 (default: 3000)"
    )
    parser.add_argument("--api-key", default=None, help="require this X-Api-Key (default: none)")
    parser.add_argument(
        "--sessions",
        nargs="+",
        default=["default"],
        help="session names, space- or comma-separated (default: default)",
    )
    parser.add_argument(
        "--session-count",
        type=positive_int,
        default=None,
        metavar="N",
        help="also create sessions session-1 … session-N, N up to 10,000 (for benchmarks)",
    )
    parser.add_argument(
        "--initial-status",
        default="WORKING",
        help="those sessions' first status (default: WORKING)",
    )
    parser.add_argument(
        "--not-working-wait",
        type=seconds,
        default=5.0,
        help="seconds a send waits for WORKING before its 422 (default: 5, as WAHA)",
    )
    parser.add_argument(
        "--starting-seconds",
        type=seconds,
        default=1.0,
        help="seconds a started session stays STARTING before WORKING (default: 1)",
    )
    parser.add_argument(
        "--webhook-url", default=None, help="POST session.status, message.ack and message here"
    )
    parser.add_argument("--webhook-hmac-key", default=None, help="sign webhooks with HMAC-SHA512")
    parser.add_argument(
        "--no-message-ids",
        dest="message_ids",
        action="store_false",
        help=(
            "answer as WAHA before 2026.4.3: no new-message-id nor message-by-id route "
            "(404 Cannot GET), and sendText ignores an id (default: as 2026.4.3+)"
        ),
    )
    parser.set_defaults(func=run)


def config_from(args: argparse.Namespace) -> SimulatorConfig:
    """Return the simulator's configuration from the parsed options."""
    named = [name for item in args.sessions for name in item.split(",") if name]
    counted = [f"session-{n}" for n in range(1, (args.session_count or 0) + 1)]
    sessions = tuple(dict.fromkeys([*named, *counted]))  # in order, each once
    return SimulatorConfig(
        api_key=args.api_key,
        sessions=sessions,
        initial_status=args.initial_status,
        not_working_wait=args.not_working_wait,
        starting_seconds=args.starting_seconds,
        webhook_url=args.webhook_url,
        webhook_hmac_key=args.webhook_hmac_key,
        message_ids=args.message_ids,
    )


async def serve_simulator(
    app: web.Application,
    *,
    host: str,
    port: int,
    announce: Callable[[], None],
    stop: asyncio.Event | None = None,
) -> None:
    """Serve `app` until SIGINT, SIGTERM or `stop`; ListenError if it cannot listen."""
    stop = stop or asyncio.Event()
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    loop = asyncio.get_running_loop()
    watched = (signal.SIGTERM, signal.SIGINT)
    try:
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as error:  # in use, not permitted, or a host name that resolves nowhere
            reason = error.strerror or str(error) or type(error).__name__
            raise ListenError(f"cannot listen on {host}:{port}: {reason}") from None
        for signum in watched:
            loop.add_signal_handler(signum, stop.set)
        announce()
        await stop.wait()
    finally:
        for signum in watched:
            loop.remove_signal_handler(signum)
        await runner.cleanup()


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; print one line once listening."""
    if not args.host.strip():
        return fail("--host is empty: give an address, e.g. 127.0.0.1", ExitCode.USAGE)
    if args.session_count is not None and args.session_count > MOST_SESSIONS:
        return fail(f"--session-count is at most {MOST_SESSIONS:,}", ExitCode.USAGE)
    config = config_from(args)
    if not config.sessions:
        return fail("--sessions names no session", ExitCode.USAGE)
    key = "X-Api-Key required" if config.api_key is not None else "no API key"
    names = ", ".join(config.sessions[:_NAMES_SHOWN])
    if len(config.sessions) > _NAMES_SHOWN:
        names += f" and {len(config.sessions) - _NAMES_SHOWN} more"
    line = (
        f"WAHA simulator (not a real WAHA) listening on http://{args.host}:{args.port} "
        f"- sessions {names}; {key}; controls under /_simulator"
    )

    def announce() -> None:
        try:
            print(line, flush=True)
        except BrokenPipeError:  # nobody reads the log any more; the simulator still serves
            reader_left()

    try:
        asyncio.run(
            serve_simulator(
                make_simulator_app(config), host=args.host, port=args.port, announce=announce
            )
        )
    except ListenError as error:
        return fail(str(error), ExitCode.FAILED)
    return ExitCode.OK
