"""How commands print: tables and colour for people, JSON for programs, one-line errors."""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, TextIO

from adapters.cli.arguments import ExitCode
from domain.numbering import contact_words, next_contact_words

_COLOURS: Final = {"red": "31", "green": "32", "yellow": "33", "cyan": "36", "dim": "2"}
# Past a century an estimate says only "never", and the arithmetic would stop being exact.
_CENTURY: Final = 100 * 365 * 86_400
# The largest unit a span reaches, then the next one down: 2d 04h, 3h 05m, 12m 30s.
_SPANS: Final = ((86_400, 3600, "d", "h"), (3600, 60, "h", "m"), (60, 1, "m", "s"))
_STATUS_COLOURS: Final = {
    "Scheduled": "dim",
    "Running": "cyan",
    "Paused": "yellow",
    "Completed": "green",
    "Cancelled": "red",
}


def is_terminal(stream: TextIO) -> bool:
    """Return whether a person is probably reading `stream`."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Style:
    """Colours text only for a terminal that wants them (NO_COLOR and TERM=dumb turn it off)."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled

    @classmethod
    def for_stream(cls, stream: TextIO) -> Style:
        """Return the style for `stream`."""
        wanted = "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
        return cls(enabled=wanted and is_terminal(stream))

    @classmethod
    def for_stdout(cls) -> Style:
        """Return the style for standard output."""
        return cls.for_stream(sys.stdout)

    def paint(self, text: str, colour: str) -> str:
        """Return `text` in `colour` (a key of the palette), if colour is on."""
        if not self.enabled or colour not in _COLOURS:
            return text
        return f"\x1b[{_COLOURS[colour]}m{text}\x1b[0m"

    def status(self, status: str) -> str:
        """Return a campaign status, coloured by what it means."""
        return self.paint(status, status_colour(status))


def status_colour(status: str) -> str:
    """Return the palette colour of a campaign status."""
    return _STATUS_COLOURS.get(status, "")


def render_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    style: Style | None = None,
    colour: Callable[[int, str], str] | None = None,
) -> str:
    """Return rows aligned under headers, numbers to the right.

    `colour(column, cell)` names a palette colour for a cell ("" for none); used if `style` is on.
    """
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    numeric = [bool(rows) and all(_is_number(row[i]) for row in rows) for i in range(len(headers))]

    def line(cells: Sequence[str], *, header: bool) -> str:
        parts = []
        for i, cell in enumerate(cells):
            gap = " " * (widths[i] - len(cell))
            text = cell
            if style is not None and colour is not None and not header:
                text = style.paint(cell, colour(i, cell))
            parts.append(gap + text if numeric[i] else text + gap)
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers, header=True), *(line(r, header=False) for r in rows)])


def _is_number(text: str) -> bool:
    return text.replace(".", "", 1).isdigit() or text == "-"


def to_json(value: Any) -> str:
    """Return `value` as one line of JSON."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def print_json(value: Any) -> None:
    """Print `value` as indented JSON."""
    print(json.dumps(value, ensure_ascii=False, indent=2))


def fail(message: str, code: ExitCode) -> int:
    """Print one line to stderr and return `code`: every error ends here, never a traceback."""
    print(f"waha-campaigns: {message}", file=sys.stderr)
    return int(code)


def reader_left() -> int:
    """End quietly when whoever reads standard output stopped reading (`... | head`)."""
    # Python would complain again when it flushes stdout at exit: point it at nowhere first.
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return int(ExitCode.OK)


def when(value: object) -> str:
    """Return a time for people: UTC to the second, or "-"; text that is not a time as it is."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
    try:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    except OverflowError:  # a time UTC cannot show, such as year 1 at +01:00
        return moment.isoformat()


def duration(seconds: float) -> str:
    """Return a span for people: 0.6s, 45s, 12m 30s, 3h 05m, 2d 04h; any float gives a text."""
    if math.isnan(seconds):
        return "unknown"
    if seconds >= _CENTURY:  # infinity too: a pacing of 1e308 seconds
        return "over 100 years"
    if seconds < 10:  # noqa: PLR2004 - below ten seconds a tenth still matters
        return f"{max(0.0, seconds):.1f}s"
    whole = round(seconds)
    for unit, part, unit_name, part_name in _SPANS:
        if whole >= unit:
            return f"{whole // unit}{unit_name} {whole % unit // part:02d}{part_name}"
    return f"{whole}s"


class Progress:
    """A one-line progress counter on a terminal's stderr; silent anywhere else."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._label = label
        self._enabled = is_terminal(self._stream)
        self._shown = 0

    def update(self, done: int, total: int | None = None) -> None:
        """Show `done` (of `total`), at most every thousand steps."""
        if not self._enabled or (done - self._shown < 1000 and done != total):  # noqa: PLR2004
            return
        self._shown = done
        of = f" of {total:,}" if total else ""
        self._stream.write(f"\r{self._label}: {done:,}{of}")
        self._stream.flush()

    def close(self) -> None:
        """Clear the line, so what follows starts clean."""
        if self._enabled and self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


def count(view: Mapping[str, Any], key: str) -> int:
    """Return a whole number from a campaign view; 0 where the service sent none (or nonsense)."""
    value = view.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def handled(view: Mapping[str, Any]) -> int:
    """Return how many contacts of a campaign view have an outcome."""
    return sum(count(view, k) for k in ("sent", "failed", "skipped", "in_doubt"))


def counts_text(view: Mapping[str, Any]) -> str:
    """Return a campaign's outcome counts for people."""
    return (
        f"{view.get('sent', 0)} sent, {view.get('failed', 0)} failed, "
        f"{view.get('skipped', 0)} skipped, {view.get('in_doubt', 0)} in doubt"
    )


def _whole(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def at_contact(view: Mapping[str, Any], index: object) -> str:
    """Return " at contact 4 of 15 (index 3)" for a view's 0-based index; "" if there is none."""
    found = _whole(index)
    if found is None:
        return ""
    total = _whole(view.get("total"))
    if total is not None and found >= total:
        return f" after the last contact ({total:,} of {total:,})"
    return " at " + contact_words(found, total)


def next_contact(view: Mapping[str, Any]) -> str:
    """Return the next contact a campaign view handles, for people (1-based, with the total)."""
    index, total = _whole(view.get("next_index")), _whole(view.get("total"))
    if index is None:
        return "?"
    return next_contact_words(index, total) if total is not None else contact_words(index)


def stop_reason(view: Mapping[str, Any]) -> str | None:
    """Return why a campaign is not running, or None while it runs or waits to start."""
    pause = view.get("pause")
    if view.get("status") == "Paused" and isinstance(pause, Mapping):
        detail = f" ({pause['detail']})" if pause.get("detail") else ""
        where = at_contact(view, pause.get("index"))
        said = f"paused{where} since {when(pause.get('at'))}: {pause.get('reason')}{detail}"
        return said + _resumes(view, pause)
    cancelled = view.get("cancelled")
    if view.get("status") == "Cancelled" and isinstance(cancelled, Mapping):
        return (
            f"cancelled{at_contact(view, cancelled.get('index'))} on "
            f"{when(cancelled.get('at'))}: {cancelled.get('reason')}"
        )
    if view.get("status") == "Completed":
        return f"completed on {when(view.get('completed_at'))}"
    return None


# Pause reasons that lift by themselves, as domain/campaign.py has them; for a service too old
# to say `pause.resumes_by_itself` in its views.
_SESSION_PAUSES: Final = frozenset(
    {"session_not_working", "status_check_failed", "waha_unavailable"}
)
_TIMED_PAUSES: Final = frozenset(
    {"outside_window", "daily_cap", "warmup_cap", "reachout_timelock", "capped"}
)


def resumes_by_itself(view: Mapping[str, Any]) -> bool:
    """Whether a paused campaign's pause lifts without an operator, as the view says.

    The service says so in `pause.resumes_by_itself`; for one too old to, the rule is applied
    to the reason: session pauses with auto_resume on, timed pauses with a resume_at, shutdown.
    """
    pause = view.get("pause")
    if not isinstance(pause, Mapping):
        return False
    said = pause.get("resumes_by_itself")
    if isinstance(said, bool):
        return said
    reason = pause.get("reason")
    if reason == "shutdown":
        return True
    if reason in _TIMED_PAUSES:
        return pause.get("resume_at") is not None
    options = view.get("options")
    auto_resume = options.get("auto_resume", True) if isinstance(options, Mapping) else True
    return reason in _SESSION_PAUSES and auto_resume is not False


def _resumes(view: Mapping[str, Any], pause: Mapping[str, Any]) -> str:
    """Say when a pause lifts by itself, or why it will not ("" if there is nothing to say)."""
    if pause.get("withheld"):
        return f"; stays paused: {pause['withheld']}"
    if not resumes_by_itself(view):
        return ""
    if pause.get("resume_at"):
        return f"; resumes by itself at {when(pause['resume_at'])}"
    if pause.get("reason") == "shutdown":
        return "; resumes when the service starts again"
    return "; resumes by itself when the session works again"


def _seconds(value: object) -> str:
    return f"{value:g}" if isinstance(value, int | float) else "?"


def delivery_text(view: Mapping[str, Any]) -> str:
    """Return how many sent messages WhatsApp delivered and how many were read (from acks)."""
    sent = count(view, "sent")
    return (
        f"{count(view, 'delivered')} of {sent} sent delivered, {count(view, 'read')} read "
        "(from WhatsApp's receipts)"
    )


def describe_campaign(view: Mapping[str, Any], style: Style, *, with_delivery: bool = False) -> str:
    """Return a campaign view (the service's JSON or a replayed state) as aligned lines.

    `with_delivery` adds the delivered and read counts, which only the service knows (a
    replay of the campaign's own events has no receipts).
    """
    pacing = view.get("pacing") or {}
    rows = [
        ("id", str(view.get("id"))),
        ("name", str(view.get("name"))),
        ("status", style.status(str(view.get("status")))),
        ("session", str(view.get("session"))),
        ("progress", f"{handled(view)} of {view.get('total')} handled: {counts_text(view)}"),
    ]
    if with_delivery:
        rows.append(("delivery", delivery_text(view)))
    rows += [
        ("next", next_contact(view)),
        ("scheduled", when(view.get("scheduled_for"))),
        ("started", when(view.get("started_at"))),
        ("completed", when(view.get("completed_at"))),
    ]
    if view.get("eta"):
        rows.append(("eta", when(view.get("eta"))))
    if isinstance(pacing, Mapping) and pacing:
        low, high = _seconds(pacing.get("min_seconds")), _seconds(pacing.get("max_seconds"))
        rows.append(("pacing", f"{low}-{high} s"))
    reason = stop_reason(view)
    if reason is not None and view.get("status") != "Completed":
        rows.append(("stopped", reason))
    rows.append(("version", str(view.get("version"))))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)
