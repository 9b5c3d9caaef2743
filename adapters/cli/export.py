"""`export`: every stored event as JSON lines, or what happened to each contact as CSV."""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO
from uuid import UUID

from eventsourcing.persistence import PersistenceError

from adapters.cli.arguments import (
    STORE_EXITS,
    ExitCode,
    Subparsers,
    add_command,
    add_database_option,
    campaign_id,
)
from adapters.cli.campaign_log import campaign_log_for
from adapters.cli.output import Progress, fail
from adapters.cli.store_access import run_on_store
from adapters.contact_csv import ContactReportWriter
from app.audit import ReplayError, export_events, is_campaign
from app.campaigns import CampaignsApp
from app.errors import AppError, CampaignNotFoundError
from app.views import ContactReport


def add_parser(subparsers: Subparsers) -> None:
    """Add `export`."""
    parser = add_command(
        subparsers,
        "export",
        summary="export every event (JSON lines) or the per-contact report (CSV)",
        description=(
            "jsonl: one JSON object per stored event, in log order, with position, "
            "aggregate_id, version, type, topic, time (the runner's clock), recorded_at and "
            "data; the whole store, or one campaign's events. csv: one row per contact with "
            "its outcome and delivery state, in the columns of the service's CSV report "
            "(GET /campaigns/ID/contacts) after a campaign_id column; one campaign, or every "
            "campaign. Names and errors that a spreadsheet would run as a formula start with '."
        ),
        exits={
            **STORE_EXITS,
            ExitCode.FAILED: "an event cannot be decoded, or a campaign rebuilt (run verify)",
            ExitCode.USAGE: "usage or input error, or --output not writable",
        },
    )
    parser.add_argument("id", type=campaign_id, nargs="?", metavar="ID")
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    parser.add_argument(
        "--output",
        type=_output_file,
        metavar="FILE",
        help="write here instead of standard output (a file is replaced only when whole)",
    )
    add_database_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export to standard output or --output."""
    return run_on_store(args, lambda app: _export(app, args))


class UnreadableEventsError(Exception):
    """The export is whole, but some events in it could not be decoded."""


def _export(app: CampaignsApp, args: argparse.Namespace) -> int:
    if args.id is not None and not is_campaign(app, args.id):
        raise CampaignNotFoundError(args.id)
    try:
        with _destination(args.output, newline="" if args.format == "csv" else None) as out:
            count = (_jsonl if args.format == "jsonl" else _csv)(app, args.id, out)
    except BrokenPipeError:
        raise  # the reader left (`| head`): the command edge ends quietly
    except OSError as error:
        return fail(f"cannot write {args.output}: {error.strerror or error}", ExitCode.USAGE)
    except UnreadableEventsError as error:
        return fail(str(error), ExitCode.FAILED)
    if args.output is not None:
        what = "events" if args.format == "jsonl" else "contacts"
        print(f"exported {count:,} {what} to {args.output}", file=sys.stderr)
    return ExitCode.OK


@contextlib.contextmanager
def _destination(path: Path | None, *, newline: str | None) -> Iterator[TextIO]:
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "it is a folder", str(path))
    if path.exists() and not path.is_file():
        # A device or a pipe (/dev/stdout, a FIFO): renaming over it would replace it.
        with path.open("w", encoding="utf-8", newline=newline) as out:
            yield out
        return
    # A half-written export must not look like a whole one: write aside, then rename.
    target = path.resolve() if path.is_symlink() else path
    partial = target.with_name(target.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline=newline, buffering=1 << 20) as out:
            yield out
        partial.replace(target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


def _output_file(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty file name")
    return Path(text)


def _jsonl(app: CampaignsApp, campaign: UUID | None, out: TextIO) -> int:
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    progress = Progress("exporting events")
    count = unreadable = 0
    write = out.write
    for row in export_events(app, campaign, campaign_log=campaign_log_for(app.recorder)):
        write(encode(row))
        write("\n")
        count += 1
        unreadable += row["type"] is None
        progress.update(count)
    progress.close()
    if unreadable:
        raise UnreadableEventsError(f"{unreadable} event(s) could not be decoded; run verify")
    return count


def _csv(app: CampaignsApp, campaign: UUID | None, out: TextIO) -> int:
    writer = ContactReportWriter(out, with_campaign=True)
    campaigns = [campaign] if campaign is not None else app.all_campaign_ids()
    return sum(writer.write(_reports(app, one), one) for one in campaigns)


def _reports(app: CampaignsApp, campaign: UUID) -> list[ContactReport]:
    try:
        return app.contact_reports(campaign)
    except (AppError, PersistenceError):
        raise
    except Exception as error:  # noqa: BLE001 - a log the library cannot fold is broken: say so
        reason = f"{type(error).__name__}: {error}".removesuffix(": ")
        raise ReplayError(f"campaign {campaign} cannot be rebuilt ({reason})") from None
