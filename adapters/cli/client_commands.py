"""`list`, `show`, `pause`, `resume` and `cancel`: campaigns through the running service."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from adapters.cli.arguments import (
    SERVICE_EXITS,
    ExitCode,
    Subparsers,
    add_command,
    add_json_option,
    add_service_options,
    campaign_id,
    positive_int,
)
from adapters.cli.output import (
    Style,
    describe_campaign,
    handled,
    next_contact,
    print_json,
    render_table,
    status_colour,
    stop_reason,
    when,
)
from adapters.cli.service_client import ServiceClient, ServiceError, run_with_service
from domain.lifecycle import CampaignStatus

_DONE = {"pause": "paused", "resume": "resumed", "cancel": "cancelled"}


def add_parser(subparsers: Subparsers) -> None:
    """Add `list`, `show`, `pause`, `resume` and `cancel`."""
    listing = add_command(
        subparsers,
        "list",
        summary="list campaigns, oldest first",
        description="List the service's campaigns with their progress, a page at a time.",
        exits={k: v for k, v in SERVICE_EXITS.items() if k != ExitCode.NOT_FOUND},
    )
    listing.add_argument(
        "--status", choices=[s.value for s in CampaignStatus], help="only campaigns in it"
    )
    listing.add_argument("--limit", type=positive_int, help="at most this many per page")
    listing.add_argument("--cursor", help="the page after this cursor (printed by a listing)")
    listing.add_argument("--all", action="store_true", help="follow every page to the end")
    add_json_option(listing)
    add_service_options(listing)
    listing.set_defaults(func=run_list)

    show = add_command(
        subparsers,
        "show",
        summary="show one campaign",
        description="Show a campaign's status, progress and, if it stopped, why.",
        exits=SERVICE_EXITS,
    )
    show.add_argument("id", type=campaign_id, metavar="ID")
    add_json_option(show)
    add_service_options(show)
    show.set_defaults(func=run_show)

    for command, summary in (
        ("pause", "pause a running campaign at the next contact"),
        ("resume", "resume a paused campaign where it paused"),
        ("cancel", "cancel a campaign for good: contacts not yet handled are never messaged"),
    ):
        parser = add_command(
            subparsers,
            command,
            summary=summary,
            description=summary[0].upper() + summary[1:] + ".",
            exits=SERVICE_EXITS,
        )
        parser.add_argument("id", type=campaign_id, metavar="ID")
        if command == "cancel":
            parser.add_argument("--reason", help="why, for the audit trail")
        add_json_option(parser)
        add_service_options(parser)
        parser.set_defaults(func=run_command, command_name=command)


def run_list(args: argparse.Namespace) -> int:
    """Print campaigns as a table, or JSON."""

    async def listing(client: ServiceClient) -> int:
        items: list[dict[str, Any]] = []
        cursor, seen = args.cursor, {args.cursor}
        while True:
            page = await client.campaigns(status=args.status, limit=args.limit, cursor=cursor)
            listed = page.get("items")
            if isinstance(listed, list):
                items.extend(view for view in listed if isinstance(view, dict))
            cursor = page.get("next_cursor")
            if cursor is None or not args.all:
                break
            if cursor in seen:  # a service paging in a circle would keep --all going forever
                message = f"the service sent the page cursor {cursor} twice"
                raise ServiceError(message, ExitCode.UNAVAILABLE)
            seen.add(cursor)
        if args.json:
            print_json({"items": items, "next_cursor": cursor})
            return ExitCode.OK
        _print_campaigns(items)
        if cursor is not None:
            print(f"more: waha-campaigns list --cursor {cursor}", file=sys.stderr)
        return ExitCode.OK

    return run_with_service(args, listing)


def _print_campaigns(items: list[dict[str, Any]]) -> None:
    if not items:
        print("no campaigns", file=sys.stderr)
        return
    rows = [
        [
            str(view.get("id")),
            str(view.get("name")),
            str(view.get("status")),
            f"{handled(view)}/{view.get('total')}",
            str(view.get("sent", 0)),
            str(view.get("failed", 0)),
            str(view.get("skipped", 0)),
            str(view.get("in_doubt", 0)),
            when(view.get("scheduled_for")),
        ]
        for view in items
    ]
    headers = ("ID", "NAME", "STATUS", "DONE", "SENT", "FAILED", "SKIPPED", "IN DOUBT", "SCHEDULED")
    print(
        render_table(
            headers,
            rows,
            style=Style.for_stdout(),
            colour=lambda column, cell: status_colour(cell) if column == 2 else "",  # noqa: PLR2004 - status
        )
    )


def run_show(args: argparse.Namespace) -> int:
    """Print one campaign."""

    async def show(client: ServiceClient) -> int:
        view = await client.campaign(args.id)
        if args.json:
            print_json(view)
        else:
            print(describe_campaign(view, Style.for_stdout(), with_delivery=True))
        return ExitCode.OK

    return run_with_service(args, show)


def run_command(args: argparse.Namespace) -> int:
    """Pause, resume or cancel, and say where the campaign now stands."""
    command: str = args.command_name

    async def act(client: ServiceClient) -> int:
        reason = getattr(args, "reason", None)
        view = await client.command(args.id, command, {"reason": reason} if reason else None)
        if args.json:
            print_json(view)
            return ExitCode.OK
        where = stop_reason(view)
        if where is None:
            status = Style.for_stdout().status(str(view.get("status")))
            where = f"{status}, next {next_contact(view)}"
        print(f"{_DONE[command]} {view.get('name')} ({view.get('id')}): {where}")
        return ExitCode.OK

    return run_with_service(args, act)
