"""`session list|show|set`: the WhatsApp numbers and their guardrails, through the service."""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from collections.abc import Mapping
from typing import Any, Final

from adapters.cli.arguments import (
    SERVICE_EXITS,
    ExitCode,
    Subparsers,
    add_command,
    add_json_option,
    add_service_options,
)
from adapters.cli.output import Style, print_json, render_table, when
from adapters.cli.service_client import ServiceClient, run_with_service

_NONE: Final = "none"
_DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS: Final = re.compile(r"^(\d{2}:\d{2})-(\d{2}:\d{2})$")
_SESSION: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SESSION_EXITS: Final = {**SERVICE_EXITS, ExitCode.NOT_FOUND: "no session has that name"}


def window_spec(text: str) -> dict[str, object] | None:
    """Parse `DAYS HH:MM-HH:MM ZONE` (e.g. `mon-fri 09:00-18:00 Europe/Berlin`), or `none`."""
    if text.strip().lower() == _NONE:
        return None
    parts = text.split()
    hours = _HOURS.match(parts[1]) if len(parts) == 3 else None  # noqa: PLR2004 - three parts
    days = _days(parts[0]) if hours is not None else None
    if hours is None or days is None:
        raise argparse.ArgumentTypeError(
            f"a window is DAYS HH:MM-HH:MM TIMEZONE, e.g. 'mon-fri 09:00-18:00 Europe/Berlin' "
            f"(or none): {text[:60]!r}"
        )
    return {"days": days, "start": hours[1], "end": hours[2], "timezone": parts[2]}


def _days(text: str) -> list[str] | None:
    """Return the days of `mon-fri`, `sat,sun` or `mon-wed,fri` in week order (None: unreadable)."""
    found: set[int] = set()
    for part in text.lower().split(","):
        first, _, last = part.partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            return None
        start, end = _DAYS.index(first), _DAYS.index(last or first)
        span = range(start, end + 1) if start <= end else [*range(start, 7), *range(end + 1)]
        found.update(span)
    return [_DAYS[d] for d in sorted(found)]


def warmup_spec(text: str) -> dict[str, object] | None:
    """Parse `YYYY-MM-DD:CAP,CAP,...` (e.g. `2026-12-01:20,50,100,200`), or `none`."""
    if text.strip().lower() == _NONE:
        return None
    started, _, caps = text.partition(":")
    try:
        values = [int(c) for c in caps.split(",")]
    except ValueError:
        values = []
    if not started or not values:
        raise argparse.ArgumentTypeError(
            f"a warm-up is START:CAPS, e.g. '2026-12-01:20,50,100,200' (or none): {text[:60]!r}"
        )
    return {"started_on": started.strip(), "caps": values}


def count_or_none(text: str) -> int | None:
    """Parse a whole number, or `none` (to clear the setting)."""
    if text.strip().lower() == _NONE:
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number or none: {text[:40]!r}") from None


def session_name(text: str) -> str:
    """Parse a WAHA session's name for argparse."""
    if not _SESSION.match(text):
        raise argparse.ArgumentTypeError(
            f"a session is letters, digits, - and _ (1 to 64): {text[:64]!r}"
        )
    return text


def add_parser(subparsers: Subparsers) -> None:
    """Add `session` with `list`, `show` and `set`."""
    session = add_command(
        subparsers,
        "session",
        summary="the WhatsApp numbers (sessions): their status and guardrails",
        description=(
            "List the sessions, show one (WAHA's status, who sends for it, sent today, the "
            "effective cap, the window), or change its guardrails: a sending window, a daily "
            "cap, a warm-up and how long before a number may be messaged again."
        ),
        exits=_SESSION_EXITS,
    )
    actions = session.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every session with campaigns, settings or a lane")
    add_json_option(listing)
    add_service_options(listing)
    listing.set_defaults(func=run_list)

    show = actions.add_parser("show", help="one session")
    show.add_argument("name", type=session_name, metavar="SESSION")
    add_json_option(show)
    add_service_options(show)
    show.set_defaults(func=run_show)

    change = actions.add_parser(
        "set",
        help="change a session's guardrails (each given setting; none clears one)",
        description="Change any of the session's settings; a setting not given is kept.",
    )
    change.add_argument("name", type=session_name, metavar="SESSION")
    change.add_argument(
        "--window",
        type=window_spec,
        default=argparse.SUPPRESS,
        metavar="SPEC",
        help="DAYS HH:MM-HH:MM TIMEZONE, e.g. 'mon-fri 09:00-18:00 Europe/Berlin'; an end "
        "before the start spans midnight; none clears it",
    )
    change.add_argument(
        "--daily-cap",
        type=count_or_none,
        default=argparse.SUPPRESS,
        metavar="N",
        help="most messages per local day, or none",
    )
    change.add_argument(
        "--warmup",
        type=warmup_spec,
        default=argparse.SUPPRESS,
        metavar="SPEC",
        help="START:CAPS, the caps of weeks 1, 2, ... from the number's first day, e.g. "
        "'2026-12-01:20,50,100,200'; none clears it",
    )
    change.add_argument(
        "--recontact-after-days",
        type=count_or_none,
        default=argparse.SUPPRESS,
        metavar="N",
        help="skip numbers this session messaged within N days, or none",
    )
    add_json_option(change)
    add_service_options(change)
    change.set_defaults(func=run_set)


_SETTINGS: Final = ("window", "daily_cap", "warmup", "recontact_after_days")


def _changes(args: argparse.Namespace) -> dict[str, object]:
    # Each setting's flag defaults to "absent" (SUPPRESS): given as none, it clears the setting.
    return {name: getattr(args, name) for name in _SETTINGS if hasattr(args, name)}


def run_list(args: argparse.Namespace) -> int:
    """Print every session as a table, or JSON."""

    async def listing(client: ServiceClient) -> int:
        page = await client.call("GET", "/sessions")
        items = [i for i in page.get("items", []) if isinstance(i, Mapping)]
        if args.json:
            print_json(page)
            return ExitCode.OK
        if not items:
            print("no sessions", file=sys.stderr)
            return ExitCode.OK
        rows = [
            [
                str(s.get("session")),
                str(s.get("waha_status") or "?"),
                _lane(s),
                str(s.get("sent_today", 0)),
                "-" if s.get("effective_cap") is None else str(s.get("effective_cap")),
                _window_state(s),
                str(len(s.get("running") or [])),
                str(len(s.get("paused") or [])),
            ]
            for s in items
        ]
        headers = ("SESSION", "WAHA", "LANE", "SENT TODAY", "CAP", "WINDOW", "RUNNING", "PAUSED")
        print(render_table(headers, rows, style=Style.for_stdout()))
        return ExitCode.OK

    return run_with_service(args, listing)


def run_show(args: argparse.Namespace) -> int:
    """Print one session."""

    async def show(client: ServiceClient) -> int:
        view = await client.call("GET", f"/sessions/{args.name}")
        if args.json:
            print_json(view)
        else:
            print(describe_session(view))
        return ExitCode.OK

    return run_with_service(args, show)


def run_set(args: argparse.Namespace) -> int:
    """Change the session's settings and show it."""
    changes = _changes(args)
    if not changes:
        print(
            "waha-campaigns: give at least one of --window, --daily-cap, --warmup, "
            "--recontact-after-days",
            file=sys.stderr,
        )
        return int(ExitCode.USAGE)

    async def change(client: ServiceClient) -> int:
        view = await client.call(
            "PUT",
            f"/sessions/{args.name}/settings",
            json=changes,
            headers={"X-Operator": _operator()},
        )
        if args.json:
            print_json(view)
        else:
            print(describe_session(view))
        return ExitCode.OK

    return run_with_service(args, change)


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (OSError, KeyError):  # no user name in this environment
        return "cli"


def _lane(view: Mapping[str, Any]) -> str:
    lane = view.get("lane")
    return str(lane.get("owner")) if isinstance(lane, Mapping) else "-"


def _window_state(view: Mapping[str, Any]) -> str:
    if view.get("window_open") is None:
        return "-"
    if view.get("window_open"):
        return (
            f"open until {when(view.get('window_closes_at'))}"
            if view.get("window_closes_at")
            else "open"
        )
    return f"opens {when(view.get('window_opens_at'))}"


def describe_session(view: Mapping[str, Any]) -> str:
    """Return a session's view as aligned lines."""
    settings = view.get("settings") if isinstance(view.get("settings"), Mapping) else {}
    assert isinstance(settings, Mapping)  # noqa: S101 - narrowed above
    window = settings.get("window")
    warmup = settings.get("warmup")
    cap = view.get("effective_cap")
    rows = [
        ("session", str(view.get("session"))),
        ("waha", f"{view.get('waha_status') or 'unknown'} {view.get('waha_detail') or ''}".strip()),
        ("lane", _lane(view)),
        ("window", _window_text(window) if isinstance(window, Mapping) else "none"),
        ("", _window_state(view)) if isinstance(window, Mapping) else ("", ""),
        ("daily cap", str(settings.get("daily_cap") or "none")),
        (
            "warm-up",
            f"from {warmup.get('started_on')}: {warmup.get('caps')}"
            if isinstance(warmup, Mapping)
            else "none",
        ),
        ("recontact", _recontact(settings.get("recontact_after_days"))),
        (
            "today",
            f"{view.get('sent_today', 0)} sent since {when(view.get('day_started_at'))}"
            + ("" if cap is None else f"; cap {cap} ({view.get('cap_kind')})"),
        ),
        ("running", ", ".join(view.get("running") or []) or "none"),
        ("paused", ", ".join(view.get("paused") or []) or "none"),
        (
            "changed",
            f"{when(view.get('settings_changed_at'))} by {view.get('settings_changed_by')}",
        ),
    ]
    shown = [(k, v) for k, v in rows if k or v]
    width = max(len(k) for k, _ in shown)
    return "\n".join(f"{k.ljust(width)}  {v}".rstrip() for k, v in shown)


def _window_text(window: Mapping[str, Any]) -> str:
    days = ",".join(str(d) for d in window.get("days") or [])
    return f"{days} {window.get('start')}-{window.get('end')} {window.get('timezone')}"


def _recontact(days: object) -> str:
    return "any time" if days is None else f"not within {days} day(s)"
