"""`waha-campaigns serve`: the HTTP API, the scheduler and the runner in one process."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import signal
import sys
from collections.abc import Callable

from aiohttp import web
from pydantic import SecretStr

from adapters.http_api.server import make_app
from adapters.logging_setup import MASK, configure_logging, secrets_of
from adapters.persistence import DatabaseUrlError, redacted
from app.bootstrap import build
from app.settings import Settings, SettingsError, load_settings

# How long a stop waits for requests in flight; runs get the supervisor's own bound after.
REQUEST_DRAIN_SECONDS = 10.0
# No headers but the user agent: Authorization never reaches a log line.
ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tfs "%{User-Agent}i"'


class ListenError(Exception):
    """The address to serve on cannot be bound (in use, not ours, not permitted)."""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `serve` and its options; each overrides its environment variable."""
    parser = subparsers.add_parser(
        "serve",
        help="run the HTTP API with the scheduler and the campaign runner",
        description=(
            "Serve the campaigns API and run due campaigns. Settings come from the "
            "environment (CAMPAIGNS_*, WAHA_*); these options override them. Without "
            "CAMPAIGNS_API_TOKEN, a token is generated and printed once."
        ),
    )
    parser.add_argument("--host", default=None, help="address to bind (CAMPAIGNS_HOST)")
    parser.add_argument("--port", type=int, default=None, help="port (CAMPAIGNS_PORT)")
    parser.add_argument("--database", default=None, help="event store URL (CAMPAIGNS_DATABASE_URL)")
    parser.set_defaults(func=run)


def settings_from(args: argparse.Namespace) -> Settings:
    """Return the settings from the environment with the given options; SettingsError if bad."""
    overrides = {
        name: value
        for name, value in (
            ("campaigns_host", args.host),
            ("campaigns_port", args.port),
            ("campaigns_database_url", args.database),
        )
        if value is not None
    }
    return load_settings(**overrides)


def with_api_token(settings: Settings) -> tuple[Settings, str | None]:
    """Return settings with an API token, and the token when it had to be generated."""
    if settings.campaigns_api_token is not None:
        return settings, None
    token = secrets.token_urlsafe(32)
    return settings.model_copy(update={"campaigns_api_token": SecretStr(token)}), token


async def serve(
    app: web.Application,
    *,
    host: str,
    port: int,
    announce: Callable[[str], None],
    stop: asyncio.Event | None = None,
) -> None:
    """Serve `app` until SIGTERM, SIGINT or `stop`; then stop taking requests and drain.

    Cleanup runs in order: the listener closes, requests in flight finish (bounded), then
    the app's cleanup_ctx stops the supervisor, which lets sends in flight finish (bounded).
    """
    stop = stop or asyncio.Event()
    runner = web.AppRunner(
        app, shutdown_timeout=REQUEST_DRAIN_SECONDS, access_log_format=ACCESS_LOG_FORMAT
    )
    await runner.setup()
    loop = asyncio.get_running_loop()
    watched = (signal.SIGTERM, signal.SIGINT)
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as error:
            raise ListenError(f"cannot listen on {host}:{port}: {error.strerror}") from None
        for signum in watched:
            loop.add_signal_handler(signum, stop.set)
        bound = runner.addresses[0] if runner.addresses else (host, port)
        announce(f"waha-campaigns API listening on http://{bound[0]}:{bound[1]}")
        await stop.wait()
    finally:
        for signum in watched:
            loop.remove_signal_handler(signum)
        await runner.cleanup()


def _masked(settings: Settings, error: Exception) -> str:
    text = str(error) or type(error).__name__
    for secret in secrets_of(settings):
        text = text.replace(secret, MASK)
    return " ".join(text.split())


def run(args: argparse.Namespace) -> int:
    """Serve until stopped; exit 2 with one line naming the bad setting."""
    try:
        settings = settings_from(args)
    except SettingsError as error:
        print(f"waha-campaigns serve: {error}", file=sys.stderr)
        return 2
    settings, generated = with_api_token(settings)
    if generated is not None:
        print(
            f"CAMPAIGNS_API_TOKEN is not set; this run's API token (shown once): {generated}",
            flush=True,
        )
    configure_logging(settings)
    store = redacted(settings.campaigns_database_url)
    try:
        services = build(settings)
    except DatabaseUrlError as error:
        print(
            f"waha-campaigns serve: invalid setting CAMPAIGNS_DATABASE_URL: {error}",
            file=sys.stderr,
        )
        return 2
    except Exception as error:  # noqa: BLE001 - any store failure at start is one line, no trace
        print(
            f"waha-campaigns serve: cannot open the store {store}: {_masked(settings, error)}",
            file=sys.stderr,
        )
        return 1
    try:
        asyncio.run(
            serve(
                make_app(services),
                host=settings.campaigns_host,
                port=settings.campaigns_port,
                announce=lambda line: print(f"{line} (store {store})", flush=True),
            )
        )
    except ListenError as error:
        print(f"waha-campaigns serve: {error}", file=sys.stderr)
        return 1
    finally:
        services.campaigns.close()
    return 0
