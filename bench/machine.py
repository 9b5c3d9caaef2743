"""The host's share of this VM's CPUs while a benchmark runs (Linux's steal time).

On a shared host the hypervisor now and then runs others on this VM's CPUs: the "slow spells"
BENCHMARKS.md marks, when even the baselines that touch none of our code ran 15-40 % slower.
A benchmark prints the steal beside its figures so that such a run shows itself as one.
"""

from __future__ import annotations

from pathlib import Path

_STAT = Path("/proc/stat")


def _cpu_times() -> tuple[int, int] | None:
    """Return (steal, all) jiffies of every CPU since boot, or None off Linux."""
    try:
        first = _STAT.read_text().splitlines()[0].split()
    except OSError:
        return None
    if first[0] != "cpu" or len(first) < 9:
        return None
    times = [int(value) for value in first[1:]]
    return times[7], sum(times[:8])  # guest time is counted in user time already


class Steal:
    """The steal time between its making and each `percent()`."""

    def __init__(self) -> None:
        self._start = _cpu_times()

    def percent(self) -> float | None:
        """Return the CPUs' time the host took since the start, in percent (None off Linux)."""
        now = _cpu_times()
        if self._start is None or now is None or now[1] == self._start[1]:
            return None
        return 100 * (now[0] - self._start[0]) / (now[1] - self._start[1])

    def line(self) -> str:
        """Return the figure as a line of a benchmark's output."""
        share = self.percent()
        if share is None:
            return "  host steal: not known (no /proc/stat)"
        return f"  host steal: {share:.1f} % of the CPUs' time (a slow spell shows here)"
