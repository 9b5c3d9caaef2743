"""Whose contact goes next on a lane: campaigns take turns by contact, higher priority first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class Contender:
    """A running campaign waiting for its turn on a lane.

    `order` is fixed for the campaign's life (where it was scheduled in the log), so a
    campaign created later always comes after an earlier one within a round.
    """

    campaign_id: UUID
    priority: int
    order: int


def next_turn(contenders: Sequence[Contender], last_order: int | None) -> Contender | None:
    """Return whose contact goes after the campaign at `last_order` went, or None if nobody waits.

    Only the highest priority present takes turns; among equals, one contact each in `order`,
    starting after the last one served, so no campaign waits more than one round.
    """
    if not contenders:
        return None
    top = max(c.priority for c in contenders)
    pool = sorted((c for c in contenders if c.priority == top), key=lambda c: c.order)
    if last_order is not None:
        for contender in pool:
            if contender.order > last_order:
                return contender
    return pool[0]
