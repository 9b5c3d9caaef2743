"""`waha-campaigns serve`: the HTTP API, the scheduler and the runner in one process."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Coroutine

from aiohttp import web
from pydantic import SecretStr

from adapters import bootstrap, collector
from adapters.api_token import TokenFileError, kept_token
from adapters.http_api.server import start_running
from adapters.logging_setup import SecretMask, configure_logging, secrets_of
from adapters.media import FileMediaStore
from adapters.persistence import DatabaseUrlError, StoreUnavailableError, check_store, redacted
from app.settings import Settings, SettingsError, load_settings

# How long a stop waits for requests in flight; runs get the supervisor's own bound after.
REQUEST_DRAIN_SECONDS = 10.0
# No headers but the user agent: Authorization never reaches a log line.
ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tfs "%{User-Agent}i"'
log = logging.getLogger("waha_campaigns.serve")


EXIT_CODES = """\
exit status:
  0  stopped cleanly (SIGTERM or SIGINT): runs paused at a safe point, resumed at next start
  1  could not listen on the address, the event store is unusable (e.g. its PostgreSQL
     database does not exist: the line names the command that creates it), or the API
     token file cannot be written
  2  a bad setting (named on the one line printed), e.g. CAMPAIGNS_PORT, CAMPAIGNS_MEDIA_DIR,
     or a CAMPAIGNS_DATABASE_URL whose SQLite folder does not exist (./var is made)
  130  interrupted (Ctrl-C) while starting
"""


class ServeError(Exception):
    """The service could not start serving (exit 1); the message says why in one line."""


class ListenError(ServeError):
    """The address to serve on cannot be bound (in use, not ours, not permitted)."""


class StartError(ServeError):
    """The supervisor's first look at the store (recovery) failed: the store is unusable."""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `serve` and its options; each overrides its environment variable."""
    parser = subparsers.add_parser(
        "serve",
        help="run the HTTP API with the scheduler and the campaign runner",
        # Raw, for the epilog's table: the description is wrapped here instead.
        description=(
            "Serve the campaigns API and run due campaigns. Settings come from the\n"
            "environment (CAMPAIGNS_*, WAHA_*); these options override them. Without\n"
            "CAMPAIGNS_API_TOKEN, a token is generated once and kept (mode 0600) beside the\n"
            "store: sqlite:///PATH in PATH.api-token, PostgreSQL and memory:// under ./var/;\n"
            "every start reuses it, and the CLI reads it when given no token."
        ),
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    """Return settings with an API token, and where it is kept when CAMPAIGNS_API_TOKEN is unset.

    The kept token is made once (mode 0600) and reused at every start; TokenFileError if its
    file cannot be read or written.
    """
    if settings.campaigns_api_token is not None:
        return settings, None
    token, path, made = kept_token(settings.campaigns_database_url)
    how = "made now" if made else "kept"
    where = f"the API token {how} in {path} (mode 0600; the CLI here reads it from there)"
    return settings.model_copy(update={"campaigns_api_token": SecretStr(token)}), where


async def serve(
    app: web.Application,
    *,
    host: str,
    port: int,
    announce: Callable[[str], None],
    stop: asyncio.Event | None = None,
) -> None:
    """Serve `app` until SIGTERM, SIGINT or `stop`; then stop taking requests and drain.

    The port is bound before the supervisor starts: a service that cannot listen never
    recovers, schedules or sends. SIGTERM and SIGINT are handled from the very start, so a
    stop during start-up or recovery is as orderly as any. Stopping runs in order: the
    listener closes, every run is asked to stop at its next safe point, requests in flight
    finish (bounded), then the app's cleanup_ctx waits for the runs (bounded).
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    watched = (signal.SIGTERM, signal.SIGINT)
    for signum in watched:
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(
        app, shutdown_timeout=REQUEST_DRAIN_SECONDS, access_log_format=ACCESS_LOG_FORMAT
    )
    try:
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as error:
            raise ListenError(f"cannot listen on {host}:{port}: {error.strerror}") from None
        bound = runner.addresses[0] if runner.addresses else (host, port)
        announce(f"waha-campaigns API listening on http://{bound[0]}:{bound[1]}")
        await _run_until(stop, start_running(app))
    finally:
        try:
            await runner.cleanup()
        finally:
            # Only now: a second signal during the drain must not kill the process mid-send.
            for signum in watched:
                loop.remove_signal_handler(signum)


async def _run_until(stop: asyncio.Event, starting: Coroutine[object, object, None]) -> None:
    """Start the runtime and serve until `stop`; a stop during the start cuts it short."""
    if stop.is_set():  # stopped while starting up: start nothing
        starting.close()
        return
    start = asyncio.ensure_future(starting)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({start, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if start.done():
            if (error := start.exception()) is not None:
                log.error("the supervisor could not start", exc_info=error)
                raise StartError(f"the supervisor could not start: {error}") from error
            await stopped
    finally:
        # A start cut short leaves nothing half-done: what it recorded, a restart picks up.
        for task in (start, stopped):
            task.cancel()
        await asyncio.gather(start, stopped, return_exceptions=True)


def _masked(settings: Settings, error: Exception) -> str:
    text = SecretMask(secrets_of(settings))(str(error) or type(error).__name__)
    return " ".join(text.split())


def _media_problem(settings: Settings) -> str | None:
    """Return why the media folder cannot hold uploads, or None; it is created if missing."""
    folder = settings.campaigns_media_dir
    try:
        FileMediaStore(folder).check_writable()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        return (
            f"invalid setting CAMPAIGNS_MEDIA_DIR: cannot create or write {str(folder)!r}: {reason}"
        )
    return None


class _RefusedError(Exception):
    """Serving cannot start: `code` is the exit status, the message the one line to print."""

    def __init__(self, line: str, code: int) -> None:
        super().__init__(line)
        self.code = code


def _ready(args: argparse.Namespace) -> Settings:
    """Return the settings, checked, with an API token; or raise _RefusedError."""
    try:
        settings = settings_from(args)
    except SettingsError as error:
        raise _RefusedError(str(error), 2) from None
    media_problem = _media_problem(settings)
    if media_problem is not None:
        raise _RefusedError(media_problem, 2)
    try:
        check_store(settings.campaigns_database_url)
        settings, kept = with_api_token(settings)
    except DatabaseUrlError as error:
        raise _RefusedError(f"invalid setting CAMPAIGNS_DATABASE_URL: {error}", 2) from None
    except (StoreUnavailableError, TokenFileError) as error:
        raise _RefusedError(_masked(settings, error), 1) from None
    if kept is not None:
        print(f"CAMPAIGNS_API_TOKEN is not set: using {kept}", flush=True)
    return settings


def run(args: argparse.Namespace) -> int:
    """Serve until stopped; exit 2 with one line naming the bad setting, 1 if it cannot start."""
    try:
        settings = _ready(args)
    except _RefusedError as refused:
        print(f"waha-campaigns serve: {refused}", file=sys.stderr)
        return refused.code
    configure_logging(settings)
    collector.tune()
    store = redacted(settings.campaigns_database_url)
    try:
        services = bootstrap.build(settings)
    except Exception as error:  # noqa: BLE001 - any store failure at start is one line, no trace
        print(
            f"waha-campaigns serve: cannot open the store {store}: {_masked(settings, error)}",
            file=sys.stderr,
        )
        return 1
    # What the composition root built lives as long as the process: no collection scans it
    # (settled before any lane runs, so the one full collection delays no send).
    collector.settle()
    try:
        asyncio.run(
            serve(
                bootstrap.http_app(services),
                host=settings.campaigns_host,
                port=settings.campaigns_port,
                announce=lambda line: print(f"{line} (store {store})", flush=True),
            )
        )
    except ServeError as error:
        print(f"waha-campaigns serve: {_masked(settings, error)}", file=sys.stderr)
        return 1
    finally:
        services.close()
    return 0
