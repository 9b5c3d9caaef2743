"""`create`: schedule a campaign from a contacts file (CSV or XLSX) and a message.

The file is checked here in one pass (its errors named by line before anything is sent),
then uploaded as it is, streamed: the service reads it as it reads any upload.
"""

from __future__ import annotations

import argparse
import math
import mimetypes
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from adapters.cli.arguments import (
    SERVICE_EXITS,
    ExitCode,
    Subparsers,
    add_command,
    add_json_option,
    add_service_options,
    positive_int,
)
from adapters.cli.output import fail, print_json, when
from adapters.cli.service_client import Problem, ServiceClient, problem_line, run_with_service
from adapters.cli.session_commands import window_spec
from adapters.contacts_file import ContactRows, ContactsFileError, OptionNames, open_contacts_file

_CONTACT_FIELD: Final = re.compile(r"^contacts\[(\d+)\]\.?(.*)$")
_CONTACT_MENTION: Final = re.compile(r"contacts\[(\d+)\]")
_OPTIONS: Final = OptionNames(phone_column="--phone-column", encoding="--encoding")
# The slowest pace the service is assumed to screen rows at: requests wait for it at least.
ROWS_PER_SECOND: Final = 2000


def add_parser(subparsers: Subparsers) -> None:
    """Add `create`."""
    parser = add_command(
        subparsers,
        "create",
        summary="schedule a campaign from a file of contacts (CSV or XLSX); prints its id",
        description=(
            "Read contacts from a CSV (commas, semicolons or tabs; UTF-8 unless --encoding) or "
            "an XLSX workbook (its first sheet). The first row names the columns, matched "
            "ignoring case, with spaces, hyphens and dots read as '_' ('First Name' is "
            "first_name): a 'phone' column (or --phone-column; international, e.g. "
            "+4915112345678 or 004915112345678), an optional 'name' column, and any other "
            "columns as template variables ({first_name} in --text; an empty cell leaves it to "
            "--default). Columns that cannot be a variable, and a repeated name, are ignored "
            "with a warning. The file is checked here, then uploaded as it is; the request "
            f"waits at least 1 s per {ROWS_PER_SECOND:,} rows, whatever --timeout says."
        ),
        exits={
            **SERVICE_EXITS,
            ExitCode.USAGE: (
                "usage or input error: a bad contacts file, or a campaign the service refused"
            ),
        },
    )
    given = parser.add_mutually_exclusive_group(required=True)
    given.add_argument(
        "contacts", nargs="?", type=Path, metavar="FILE", help="the contacts file (or --contacts)"
    )
    given.add_argument(
        "--contacts",
        dest="contacts_file",
        type=Path,
        metavar="FILE",
        help="the contacts file: CSV or XLSX",
    )
    parser.add_argument(
        "--phone-column", metavar="COL", help="the column that holds the phones (default: phone)"
    )
    parser.add_argument(
        "--encoding",
        metavar="ENC",
        help="the CSV's encoding if not UTF-8, e.g. cp1252 or latin-1 (a Python codec name)",
    )
    parser.add_argument(
        "--text",
        required=True,
        help=(
            "the message, or the media's caption (a voice note is sent without it); "
            "{Hi|Hello} gives each contact one of them"
        ),
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="TEXT",
        help="another text: each contact gets one of --text and these at random; repeatable",
    )
    parser.add_argument(
        "--media",
        "--image",
        dest="media",
        type=Path,
        metavar="FILE",
        help=(
            "send this file (uploaded): an image, a document (PDF, DOCX, XLSX, ...), a video "
            "(MP4, WebM, 3GP) or a voice note (OGG/Opus, MP3, M4A, AMR); the kind is read from "
            "its bytes. --image is its older name"
        ),
    )
    parser.add_argument(
        "--idempotency-key",
        metavar="KEY",
        help=(
            "name this request: run again with the same key and arguments, it prints the same "
            "campaign instead of making another (e.g. a UUID)"
        ),
    )
    parser.add_argument("--name", help="the campaign's name (default: the file's name)")
    parser.add_argument("--session", default="default", help="the WAHA session (default: default)")
    parser.add_argument(
        "--at", type=aware_moment, metavar="TIME", help="start then: ISO 8601 with an offset"
    )
    parser.add_argument(
        "--pacing",
        type=pacing_bounds,
        default=None,
        metavar="MIN-MAX",
        help="random wait between contacts in seconds, e.g. 30-60 (the service's default)",
    )
    parser.add_argument(
        "--default",
        action="append",
        type=default_value,
        default=[],
        metavar="FIELD=VALUE",
        help="a template value for contacts without one; repeatable",
    )
    parser.add_argument("--check-numbers", action="store_true", help="skip numbers not on WhatsApp")
    parser.add_argument("--typing", action="store_true", help="show 'typing…' before each send")
    parser.add_argument(
        "--no-auto-resume",
        action="store_true",
        help="stay paused when the session comes back, until an operator resumes",
    )
    parser.add_argument(
        "--max-failures",
        type=positive_int,
        metavar="N",
        help="pause after N failed sends in a row (the service's default: 5)",
    )
    parser.add_argument(
        "--window",
        type=window_spec,
        metavar="SPEC",
        help="the campaign's own sending window, within the number's: DAYS HH:MM-HH:MM "
        "TIMEZONE, e.g. 'mon-fri 10:00-16:00 Europe/Berlin'",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="record nothing: print the first messages, the rejects, the warnings and the ETA",
    )
    parser.add_argument(
        "--preview",
        type=positive_int,
        default=5,
        metavar="N",
        help="with --dry-run, how many rendered messages to print (default 5, at most 100)",
    )
    add_json_option(parser)
    add_service_options(parser)
    parser.set_defaults(func=run)


def aware_moment(text: str) -> datetime:
    """Parse an ISO 8601 time that has an offset, for argparse."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 time with an offset: {text!r} (e.g. 2026-12-01T09:30:00+01:00)"
        )
    return value


def pacing_bounds(text: str) -> tuple[float, float]:
    """Parse MIN-MAX seconds (or one number for both), for argparse."""
    low, _, high = text.partition("-")
    try:
        bounds = (float(low), float(high or low))
    except ValueError:
        bounds = (-1.0, -1.0)
    if not (0 <= bounds[0] <= bounds[1] and math.isfinite(bounds[1])):
        raise argparse.ArgumentTypeError(f"pacing is MIN-MAX seconds, e.g. 30-60: {text!r}")
    return bounds


def default_value(text: str) -> tuple[str, str]:
    """Parse FIELD=VALUE, for argparse."""
    field, sep, value = text.partition("=")
    if not sep or not field.strip():
        raise argparse.ArgumentTypeError(f"a default is FIELD=VALUE: {text!r}")
    return field.strip(), value


def read_contacts(args: argparse.Namespace) -> tuple[Path, ContactRows]:
    """Check the contacts file as the service reads an upload; ContactsFileError says why not.

    One pass over the file, which keeps only each row's line number (to name rows in the
    service's answers): the file itself is uploaded as it is.
    """
    path: Path = args.contacts_file or args.contacts
    try:
        found = open_contacts_file(
            path, phone_column=args.phone_column, encoding=args.encoding, options=_OPTIONS
        )
    except OSError as error:
        raise ContactsFileError(f"cannot read {path}: {error.strerror or error}") from None
    except ContactsFileError as error:
        raise ContactsFileError(f"{path}: {error}") from None
    return path, found


def campaign_body(args: argparse.Namespace, path: Path, media_id: str | None) -> dict[str, Any]:
    """Return the `campaign` part of the POST /campaigns form for the arguments."""
    message: dict[str, Any] = {"text": args.text}
    if media_id is not None:
        message["media_id"] = media_id
    if args.default:
        message["defaults"] = dict(args.default)
    if args.variant:
        message["variants"] = list(args.variant)
    options: dict[str, Any] = {
        "auto_resume": not args.no_auto_resume,
        "check_numbers": args.check_numbers,
        "simulate_typing": args.typing,
    }
    if args.max_failures is not None:
        options["max_consecutive_failures"] = args.max_failures
    if args.window is not None:
        options["window"] = args.window
    body: dict[str, Any] = {
        "name": args.name or path.stem,
        "session": args.session,
        "message": message,
        "scheduled_for": args.at.isoformat() if args.at else None,
        "options": options,
    }
    if args.pacing is not None:
        body["pacing"] = {"min_seconds": args.pacing[0], "max_seconds": args.pacing[1]}
    if args.phone_column is not None:
        body["phone_column"] = args.phone_column
    if args.encoding is not None:
        body["encoding"] = args.encoding
    return body


def run(args: argparse.Namespace) -> int:
    """Upload the media file if any, schedule the campaign, print its id and any warnings."""
    try:
        path, contacts = read_contacts(args)
    except ContactsFileError as error:
        return fail(str(error), ExitCode.USAGE)
    for warning in contacts.warnings:
        print(f"{path}: {warning}", file=sys.stderr)
    # The service screens a file at some thousands of rows a second (phones are parsed one by
    # one): a million rows take minutes, which the default timeout would cut short.
    args.timeout = max(args.timeout, len(contacts) / ROWS_PER_SECOND)
    media_bytes: bytes | None = None
    if args.media is not None:
        try:
            media_bytes = args.media.read_bytes()
        except OSError as error:
            return fail(f"cannot read {args.media}: {error.strerror or error}", ExitCode.USAGE)

    async def create(client: ServiceClient) -> int:
        if args.dry_run:
            # Nothing is stored, not even the image: a preview renders texts only.
            body = campaign_body(args, path, None)
            return await _dry_run(client, body, args, path, contacts)
        media_id = None
        if media_bytes is not None:
            kind = mimetypes.guess_type(args.media.name)[0] or "application/octet-stream"
            media = await client.upload_media(media_bytes, args.media.name, kind)
            media_id = str(media["id"])
        view = await client.create_campaign(
            campaign_body(args, path, media_id),
            contacts=path,
            idempotency_key=args.idempotency_key,
        )
        _report_created(view, args, path, contacts)
        return ExitCode.OK

    return run_with_service(
        args, create, describe=lambda problem: _describe(path, contacts, problem)
    )


def _report_created(
    view: dict[str, Any], args: argparse.Namespace, path: Path, contacts: ContactRows
) -> None:
    """Print the new campaign's id (or view), when it should end, and what to know about it."""
    if args.json:
        print_json(view)
    else:
        print(view.get("id"))
        if view.get("eta"):
            print(f"eta: {when(view.get('eta'))}", file=sys.stderr)
    for warning in view.get("warnings") or []:
        if warning not in contacts.warnings:  # the file's own were printed already
            print(f"warning: {warning}", file=sys.stderr)
    duplicates = view.get("duplicates") or []
    for duplicate in duplicates:
        print(
            f"dropped {path} {_place(contacts, duplicate.get('position'))}: "
            f"same number as {_place(contacts, duplicate.get('first_position'))}",
            file=sys.stderr,
        )
    more = int(view.get("duplicates_total") or 0) - len(duplicates)
    if more > 0:  # the service lists the first ones
        print(f"dropped {more} more rows of {path} with a number given before", file=sys.stderr)


async def _dry_run(
    client: ServiceClient,
    body: dict[str, Any],
    args: argparse.Namespace,
    path: Path,
    contacts: ContactRows,
) -> int:
    """Ask the service what creating would do, and print it; nothing is recorded."""
    limit = min(args.preview, 100)
    preview = await client.preview_campaign(body, contacts=path, limit=limit)
    if args.json:
        print_json(preview)
        return ExitCode.OK
    print(f"{preview.get('total')} contact(s); nothing recorded (dry run)")
    for message in preview.get("messages") or []:
        print(f"  {message.get('phone')}: {message.get('text')}")
    for reject in preview.get("rejects") or []:
        print(
            f"  skipped {path} {_place(contacts, reject.get('position'))} "
            f"{reject.get('phone')}: {reject.get('reason')} ({reject.get('detail')})"
        )
    shown = len(preview.get("rejects") or [])
    if int(preview.get("rejects_total") or 0) > shown:
        print(f"  and {int(preview['rejects_total']) - shown} more skipped")
    for warning in preview.get("warnings") or []:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"eta: {when(preview.get('eta'))}")
    return ExitCode.OK


def _place(contacts: ContactRows, position: object) -> str:
    return contacts.place(position) if isinstance(position, int) else f"{contacts.unit} ?"


def _describe(path: Path, contacts: ContactRows, problem: Problem) -> str:
    # The service names rows by their position in the list we sent; people want file lines.
    field = str(problem.get("field", ""))
    match = _CONTACT_FIELD.match(field)
    if match is None:
        line = problem_line(problem)
        if field == "contacts":  # a summary naming rows as contacts[i] in its reason
            line = f"{path}: {problem.get('reason', 'invalid')}"
        return _CONTACT_MENTION.sub(lambda m: contacts.place(int(m.group(1))), line)
    place = _place(contacts, int(match.group(1)))
    column = match.group(2) or "row"
    value = f" {problem['value']!r}" if problem.get("value") not in {None, ""} else ""
    return f"{path} {place}, {column}{value}: {problem.get('reason', 'invalid')}"
