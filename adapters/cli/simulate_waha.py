"""`waha-campaigns simulate-waha`: run the WAHA simulator for the demo and end-to-end tests."""

from __future__ import annotations

import argparse

from aiohttp import web

from adapters.waha.simulator import SimulatorConfig, make_simulator_app


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `simulate-waha` and its options."""
    parser = subparsers.add_parser(
        "simulate-waha",
        help="run a WAHA simulator (not a real WAHA) with controls under /_simulator",
        description=(
            "Answer like WAHA 2024.10.8 (NOWEB engine) on loopback, without WhatsApp. "
            "Control it under /_simulator: statuses, schedules, faults, the ledger."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--api-key", default=None, help="require this X-Api-Key (default: none)")
    parser.add_argument(
        "--sessions",
        nargs="+",
        default=["default"],
        help="session names, space- or comma-separated (default: default)",
    )
    parser.add_argument(
        "--initial-status",
        default="WORKING",
        help="those sessions' first status (default: WORKING)",
    )
    parser.add_argument(
        "--not-working-wait",
        type=float,
        default=5.0,
        help="seconds a send waits for WORKING before its 422 (default: 5, as WAHA)",
    )
    parser.add_argument(
        "--starting-seconds",
        type=float,
        default=1.0,
        help="seconds a started session stays STARTING before WORKING (default: 1)",
    )
    parser.add_argument(
        "--webhook-url", default=None, help="POST session.status and message.ack here"
    )
    parser.add_argument("--webhook-hmac-key", default=None, help="sign webhooks with HMAC-SHA512")
    parser.set_defaults(func=run)


def config_from(args: argparse.Namespace) -> SimulatorConfig:
    """Return the simulator's configuration from the parsed options."""
    sessions = tuple(name for item in args.sessions for name in item.split(",") if name)
    return SimulatorConfig(
        api_key=args.api_key,
        sessions=sessions,
        initial_status=args.initial_status,
        not_working_wait=args.not_working_wait,
        starting_seconds=args.starting_seconds,
        webhook_url=args.webhook_url,
        webhook_hmac_key=args.webhook_hmac_key,
    )


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; print one line once listening."""
    config = config_from(args)
    key = "X-Api-Key required" if config.api_key is not None else "no API key"
    line = (
        f"WAHA simulator (not a real WAHA) listening on http://{args.host}:{args.port} "
        f"- sessions {', '.join(config.sessions)}; {key}; controls under /_simulator"
    )
    web.run_app(
        make_simulator_app(config),
        host=args.host,
        port=args.port,
        print=lambda _banner: print(line, flush=True),
        access_log=None,
    )
    return 0
