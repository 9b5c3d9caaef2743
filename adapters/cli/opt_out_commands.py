"""`opt-out add|remove|list|import|export`: the opt-out list, through the running service."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from adapters.cli.arguments import (
    SERVICE_EXITS,
    ExitCode,
    Subparsers,
    add_command,
    add_json_option,
    add_service_options,
    positive_int,
)
from adapters.cli.output import fail, print_json, render_table, when
from adapters.cli.service_client import Problem, ServiceClient, ServiceError, run_with_service
from adapters.contacts_file import ContactsFile, ContactsFileError, OptionNames, read_contacts_file

_BATCH: Final = 1000  # phones per request of an import
_EXITS: Final = {
    **SERVICE_EXITS,
    ExitCode.NOT_FOUND: "the phone is not on the list (remove)",
}
_EXPORT_COLUMNS: Final = ("phone", "source", "at", "note")
_OPTIONS: Final = OptionNames(phone_column="--phone-column", encoding="--encoding")


def add_parser(subparsers: Subparsers) -> None:
    """Add `opt-out` with `add`, `remove`, `list`, `import` and `export`."""
    opt_out = add_command(
        subparsers,
        "opt-out",
        summary="the opt-out list: people no number of this service messages",
        description=(
            "Add phones to the opt-out list, remove them, list it, import it from a CSV or "
            "XLSX file (a 'phone' column), or export it as CSV. A phone on the list is skipped "
            "by every campaign of every number, checked at each send. Replies that are only "
            "an opt-out keyword (CAMPAIGNS_OPT_OUT_KEYWORDS: STOP, ...) add their sender."
        ),
        exits=_EXITS,
    )
    actions = opt_out.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = actions.add_parser("add", help="put phones on the list")
    add.add_argument(
        "phones", nargs="+", metavar="PHONE", help="international, e.g. +4915112345678"
    )
    add.add_argument("--note", default="", help="why, for the record")
    add_json_option(add)
    add_service_options(add)
    add.set_defaults(func=run_add)

    remove = actions.add_parser("remove", help="take a phone off the list")
    remove.add_argument("phone", metavar="PHONE")
    add_service_options(remove)
    remove.set_defaults(func=run_remove)

    listing = actions.add_parser("list", help="the list, oldest first")
    listing.add_argument("--limit", type=positive_int, default=100, help="at most this many")
    listing.add_argument("--cursor", type=int, default=0, help="the page after this cursor")
    listing.add_argument("--all", action="store_true", help="follow every page to the end")
    add_json_option(listing)
    add_service_options(listing)
    listing.set_defaults(func=run_list)

    importing = actions.add_parser("import", help="put every phone of a CSV or XLSX file on it")
    importing.add_argument("file", type=Path, metavar="FILE")
    importing.add_argument("--phone-column", metavar="COL", help="the phones' column (phone)")
    importing.add_argument("--encoding", metavar="ENC", help="the CSV's encoding if not UTF-8")
    importing.add_argument("--note", default="", help="why, for the record")
    add_service_options(importing)
    importing.set_defaults(func=run_import)

    export = actions.add_parser("export", help="print the whole list as CSV")
    add_service_options(export)
    export.set_defaults(func=run_export)


def run_add(args: argparse.Namespace) -> int:
    """Put the phones on the list and say how many were new."""

    async def add(client: ServiceClient) -> int:
        body = {"phones": args.phones, "note": args.note}
        added = await client.call("POST", "/opt-outs", json=body)
        if args.json:
            print_json(added)
        else:
            print(f"{added.get('added')} added, {added.get('already')} already on the list")
        return ExitCode.OK

    return run_with_service(args, add)


def run_remove(args: argparse.Namespace) -> int:
    """Take a phone off the list."""

    async def remove(client: ServiceClient) -> int:
        removed = await client.call("DELETE", f"/opt-outs/{quote(args.phone, safe='+')}")
        print(f"{removed.get('phone')} removed: campaigns may message it again")
        return ExitCode.OK

    return run_with_service(args, remove)


async def _pages(client: ServiceClient, limit: int, cursor: int, *, every: bool) -> Any:
    seen = {cursor}
    while True:
        page = await client.call(
            "GET", "/opt-outs", params={"limit": str(limit), "cursor": str(cursor)}
        )
        yield page
        following = page.get("next_cursor")
        if following is None or not every:
            return
        if following in seen:
            raise ServiceError(
                f"the service sent the page cursor {following} twice", ExitCode.UNAVAILABLE
            )
        seen.add(following)
        cursor = int(following)


def run_list(args: argparse.Namespace) -> int:
    """Print the list as a table, or JSON."""

    async def listing(client: ServiceClient) -> int:
        items: list[dict[str, Any]] = []
        cursor = None
        async for page in _pages(client, args.limit, args.cursor, every=args.all):
            items.extend(i for i in page.get("items", []) if isinstance(i, dict))
            cursor = page.get("next_cursor")
        if args.json:
            print_json({"items": items, "next_cursor": cursor})
            return ExitCode.OK
        if not items:
            print("nobody is on the opt-out list", file=sys.stderr)
        else:
            rows = [
                [str(i.get("phone")), str(i.get("source")), when(i.get("at")), str(i.get("note"))]
                for i in items
            ]
            print(render_table(("PHONE", "SOURCE", "SINCE", "NOTE"), rows))
        if cursor is not None:
            print(f"more: waha-campaigns opt-out list --cursor {cursor}", file=sys.stderr)
        return ExitCode.OK

    return run_with_service(args, listing)


def run_export(args: argparse.Namespace) -> int:
    """Print the whole list as CSV (phone, source, at, note)."""

    async def export(client: ServiceClient) -> int:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(_EXPORT_COLUMNS)
        async for page in _pages(client, 1000, 0, every=True):
            for item in page.get("items", []):
                if isinstance(item, dict):
                    writer.writerow([item.get(c, "") for c in _EXPORT_COLUMNS])
        return ExitCode.OK

    return run_with_service(args, export)


def run_import(args: argparse.Namespace) -> int:
    """Read the file's phones and put them on the list, a thousand per request."""
    try:
        data = args.file.read_bytes()
        found = read_contacts_file(
            data, phone_column=args.phone_column, encoding=args.encoding, options=_OPTIONS
        )
    except OSError as error:
        return fail(f"cannot read {args.file}: {error.strerror or error}", ExitCode.USAGE)
    except ContactsFileError as error:
        return fail(f"{args.file}: {error}", ExitCode.USAGE)
    phones = [contact.phone for contact in found.contacts]

    async def import_all(client: ServiceClient) -> int:
        added = already = 0
        for start in range(0, len(phones), _BATCH):
            body = {
                "phones": phones[start : start + _BATCH],
                "note": args.note or f"imported from {args.file.name}",
                "source": "import",
            }
            try:
                answer = await client.call("POST", "/opt-outs", json=body)
            except ServiceError as error:
                error.problems = [_at_row(found, start, p) for p in error.problems]
                raise
            added += int(answer.get("added", 0))
            already += int(answer.get("already", 0))
        print(f"{args.file}: {added} added, {already} already on the list")
        return ExitCode.OK

    return run_with_service(args, import_all)


def _at_row(found: ContactsFile, start: int, problem: Problem) -> Problem:
    """Name a refused phone by its place in the file instead of its place in the request."""
    field = str(problem.get("field", ""))
    if field.startswith("phones[") and field.endswith("]"):
        position = start + int(field[len("phones[") : -1])
        return {**problem, "field": found.place(position)}
    return problem
