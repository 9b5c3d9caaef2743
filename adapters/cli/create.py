"""`create`: schedule a campaign from a contacts CSV and a message, through the service."""

from __future__ import annotations

import argparse
import csv
import io
import math
import mimetypes
import re
import sys
from dataclasses import dataclass
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
from adapters.cli.output import fail, print_json
from adapters.cli.service_client import Problem, ServiceClient, problem_line, run_with_service

_CONTACT_FIELD: Final = re.compile(r"^contacts\[(\d+)\]\.?(.*)$")
_DELIMITERS: Final = ",;\t"
# The header is the first record; a quoted line break inside it would be odd enough to ignore.
_FIRST_LINE: Final = re.compile(r"[\r\n]")


class ContactsFileError(Exception):
    """A contacts CSV the command cannot use; the message says why in one line."""


@dataclass(frozen=True)
class ContactsFile:
    """The contacts of a CSV file, and the line each came from (for error messages)."""

    path: Path
    contacts: list[dict[str, Any]]
    lines: list[int]


def add_parser(subparsers: Subparsers) -> None:
    """Add `create`."""
    parser = add_command(
        subparsers,
        "create",
        summary="schedule a campaign from a CSV of contacts; prints its id",
        description=(
            "Read contacts from a CSV with a header row: a 'phone' column (international, "
            "e.g. +4915112345678), an optional 'name' column, and any other columns as "
            "template variables ({column} in --text; an empty cell leaves it to --default). "
            "Commas, semicolons or tabs separate the columns."
        ),
        exits={
            **SERVICE_EXITS,
            ExitCode.USAGE: "usage or input error: a bad CSV, or a campaign the service refused",
        },
    )
    parser.add_argument("contacts", type=Path, metavar="CSV", help="the contacts file")
    parser.add_argument("--text", required=True, help="the message, or the image's caption")
    parser.add_argument("--image", type=Path, metavar="FILE", help="send this image (uploaded)")
    parser.add_argument("--name", help="the campaign's name (default: the CSV's file name)")
    parser.add_argument("--session", default="default", help="the WAHA session (default: default)")
    parser.add_argument(
        "--at", type=_aware_moment, metavar="TIME", help="start then: ISO 8601 with an offset"
    )
    parser.add_argument(
        "--pacing",
        type=_pacing,
        default=None,
        metavar="MIN-MAX",
        help="random wait between contacts in seconds, e.g. 30-60 (the service's default)",
    )
    parser.add_argument(
        "--default",
        action="append",
        type=_default,
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
    add_json_option(parser)
    add_service_options(parser)
    parser.set_defaults(func=run)


def _aware_moment(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 time with an offset: {text!r} (e.g. 2026-12-01T09:30:00+01:00)"
        )
    return value


def _pacing(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    try:
        bounds = (float(low), float(high or low))
    except ValueError:
        bounds = (-1.0, -1.0)
    if not (0 <= bounds[0] <= bounds[1] and math.isfinite(bounds[1])):
        raise argparse.ArgumentTypeError(f"pacing is MIN-MAX seconds, e.g. 30-60: {text!r}")
    return bounds


def _default(text: str) -> tuple[str, str]:
    field, sep, value = text.partition("=")
    if not sep or not field.strip():
        raise argparse.ArgumentTypeError(f"a default is FIELD=VALUE: {text!r}")
    return field.strip(), value


def read_contacts(path: Path) -> ContactsFile:
    """Read a contacts CSV as the service reads an upload; ContactsFileError says why not.

    Records end only at CR or LF (never at the other Unicode line breaks a name may hold),
    a stray quote is an error rather than a guess, and a row with more cells than the
    header is refused, naming its line.
    """
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ContactsFileError(f"{path} is not UTF-8 text") from None
    except OSError as error:
        raise ContactsFileError(f"cannot read {path}: {error.strerror or error}") from None
    end = _FIRST_LINE.search(text)
    first_line = text[: end.start()] if end is not None else text
    if not first_line.strip():
        raise ContactsFileError(f"{path} is empty: it needs a header row with a phone column")
    delimiter = max(_DELIMITERS, key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    contacts, lines = [], []
    try:
        header = _header(path, next(reader))
        columns = [h.lower() for h in header]
        phone, name = columns.index("phone"), columns.index("name") if "name" in columns else None
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(header):
                raise ContactsFileError(
                    f"{path} line {reader.line_num} has {len(row)} cells but the header row "
                    f"has {len(header)}: quote a cell that holds a '{delimiter}'"
                )
            contacts.append(_contact(row, header, phone, name))
            lines.append(reader.line_num)
    except csv.Error as error:
        raise ContactsFileError(f"{path} line {reader.line_num}: {error}") from None
    if not contacts:
        raise ContactsFileError(f"{path} has a header but no contacts")
    return ContactsFile(path, contacts, lines)


def _header(path: Path, cells: list[str]) -> list[str]:
    header = [cell.strip() for cell in cells]
    columns = [h.lower() for h in header]
    if "phone" not in columns:
        raise ContactsFileError(
            f"{path} has no phone column (its columns: {', '.join(header)}); "
            "name one column 'phone'"
        )
    for position, column in enumerate(columns):
        if not column:
            raise ContactsFileError(f"{path}: column {position + 1} of the header row has no name")
        if columns.count(column) > 1:
            raise ContactsFileError(f"{path}: the header row names {header[position]!r} twice")
    return header


def _contact(row: list[str], header: list[str], phone: int, name: int | None) -> dict[str, Any]:
    cells = row + [""] * (len(header) - len(row))
    contact: dict[str, Any] = {"phone": cells[phone].strip()}
    if name is not None and cells[name].strip():
        contact["name"] = cells[name].strip()
    variables = {
        header[i]: value
        for i, value in enumerate(cells)
        if i not in {phone, name} and value.strip()
    }
    if variables:
        contact["variables"] = variables
    return contact


def campaign_body(
    args: argparse.Namespace, contacts: ContactsFile, media_id: str | None
) -> dict[str, Any]:
    """Return the POST /campaigns body for the arguments."""
    message: dict[str, Any] = {"text": args.text}
    if media_id is not None:
        message["media_id"] = media_id
    if args.default:
        message["defaults"] = dict(args.default)
    options: dict[str, Any] = {
        "auto_resume": not args.no_auto_resume,
        "check_numbers": args.check_numbers,
        "simulate_typing": args.typing,
    }
    if args.max_failures is not None:
        options["max_consecutive_failures"] = args.max_failures
    body: dict[str, Any] = {
        "name": args.name or contacts.path.stem,
        "session": args.session,
        "message": message,
        "contacts": contacts.contacts,
        "scheduled_for": args.at.isoformat() if args.at else None,
        "options": options,
    }
    if args.pacing is not None:
        body["pacing"] = {"min_seconds": args.pacing[0], "max_seconds": args.pacing[1]}
    return body


def run(args: argparse.Namespace) -> int:
    """Upload the image if any, schedule the campaign, print its id."""
    try:
        contacts = read_contacts(args.contacts)
    except ContactsFileError as error:
        return fail(str(error), ExitCode.USAGE)
    image: bytes | None = None
    if args.image is not None:
        try:
            image = args.image.read_bytes()
        except OSError as error:
            return fail(f"cannot read {args.image}: {error.strerror or error}", ExitCode.USAGE)

    async def create(client: ServiceClient) -> int:
        media_id = None
        if image is not None:
            kind = mimetypes.guess_type(args.image.name)[0] or "application/octet-stream"
            media = await client.upload_media(image, args.image.name, kind)
            media_id = str(media["id"])
        view = await client.create_campaign(campaign_body(args, contacts, media_id))
        if args.json:
            print_json(view)
        else:
            print(view.get("id"))
        duplicates = view.get("duplicates") or []
        for duplicate in duplicates:
            print(
                f"dropped {contacts.path} line {_line(contacts, duplicate.get('position'))}: "
                f"same number as line {_line(contacts, duplicate.get('first_position'))}",
                file=sys.stderr,
            )
        return ExitCode.OK

    return run_with_service(args, create, describe=lambda problem: _describe(contacts, problem))


def _line(contacts: ContactsFile, position: object) -> str:
    if isinstance(position, int) and 0 <= position < len(contacts.lines):
        return str(contacts.lines[position])
    return "?"


def _describe(contacts: ContactsFile, problem: Problem) -> str:
    # The service names rows by their position in the list we sent; people want file lines.
    match = _CONTACT_FIELD.match(str(problem.get("field", "")))
    if match is None:
        return problem_line(problem)
    line = _line(contacts, int(match.group(1)))
    column = match.group(2) or "row"
    value = f" {problem['value']!r}" if problem.get("value") not in {None, ""} else ""
    return f"{contacts.path} line {line}, {column}{value}: {problem.get('reason', 'invalid')}"
