"""`retry`: send a campaign's message again to its failed (and, if asked, in-doubt) contacts."""

from __future__ import annotations

import argparse

from adapters.cli.arguments import (
    SERVICE_EXITS,
    ExitCode,
    Subparsers,
    add_command,
    add_json_option,
    add_service_options,
    campaign_id,
)
from adapters.cli.output import print_json
from adapters.cli.service_client import ServiceClient, run_with_service


def add_parser(subparsers: Subparsers) -> None:
    """Add `retry`."""
    parser = add_command(
        subparsers,
        "retry",
        summary="send the message again to a campaign's failed contacts, as a new campaign",
        description=(
            "Schedule a new campaign, starting now, of the contacts whose send failed (with "
            "--include-in-doubt, also those whose outcome is in doubt: they may have received "
            "it, so they may get it twice). The campaign must be Paused, Completed or "
            "Cancelled: while it runs its outcomes still change. Each campaign names the "
            "other (retry_of, retried_as); a campaign is retried once, and the same retry "
            "asked again prints the same campaign. Prints the new campaign's id."
        ),
        exits={
            **SERVICE_EXITS,
            ExitCode.USAGE: (
                "usage or input error: the campaign is still Scheduled or Running, was retried "
                "with another choice, or has no such contacts"
            ),
        },
    )
    parser.add_argument("id", type=campaign_id, metavar="ID")
    parser.add_argument(
        "--include-in-doubt",
        action="store_true",
        help="also contacts whose outcome is in doubt (they may get the message twice)",
    )
    add_json_option(parser)
    add_service_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Ask the service for the retry; print the new campaign's id (or its view as JSON)."""

    async def retry(client: ServiceClient) -> int:
        body = {"outcomes": ["failed"], "include_in_doubt": args.include_in_doubt}
        view = await client.retry_campaign(args.id, body)
        if args.json:
            print_json(view)
        else:
            print(view.get("id"))
        return ExitCode.OK

    return run_with_service(args, retry)
