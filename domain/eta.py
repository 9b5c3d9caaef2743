"""When a campaign should finish: its lane's share, the pacing, the window and the caps.

An estimate, recomputed from the record whenever it is asked: the campaigns running on the
same number take turns contact by contact (higher priority first), each wait is the mean of
its campaign's pacing, sends go only while the windows are open, and no local day sends more
than its cap.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from domain.number_settings import NumberSettings
from domain.window import SendWindow, next_local_day_start

# Beyond this an estimate says nothing useful (a cap of 0, windows that never meet).
HORIZON: Final = timedelta(days=400)


@dataclass(frozen=True)
class Share:
    """A running campaign on the number, as the rotation sees it."""

    remaining: int
    mean_gap_seconds: float
    priority: int = 0


@dataclass(frozen=True)
class LaneWork:
    """The sends the number makes until a campaign's last contact, and their waits."""

    sends: int
    seconds: float

    @property
    def seconds_per_send(self) -> float:
        """The mean time a send takes on the lane."""
        return self.seconds / self.sends if self.sends else 0.0


def lane_work(ours: Share, others: Sequence[Share]) -> LaneWork:
    """Return the lane's work until `ours` is done: higher priorities first, equals in turns."""
    sends = 0
    seconds = 0.0
    for other in others:
        if other.priority > ours.priority:
            sends += other.remaining
            seconds += other.remaining * other.mean_gap_seconds
    turns = [ours, *(o for o in others if o.priority == ours.priority)]
    done = 0  # rounds so far: one contact of each campaign still running
    while True:
        active = [s for s in turns if s.remaining > done]
        if not active:
            return LaneWork(sends, seconds)
        rounds = min(s.remaining for s in active) - done
        if ours.remaining - done <= rounds:
            rounds = ours.remaining - done
            # Every campaign still running is counted in the last round too: a little late
            # rather than early.
            sends += rounds * len(active)
            seconds += rounds * sum(s.mean_gap_seconds for s in active)
            return LaneWork(sends, seconds)
        sends += rounds * len(active)
        seconds += rounds * sum(s.mean_gap_seconds for s in active)
        done += rounds


def finish_at(
    work: LaneWork,
    start: datetime,
    settings: NumberSettings,
    *,
    sent_today: int = 0,
    today_start: datetime | None = None,
    campaign_window: SendWindow | None = None,
) -> datetime | None:
    """Return when the lane's `work` is done from `start`, or None beyond HORIZON.

    `sent_today` counts the sends of the number's local day that began at `today_start`.
    """
    if work.sends <= 0:
        return start
    per_send = work.seconds_per_send
    left = work.sends
    used: dict[date, int] = {}
    if today_start is not None:
        used[settings.local_day(today_start)] = sent_today
    for span_start, span_end in _spans(settings, campaign_window, start, start + HORIZON):
        day = settings.local_day(span_start)
        cap = settings.cap_on(span_start)
        room = math.inf if cap is None else max(0, cap.limit - used.get(day, 0))
        if per_send > 0:
            room = min(room, math.floor((span_end - span_start).total_seconds() / per_send))
        if left <= room:
            return span_start + timedelta(seconds=left * per_send)
        taken = int(room)
        left -= taken
        used[day] = used.get(day, 0) + taken
    return None


def _spans(
    settings: NumberSettings, campaign: SendWindow | None, since: datetime, until: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """Yield the open stretches from `since`, each within one local day of the number."""
    for start, end in _open(settings.window, campaign, since, until):
        moment = start
        while moment < end:
            midnight = next_local_day_start(moment, settings.zone)
            yield moment, min(end, midnight)
            moment = min(end, midnight)


def _open(
    first: SendWindow | None, second: SendWindow | None, since: datetime, until: datetime
) -> Iterator[tuple[datetime, datetime]]:
    if first is None and second is None:
        yield since, until
        return
    if first is None or second is None:
        window = first or second
        assert window is not None  # noqa: S101 - one of them is set
        yield from window.open_spans(since, until)
        return
    for start, end in first.open_spans(since, until):
        yield from second.open_spans(start, end)
