"""`watch`: follow a campaign live until it ends, or pauses waiting for an operator.

Pauses that lift by themselves (a session that comes back with auto-resume on, a closed
sending window, a daily cap, a stopped service) are followed through, not taken for an end.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TextIO
from uuid import UUID

from adapters import bootstrap
from adapters.cli.arguments import (
    SERVICE_EXITS,
    ExitCode,
    Subparsers,
    add_command,
    add_service_options,
    campaign_id,
    seconds,
)
from adapters.cli.output import (
    Style,
    count,
    duration,
    handled,
    is_terminal,
    resumes_by_itself,
    stop_reason,
    to_json,
    when,
)
from adapters.cli.service_client import ServiceClient, ServiceError, run_with_service
from app.ports import Clock, Sleeper

BAR_WIDTH: Final = 30
# A service restart should not end a watch; a wrong URL should end it at once.
MISSED_POLLS_ALLOWED: Final = 3
# A rate over a few seconds says more about the polls than about the campaign.
RATE_AFTER_SECONDS: Final = 10.0
_COUNTS: Final = ("sent", "failed", "skipped", "in_doubt")
_ENDED: Final = {"Completed": ExitCode.OK, "Cancelled": ExitCode.FAILED}


def add_parser(subparsers: Subparsers) -> None:
    """Add `watch`."""
    parser = add_command(
        subparsers,
        "watch",
        summary="follow a campaign live until it ends or needs an operator",
        description=(
            "Poll the campaign and show sent, failed, skipped and in-doubt contacts, the rate "
            "and the time left at its pacing: a progress bar on a terminal, otherwise one line "
            "per change. Ends when the campaign completes or is cancelled, or pauses in a way "
            "that only an operator lifts (e.g. manual, too_many_failures, account_restricted, "
            "or a session pause with auto-resume off or withheld), saying why. A pause that "
            "lifts by itself (the session comes back with auto-resume on, a sending window or "
            "cap with its resume time, a stopped service) is shown and followed through."
        ),
        exits={
            **SERVICE_EXITS,
            ExitCode.OK: "the campaign completed",
            ExitCode.FAILED: (
                "the campaign was cancelled, or paused until an operator resumes it (with "
                "--exit-on-pause: paused for any reason)"
            ),
        },
    )
    parser.add_argument("id", type=campaign_id, metavar="ID")
    parser.add_argument(
        "--interval",
        type=seconds,
        default=2.0,
        metavar="SECONDS",
        help="seconds between polls (default: 2)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the campaign as one JSON line per change"
    )
    parser.add_argument(
        "--exit-on-pause",
        action="store_true",
        help="end at any pause, also one that lifts by itself (exit 1)",
    )
    add_service_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Watch with the real clock and sleeper."""
    interval: float = args.interval

    clock, sleeper = bootstrap.system_time()

    async def follow(client: ServiceClient) -> int:
        return await watch_campaign(
            client,
            args.id,
            interval=interval,
            sleeper=sleeper,
            clock=clock,
            out=sys.stdout,
            as_json=args.json,
            exit_on_pause=args.exit_on_pause,
        )

    return run_with_service(args, follow)


@dataclass
class _Rate:
    """Contacts handled per minute since the watch began."""

    since: datetime | None = None
    handled_then: int = 0

    def per_minute(self, now: datetime, handled_now: int) -> float | None:
        if self.since is None:
            self.since, self.handled_then = now, handled_now
            return None
        seconds = (now - self.since).total_seconds()
        if seconds < RATE_AFTER_SECONDS:
            return None
        return (handled_now - self.handled_then) * 60 / seconds


async def watch_campaign(
    client: ServiceClient,
    campaign: UUID,
    *,
    interval: float,
    sleeper: Sleeper,
    clock: Clock,
    out: TextIO,
    interactive: bool | None = None,
    as_json: bool = False,
    exit_on_pause: bool = False,
) -> int:
    """Poll until the campaign ends or waits for an operator; return its exit code.

    0 when it completed; 1 when it was cancelled, or paused by something that does not lift
    by itself (any pause with `exit_on_pause`).
    """
    live = not as_json and (is_terminal(out) if interactive is None else interactive)
    style = Style(enabled=live) if interactive is not None else Style.for_stream(out)
    rate, last_state, missed = _Rate(), None, 0
    while True:
        try:
            view = await client.campaign(campaign)
            missed = 0
        except ServiceError as error:
            missed += 1
            transient = error.code == ExitCode.UNAVAILABLE and last_state is not None
            if not transient or missed > MISSED_POLLS_ALLOWED:
                raise
            await sleeper.sleep(interval)
            continue
        now = clock.now()
        line = progress_line(view, rate.per_minute(now, handled(view)), style, bar=live)
        # A change is a change of the campaign, not of the rate or the estimate.
        pause = view.get("pause")
        reason = pause.get("reason") if isinstance(pause, Mapping) else None
        state = (*(view.get(k) for k in ("status", *_COUNTS, "next_index")), reason)
        if live:
            out.write(f"\r{line}\x1b[K")
            out.flush()
        elif state != last_state:
            out.write(f"{to_json(view)}\n" if as_json else f"{when(now)}  {line}\n")
            out.flush()
        status = str(view.get("status"))
        waits_for_operator = status == "Paused" and (exit_on_pause or not resumes_by_itself(view))
        if status in _ENDED or waits_for_operator:
            if live:
                out.write("\n")
            if not as_json:
                out.write(f"{stop_reason(view)}\n")
            out.flush()
            return _ENDED.get(status, ExitCode.FAILED)
        if status == "Paused" and state != last_state and not as_json:
            # Said once per pause, on its own line: the bar goes on below it.
            out.write(f"{chr(10) if live else ''}{stop_reason(view)}; still watching\n")
            out.flush()
        last_state = state
        await sleeper.sleep(interval)


def progress_line(
    view: Mapping[str, Any], per_minute: float | None, style: Style, *, bar: bool
) -> str:
    """Return one line of progress: counts, rate and the time left at the campaign's pacing."""
    total = count(view, "total")
    done = handled(view)
    status = str(view.get("status"))
    parts = [style.status(status)]
    if bar:
        filled = min(BAR_WIDTH, BAR_WIDTH * done // total) if total > 0 else BAR_WIDTH
        parts.append("[" + "#" * filled + "." * (BAR_WIDTH - filled) + "]")
    parts.append(f"{done}/{total}")
    parts.append(
        f"sent {view.get('sent', 0)}  "
        + style.paint(f"failed {view.get('failed', 0)}", "red" if view.get("failed") else "")
        + f"  skipped {view.get('skipped', 0)}  in doubt {view.get('in_doubt', 0)}"
    )
    if status == "Scheduled":
        parts.append(f"starts {when(view.get('scheduled_for'))}")
        return "  ".join(parts)
    if per_minute is not None:
        parts.append(f"{per_minute:.1f}/min")
    left = time_left(view)
    if left is not None and status == "Running":
        parts.append(f"~{duration(left)} left")
    return "  ".join(parts)


def time_left(view: Mapping[str, Any]) -> float | None:
    """Return the seconds the remaining contacts take at the mean of the campaign's pacing."""
    pacing = view.get("pacing")
    if not isinstance(pacing, Mapping):
        return None
    try:
        mean = (float(pacing["min_seconds"]) + float(pacing["max_seconds"])) / 2
    except (KeyError, TypeError, ValueError):
        return None
    remaining = max(0, count(view, "total") - handled(view))
    # One wait follows every contact but the last (and 0 waits of an endless pacing is none).
    waits = max(0, remaining - 1)
    return waits * mean if waits else 0.0
