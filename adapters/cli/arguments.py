"""Options and exit codes the subcommands share, so every command speaks alike."""

from __future__ import annotations

import argparse
import math
import os
import textwrap
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import IntEnum
from typing import Final, TypeAlias
from uuid import UUID

from adapters.api_token import read_token, token_file
from app.settings import DEFAULT_DATABASE_URL

# Quoted: argparse's class is generic only to type checkers.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"  # noqa: SLF001
DEFAULT_SERVICE_URL: Final = "http://127.0.0.1:8080"
HELP_WIDTH: Final = 88
# The stores keep versions as 64-bit integers; a larger number cannot even be asked for.
LARGEST_WHOLE: Final = 2**63 - 1


class ExitCode(IntEnum):
    """What a command's exit status means; each command's help lists the ones it uses."""

    OK = 0
    FAILED = 1
    USAGE = 2
    UNAVAILABLE = 3
    NOT_FOUND = 4
    INTERRUPTED = 130


# Every command: the shell's convention for Ctrl-C (128 + SIGINT).
_INTERRUPTED: Final = "interrupted (Ctrl-C)"

# The meanings shared by most commands; a command adds or overrides its own.
STORE_EXITS: Final = {
    ExitCode.OK: "done",
    ExitCode.USAGE: "usage or input error",
    ExitCode.UNAVAILABLE: "the database does not exist or cannot be read",
    ExitCode.NOT_FOUND: "no campaign has that id",
}
SERVICE_EXITS: Final = {
    ExitCode.OK: "done",
    ExitCode.USAGE: (
        "usage or input error, no API token or a refused one, or a request the service "
        "refused (e.g. 409)"
    ),
    ExitCode.UNAVAILABLE: "the service is unreachable or failed",
    ExitCode.NOT_FOUND: "no campaign has that id",
}


def add_command(
    subparsers: Subparsers,
    name: str,
    *,
    summary: str,
    description: str,
    exits: Mapping[ExitCode, str],
) -> argparse.ArgumentParser:
    """Add a subcommand whose help ends with its exit codes (130, interrupted, for all)."""
    every = {ExitCode.INTERRUPTED: _INTERRUPTED, **exits}
    lines = [f"  {int(code):<3}  {meaning}" for code, meaning in sorted(every.items())]
    return subparsers.add_parser(
        name,
        help=summary,
        description=textwrap.fill(description, HELP_WIDTH),
        epilog="exit codes:\n" + "\n".join(lines),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def campaign_id(text: str) -> UUID:
    """Parse a campaign id for argparse."""
    try:
        return UUID(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a campaign id: {_shortened(text)!r}") from None


def positive_int(text: str) -> int:
    """Parse a whole number from 1 to LARGEST_WHOLE for argparse."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= LARGEST_WHOLE:
        raise argparse.ArgumentTypeError(
            f"not a whole number from 1 to {LARGEST_WHOLE}: {_shortened(text)!r}"
        )
    return value


def seconds(text: str) -> float:
    """Parse a finite number of seconds, 0 or more, for argparse."""
    return _seconds(text, above_zero=False)


def positive_seconds(text: str) -> float:
    """Parse a finite number of seconds above 0 for argparse."""
    return _seconds(text, above_zero=True)


def _seconds(text: str, *, above_zero: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (above_zero and value == 0):
        least = "above 0" if above_zero else "0 or more"
        raise argparse.ArgumentTypeError(f"not a number of seconds ({least}): {_shortened(text)!r}")
    return value


def port_number(text: str) -> int:
    """Parse a TCP port, 1 to 65535, for argparse."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 65535:  # noqa: PLR2004 - the largest TCP port
        raise argparse.ArgumentTypeError(f"not a port from 1 to 65535: {_shortened(text)!r}")
    return value


def _shortened(text: str, limit: int = 40) -> str:
    # An error line quotes what was typed, but never a screenful of it.
    return text if len(text) <= limit else text[: limit - 1] + "…"


def moment(text: str) -> datetime:
    """Parse an ISO 8601 time for argparse; a time without an offset is UTC."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 time: {_shortened(text)!r} (e.g. 2026-12-01T09:30:00+01:00)"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """Add --json: output for programs instead of people."""
    parser.add_argument(
        "--json", action="store_true", help="print JSON for programs instead of a table"
    )


def add_database_option(parser: argparse.ArgumentParser) -> None:
    """Add --database, read-only, defaulting to the service's own setting."""
    parser.add_argument(
        "--database",
        metavar="URL",
        help=(
            "the event store, sqlite:///path or postgresql://user@host/db (default: "
            f"$CAMPAIGNS_DATABASE_URL, else {DEFAULT_DATABASE_URL}); opened read-only"
        ),
    )


def database_url(args: argparse.Namespace) -> str:
    """Return the store's URL from --database, the environment or the service's default."""
    given: str | None = args.database
    return given or os.environ.get("CAMPAIGNS_DATABASE_URL") or DEFAULT_DATABASE_URL


def add_service_options(parser: argparse.ArgumentParser) -> None:
    """Add --url, --token and --timeout for commands that talk to a running service."""
    parser.add_argument(
        "--url",
        help=f"the service (default: $CAMPAIGNS_URL, else {DEFAULT_SERVICE_URL})",
    )
    parser.add_argument(
        "--token",
        help=(
            "the API token (default: $CAMPAIGNS_API_TOKEN, else the token `serve` generated "
            "and keeps beside the store of $CAMPAIGNS_DATABASE_URL); never printed"
        ),
    )
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=30.0,
        metavar="SECONDS",
        help="give up on a request after this long (default: 30)",
    )


def service_url(args: argparse.Namespace) -> str:
    """Return the service's base URL from --url or the environment."""
    given: str | None = args.url
    return (given or os.environ.get("CAMPAIGNS_URL") or DEFAULT_SERVICE_URL).rstrip("/")


def service_token(args: argparse.Namespace) -> str | None:
    """Return the API token from --token, the environment, or the file `serve` keeps it in.

    `serve` keeps the token it generated beside the store of CAMPAIGNS_DATABASE_URL: on the
    same machine, from the same folder, with the same setting, the CLI finds it there.
    """
    given: str | None = args.token
    if given:
        return given
    from_environment = os.environ.get("CAMPAIGNS_API_TOKEN")
    if from_environment:
        return from_environment
    store = os.environ.get("CAMPAIGNS_DATABASE_URL") or DEFAULT_DATABASE_URL
    return read_token(token_file(store))
