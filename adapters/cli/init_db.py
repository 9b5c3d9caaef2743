"""`init-db`: create every table of the store once, before one or many services start."""

from __future__ import annotations

import argparse

from eventsourcing.persistence import PersistenceError

from adapters import bootstrap
from adapters.cli.arguments import ExitCode, Subparsers, add_command, database_url
from adapters.cli.output import fail
from adapters.persistence import DatabaseUrlError, StoreUnavailableError, check_store, redacted


def add_parser(subparsers: Subparsers) -> None:
    """Add `init-db`."""
    parser = add_command(
        subparsers,
        "init-db",
        summary="create the store's tables once (before starting several services together)",
        description=(
            "Create every table the service keeps (events, snapshots, the per-contact read "
            "model, webhooks seen, the lanes' leases) if missing, and change nothing else. "
            "Safe to run again, and while services run. On PostgreSQL concurrent creations "
            "take turns; services started together after it find everything in place."
        ),
        exits={
            ExitCode.OK: "the tables exist",
            ExitCode.USAGE: "a bad database URL",
            ExitCode.UNAVAILABLE: "the database cannot be reached or does not exist",
        },
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        help="the store, sqlite:///path or postgresql://user@host/db (default: "
        "$CAMPAIGNS_DATABASE_URL, else the service's default)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Create the tables and say which."""
    url = database_url(args)
    try:
        check_store(url)
        made = bootstrap.init_store(url)
    except DatabaseUrlError as error:
        return fail(f"invalid database URL: {error}", ExitCode.USAGE)
    except StoreUnavailableError as error:
        return fail(str(error), ExitCode.UNAVAILABLE)
    except PersistenceError as error:
        first = (str(error).splitlines() or [type(error).__name__])[0]
        return fail(f"cannot create the tables at {redacted(url)}: {first}", ExitCode.UNAVAILABLE)
    print(f"{redacted(url)}: {', '.join(made)} ready")
    return ExitCode.OK
