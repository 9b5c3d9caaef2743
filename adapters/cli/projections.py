"""`projections rebuild`: drop the per-contact read model and build it again from the log."""

from __future__ import annotations

import argparse
import sys
from typing import Final
from uuid import UUID

from eventsourcing.persistence import PersistenceError

from adapters import bootstrap
from adapters.cli.arguments import (
    STORE_EXITS,
    ExitCode,
    Subparsers,
    add_command,
    database_url,
)
from adapters.cli.output import fail
from adapters.persistence import DatabaseUrlError, redacted
from app.campaigns import CampaignsApp
from app.contacts_projection import ContactsProjection
from app.read_models import ContactsView
from app.settings import DEFAULT_DATABASE_URL

_STEPS: Final = 20  # progress lines over the whole log
_CONTACT_STEP: Final = 100_000  # and within one large audience


def add_parser(subparsers: Subparsers) -> None:
    """Add `projections` and its `rebuild`."""
    parser = add_command(
        subparsers,
        "projections",
        summary="manage the read models kept from the event log",
        description="Read models are derived from the events and can always be rebuilt.",
        exits={**STORE_EXITS, ExitCode.FAILED: "the rebuild failed part way"},
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    rebuild = actions.add_parser(
        "rebuild",
        help="drop the per-contact read model and build it again from position 0",
        description=(
            "Drop the per-contact read model (GET /campaigns/{id}/contacts, acks, guardrails) "
            "and build it again from the whole event log, with progress lines on stderr. "
            "Run it with the service stopped: the service keeps the model current itself."
        ),
    )
    rebuild.add_argument(
        "--database",
        metavar="URL",
        help=(
            "the event store, sqlite:///path or postgresql://user@host/db (default: "
            f"$CAMPAIGNS_DATABASE_URL, else {DEFAULT_DATABASE_URL}); written to"
        ),
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Rebuild the read model of the store the arguments name."""
    url = database_url(args)
    try:
        campaigns = bootstrap.campaigns_app(url, create_dirs=False)
    except DatabaseUrlError as error:
        return fail(str(error), ExitCode.USAGE)
    except PersistenceError as error:
        return fail(
            f"cannot open the event store at {redacted(url)}: {error}", ExitCode.UNAVAILABLE
        )
    try:
        return _rebuild(campaigns)
    except PersistenceError as error:
        first = (str(error).splitlines() or [type(error).__name__])[0]
        return fail(f"the rebuild stopped: {first}; run it again", ExitCode.FAILED)
    finally:
        campaigns.close()


class _Progress:
    """Progress lines: a line every twentieth of the log, and within large audiences."""

    def __init__(self) -> None:
        self._shown = 0
        self._listed: dict[UUID, int] = {}

    def log(self, reached: int, head: int) -> None:
        if reached == head or reached - self._shown >= max(head // _STEPS, 1):
            self._shown = reached
            print(f"applied the log up to position {reached:,} of {head:,}", file=sys.stderr)

    def listed(self, campaign_id: UUID, listed: int) -> None:
        if listed - self._listed.get(campaign_id, 0) >= _CONTACT_STEP:
            self._listed[campaign_id] = listed
            print(f"campaign {campaign_id}: {listed:,} contacts listed", file=sys.stderr)


def _rebuild(campaigns: CampaignsApp) -> int:
    progress = _Progress()

    def projection(view: ContactsView) -> ContactsProjection:
        view.reset()
        return ContactsProjection(view, campaigns, on_listed=progress.listed)

    follower, view = bootstrap.read_model(campaigns, projection)
    print("dropped the per-contact read model; rebuilding from position 0", file=sys.stderr)
    follower.catch_up(progress=progress.log)
    print(f"rebuilt the per-contact read model: it is at position {view.position():,} of the log")
    return ExitCode.OK
