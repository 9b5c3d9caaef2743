"""CPython's garbage collector, tuned for a long-running service: fewer, shorter collections.

Measured with bench/lanes.py (500 numbers at one message a second, one process): with the
interpreter's defaults (a young collection every 700 net allocations) the service spent
5.7 s of its 75 s in 2,300 collections, and each of its 14 full collections stopped the event
loop for 180-325 ms, scanning the 200,000-odd objects alive. Those stops were the p99 of the
sends' lateness. A young generation of 20,000 objects and a freeze of what the composition
root built (modules, settings, the services, which live as long as the process) cut that to
about 0.4 s per run (bench figures in BENCHMARKS.md; app/guardrails.py keeps its long memory
in plain tuples for the same reason).

Memory: frozen objects are never collected, which is right for what the composition root
builds (settled before any lane runs, so nothing passing is frozen); the larger young
generation holds at most a few MiB more before it is collected.
"""

from __future__ import annotations

import gc
from typing import Final

# Net allocations of container objects between young collections (CPython's default: 700).
YOUNG_THRESHOLD: Final = 20_000


def tune() -> None:
    """Collect the young generation less often; the older generations keep their ratios."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


def settle() -> None:
    """Leave what exists now out of every later collection (once the services are built)."""
    gc.collect()
    gc.freeze()
