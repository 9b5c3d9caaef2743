"""`edit`: change a campaign that has not started: its name, message, schedule, pacing, options."""

from __future__ import annotations

import argparse
import mimetypes
import sys
from pathlib import Path
from typing import Any, Final

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
from adapters.cli.create import aware_moment, default_value, pacing_bounds
from adapters.cli.output import fail, print_json
from adapters.cli.service_client import ServiceClient, run_with_service
from adapters.cli.session_commands import window_spec

# --no-X turns an option off, --X on; neither leaves it as it is.
_SWITCHES = (
    ("auto-resume", "auto_resume", "resume by itself when the session works again"),
    ("check-numbers", "check_numbers", "skip numbers not on WhatsApp"),
    ("typing", "simulate_typing", "show 'typing…' before each send"),
)
# --window none removes the campaign's own window: absent must differ from none.
_UNCHANGED: Final = object()


def add_parser(subparsers: Subparsers) -> None:
    """Add `edit`."""
    parser = add_command(
        subparsers,
        "edit",
        summary="change a scheduled campaign before it starts",
        description=(
            "Change a Scheduled campaign: only what is given changes, and the change is "
            "recorded (old and new) in its audit trail. A campaign that started cannot be "
            "edited: pause or cancel it instead. The new text is checked against every contact, "
            "as at creation."
        ),
        exits={
            **SERVICE_EXITS,
            ExitCode.USAGE: (
                "usage or input error: a bad field, nothing to change, or a campaign that is no "
                "longer Scheduled (the line names its state)"
            ),
        },
    )
    parser.add_argument("id", type=campaign_id, metavar="ID")
    parser.add_argument("--name", help="a new name")
    parser.add_argument("--text", help="a new message (or caption), checked against each contact")
    media = parser.add_mutually_exclusive_group()
    media.add_argument(
        "--media", type=Path, metavar="FILE", help="send this file instead (uploaded)"
    )
    media.add_argument("--no-media", action="store_true", help="send the text alone")
    parser.add_argument(
        "--default",
        action="append",
        type=default_value,
        metavar="FIELD=VALUE",
        help="template values for contacts without one; repeatable; replaces all defaults",
    )
    when = parser.add_mutually_exclusive_group()
    when.add_argument(
        "--at", type=aware_moment, metavar="TIME", help="start then: ISO 8601 with an offset"
    )
    when.add_argument("--now", action="store_true", help="start now")
    parser.add_argument(
        "--pacing", type=pacing_bounds, metavar="MIN-MAX", help="random wait between contacts"
    )
    for flag, dest, meaning in _SWITCHES:
        parser.add_argument(
            f"--{flag}", dest=dest, action=argparse.BooleanOptionalAction, help=meaning
        )
    parser.add_argument(
        "--max-failures", type=positive_int, metavar="N", help="pause after N failed sends in a row"
    )
    parser.add_argument(
        "--window",
        type=window_spec,
        default=_UNCHANGED,
        metavar="SPEC",
        help=(
            "the campaign's own sending window, within the number's: DAYS HH:MM-HH:MM ZONE, "
            "e.g. 'mon-fri 10:00-16:00 Europe/Berlin'; none removes it"
        ),
    )
    add_json_option(parser)
    add_service_options(parser)
    parser.set_defaults(func=run)


def changes_of(args: argparse.Namespace, media_id: str | None) -> dict[str, Any]:
    """Return the PATCH body for the arguments: only what was given."""
    changes: dict[str, Any] = {}
    if args.name is not None:
        changes["name"] = args.name
    message = _message_of(args, media_id)
    if message:
        changes["message"] = message
    if args.now:
        changes["scheduled_for"] = None
    elif args.at is not None:
        changes["scheduled_for"] = args.at.isoformat()
    if args.pacing is not None:
        changes["pacing"] = {"min_seconds": args.pacing[0], "max_seconds": args.pacing[1]}
    options = {dest: getattr(args, dest) for _, dest, _ in _SWITCHES}
    options = {k: v for k, v in options.items() if v is not None}
    if args.max_failures is not None:
        options["max_consecutive_failures"] = args.max_failures
    if args.window is not _UNCHANGED:
        options["window"] = args.window
    if options:
        changes["options"] = options
    return changes


def _message_of(args: argparse.Namespace, media_id: str | None) -> dict[str, Any]:
    message: dict[str, Any] = {}
    if args.text is not None:
        message["text"] = args.text
    if args.no_media:
        message["media_id"] = None
    elif media_id is not None:
        message["media_id"] = media_id
    if args.default:
        message["defaults"] = dict(args.default)
    return message


def run(args: argparse.Namespace) -> int:
    """Upload the new media if any, send the changes, say what changed."""
    media_bytes: bytes | None = None
    if args.media is not None:
        try:
            media_bytes = args.media.read_bytes()
        except OSError as error:
            return fail(f"cannot read {args.media}: {error.strerror or error}", ExitCode.USAGE)
    if not changes_of(args, "given" if media_bytes is not None else None):
        return fail("nothing to change: give at least one of the options", ExitCode.USAGE)

    async def edit(client: ServiceClient) -> int:
        media_id = None
        if media_bytes is not None:
            kind = mimetypes.guess_type(args.media.name)[0] or "application/octet-stream"
            media_id = str((await client.upload_media(media_bytes, args.media.name, kind))["id"])
        view = await client.edit_campaign(args.id, changes_of(args, media_id))
        if args.json:
            print_json(view)
        else:
            changed = view.get("changed") or []
            what = "changed " + ", ".join(changed) if changed else "nothing changed"
            print(f"edited {view.get('name')} ({view.get('id')}): {what}")
        for warning in view.get("warnings") or []:
            print(f"warning: {warning}", file=sys.stderr)
        return ExitCode.OK

    return run_with_service(args, edit)
