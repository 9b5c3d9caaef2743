"""The collector's tuning: a larger young generation, and what the start built left out.

The suite's autouse fixture (tests/conftest.py) gives the collector back as it was.
"""

from __future__ import annotations

import gc

from adapters import collector


def test_tune_makes_young_collections_rarer_and_keeps_the_older_ratios() -> None:
    gc.set_threshold(700, 10, 10)

    collector.tune()

    assert gc.get_threshold() == (collector.YOUNG_THRESHOLD, 10, 10)


def test_settle_leaves_what_lives_now_out_of_later_collections() -> None:
    class Built:
        """Stands for what the start built."""

    built = Built()
    gc.unfreeze()

    collector.settle()

    assert gc.get_freeze_count() > 0
    assert not any(o is built for o in gc.get_objects())  # frozen: no generation holds it
