"""`events`, `replay` and `timeline`: a campaign's audit trail read from the store alone."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any, Final

from adapters.cli.arguments import (
    STORE_EXITS,
    ExitCode,
    Subparsers,
    add_command,
    add_database_option,
    add_json_option,
    campaign_id,
    moment,
    positive_int,
)
from adapters.cli.output import (
    Style,
    counts_text,
    describe_campaign,
    duration,
    render_table,
    status_colour,
    to_json,
    when,
)
from adapters.cli.store_access import run_on_store
from app.audit import (
    CAMPAIGN_EVENT_TYPES,
    LoggedEvent,
    Milestone,
    NoStateThenError,
    ReplayStep,
    Timeline,
    campaign_events,
    event_data,
    event_time,
    exported,
    logged_events,
    replay,
    state_at,
    timeline,
)
from app.campaigns import CampaignsApp
from domain.campaign import Campaign
from domain.numbering import contact_words, next_contact_words

_TYPE_COLOURS: Final = {
    "CampaignPaused": "yellow",
    "CampaignCancelled": "red",
    "CampaignCompleted": "green",
    "AttemptAbandoned": "yellow",
}
_DETAIL_WIDTH: Final = 60


def add_parser(subparsers: Subparsers) -> None:
    """Add `events`, `replay` and `timeline`."""
    events = add_command(
        subparsers,
        "events",
        summary="print a campaign's audit trail from the event store",
        description=(
            "Print every event a campaign recorded, oldest first, read straight from the "
            "store (no service needed). Times are the runner's clock, in UTC."
        ),
        exits={**STORE_EXITS, ExitCode.FAILED: "an event cannot be decoded (run verify)"},
    )
    events.add_argument("id", type=campaign_id, metavar="ID")
    events.add_argument(
        "--type",
        action="append",
        choices=CAMPAIGN_EVENT_TYPES,
        metavar="TYPE",
        help=f"only events of this type; repeatable ({', '.join(CAMPAIGN_EVENT_TYPES)})",
    )
    add_json_option(events)
    add_database_option(events)
    events.set_defaults(func=run_events)

    replay_parser = add_command(
        subparsers,
        "replay",
        summary="rebuild a campaign from its events as it was at a version or time",
        description=(
            "Fold the campaign's events (never a snapshot) into its state and print it: now, "
            "right after event N (--at-version), or at a time (--at-time; no offset means UTC)."
        ),
        exits={**STORE_EXITS, ExitCode.FAILED: "the log cannot be replayed (run verify)"},
    )
    replay_parser.add_argument("id", type=campaign_id, metavar="ID")
    when_group = replay_parser.add_mutually_exclusive_group()
    when_group.add_argument(
        "--at-version", type=positive_int, metavar="N", help="right after event N"
    )
    when_group.add_argument(
        "--at-time", type=moment, metavar="TIME", help="as it was at this ISO 8601 time"
    )
    replay_parser.add_argument(
        "--step", action="store_true", help="print the state after every event"
    )
    add_json_option(replay_parser)
    add_database_option(replay_parser)
    replay_parser.set_defaults(func=run_replay)

    timeline_parser = add_command(
        subparsers,
        "timeline",
        summary="when a campaign started, paused, resumed and ended, and the pacing used",
        description=(
            "Print the campaign's milestones with every pause's reason and contact, every "
            "resume, the waits actually chosen between contacts, and how it ended."
        ),
        exits={**STORE_EXITS, ExitCode.FAILED: "the log cannot be read (run verify)"},
    )
    timeline_parser.add_argument("id", type=campaign_id, metavar="ID")
    add_json_option(timeline_parser)
    add_database_option(timeline_parser)
    timeline_parser.set_defaults(func=run_timeline)


# -- events -----------------------------------------------------------------------------------


def run_events(args: argparse.Namespace) -> int:
    """Print the audit trail."""
    return run_on_store(args, lambda app: _events(app, args))


def _events(app: CampaignsApp, args: argparse.Namespace) -> int:
    wanted = set(args.type or CAMPAIGN_EVENT_TYPES)
    sized = _Sized()
    logged = (
        e
        for e in logged_events(app, args.id)
        if sized.saw(e) and (e.event is None or _type_of(e) in wanted)
    )
    broken = False
    if args.json:
        for entry in logged:
            broken = broken or entry.event is None
            print(to_json(_event_row(entry)))
    else:
        rows = [_table_row(entry, sized.total) for entry in logged]
        broken = any(row[2] == "?" for row in rows)
        print(
            render_table(
                ("VERSION", "TIME", "TYPE", "DETAILS"),
                rows,
                style=Style.for_stdout(),
                colour=lambda column, cell: _TYPE_COLOURS.get(cell, "") if column == 2 else "",  # noqa: PLR2004 - type
            )
        )
    return ExitCode.FAILED if broken else ExitCode.OK


class _Sized:
    """The campaign's number of contacts, learnt from its first event as the log is read."""

    total: int | None = None

    def saw(self, logged: LoggedEvent) -> bool:
        if isinstance(logged.event, Campaign.CampaignScheduled):
            self.total = int(logged.event.audience["size"])
        return True


def _type_of(logged: LoggedEvent) -> str:
    return type(logged.event).__name__ if logged.event is not None else "?"


def _event_row(logged: LoggedEvent) -> dict[str, Any]:
    if logged.event is None:
        return {"version": logged.version, "type": None, "problem": logged.problem}
    recorded: datetime = getattr(logged.event, "timestamp")  # noqa: B009 - not on the Protocol
    return {
        "version": logged.version,
        "type": _type_of(logged),
        "time": event_time(logged.event).isoformat(),
        "recorded_at": recorded.isoformat(),
        "data": exported(event_data(logged.event)),
    }


def _table_row(logged: LoggedEvent, total: int | None) -> list[str]:
    if logged.event is None:
        return [str(logged.version), "-", "?", f"cannot decode: {logged.problem}"]
    row = _event_row(logged)
    # For people, the contact an event is about reads "contact 4 of 15 (index 3)"; --json
    # keeps the data's 0-based index as it is.
    details = " ".join(
        contact_words(value, total)
        if key == "index" and isinstance(value, int)
        else f"{key}={_short(value)}"
        for key, value in row["data"].items()
        if value is not None and key != "at"
    )
    return [str(logged.version), when(row["time"]), row["type"], details]


def _short(value: Any) -> str:
    if isinstance(value, dict) and "size" in value and "content_hash" in value:
        return f"{value['size']} contacts"
    text = to_json(value) if isinstance(value, dict | list) else str(value)
    return text if len(text) <= _DETAIL_WIDTH else text[: _DETAIL_WIDTH - 1] + "…"


def _cell(words: str) -> str:
    # Under a CONTACT heading, "3 of 4 (index 2)" says it: the word once is enough.
    return words.removeprefix("contact ")


# -- replay -----------------------------------------------------------------------------------


def run_replay(args: argparse.Namespace) -> int:
    """Print the rebuilt state, or every step towards it."""
    return run_on_store(args, lambda app: _replay(app, args))


def _replay(app: CampaignsApp, args: argparse.Namespace) -> int:
    if not args.step:
        step = state_at(app, args.id, version=args.at_version, at=args.at_time)
        if args.json:
            print(to_json(step.state.as_dict()))
        else:
            print(f"as of version {step.version} ({step.type}, {when(step.time)}):")
            print(describe_campaign(step.state.as_dict(), Style.for_stdout()))
        return ExitCode.OK
    events = campaign_events(app, args.id, lte=args.at_version)
    steps = list(replay(events, until=args.at_time))
    if not steps:
        raise NoStateThenError(f"campaign {args.id} did not exist yet at {args.at_time}")
    if args.json:
        for step in steps:
            print(to_json(step.as_dict()))
        return ExitCode.OK
    headers = (
        "VERSION",
        "TIME",
        "EVENT",
        "STATUS",
        "NEXT CONTACT",
        "SENT",
        "FAILED",
        "SKIPPED",
        "IN DOUBT",
    )
    print(
        render_table(
            headers,
            [_step_row(step) for step in steps],
            style=Style.for_stdout(),
            colour=lambda column, cell: status_colour(cell) if column == 3 else "",  # noqa: PLR2004 - status
        )
    )
    return ExitCode.OK


def _step_row(step: ReplayStep) -> list[str]:
    state = step.state
    return [
        str(step.version),
        when(step.time),
        step.type,
        state.status,
        _cell(next_contact_words(state.next_index, state.total)),
        str(state.sent),
        str(state.failed),
        str(state.skipped),
        str(state.in_doubt),
    ]


# -- timeline ---------------------------------------------------------------------------------


def run_timeline(args: argparse.Namespace) -> int:
    """Print the milestones and the pacing used."""
    return run_on_store(args, lambda app: _timeline(app, args))


def _timeline(app: CampaignsApp, args: argparse.Namespace) -> int:
    found = timeline(campaign_events(app, args.id))
    if args.json:
        print(to_json(found.as_dict()))
    else:
        print(_timeline_text(found, Style.for_stdout()))
    return ExitCode.OK


def _timeline_text(found: Timeline, style: Style) -> str:
    counts = found.counts
    lines = [
        (
            f"{found.name} ({found.campaign_id}): {style.status(found.status)}, "
            f"{found.total} contacts: {counts_text(counts)}"
        ),
        "",
    ]
    rows = [
        [
            when(m.time),
            str(m.version),
            m.what,
            "-" if m.index is None else _cell(contact_words(m.index, found.total)),
            m.reason or "",
            m.detail or "",
        ]
        for m in found.milestones
    ]
    lines.append(render_table(("TIME", "VERSION", "WHAT", "CONTACT", "REASON", "DETAIL"), rows))
    low = found.configured_pacing.get("min_seconds", 0)
    high = found.configured_pacing.get("max_seconds", 0)
    configured = f"configured {low:g}-{high:g} s"
    used = found.pacing
    if used is None:
        lines.append(f"\npacing used: no waits recorded ({configured})")
    else:
        lines.append(
            f"\npacing used: {used.waits} wait{'s' if used.waits != 1 else ''}, "
            f"min {used.min_seconds:.1f} s, "
            f"mean {used.mean_seconds:.1f} s, max {used.max_seconds:.1f} s ({configured}); "
            f"{duration(used.mean_seconds * used.waits)} of waiting in all"
        )
    ending = found.ending
    if ending is not None:
        lines.append(f"stopped: {_ending_text(ending, found.total)}")
    return "\n".join(lines)


def _ending_text(ending: Milestone, total: int) -> str:
    text = f"{ending.what} on {when(ending.time)}"
    if ending.index is not None:
        text += f" at {contact_words(ending.index, total)}"
    if ending.reason:
        text += f": {ending.reason}"
    if ending.detail:
        text += f" ({ending.detail})"
    return text
