"""An aggregate's state by value AND type, since a snapshot may keep a value but change its type.

Pitfall 9 of the eventsourcing notes: JSON snapshots turn a str-Enum into a plain str and int
dict keys into str, and `==` alone does not notice the first. Comparing these forms does.
"""

from __future__ import annotations

from datetime import datetime


def recorded_state(aggregate: object) -> object:
    """Return the aggregate's attributes, bar its pending events, tagged with their types."""
    return typed({k: v for k, v in vars(aggregate).items() if k != "_pending_events"})


def typed(value: object) -> object:
    """Return `value` with each leaf and dict key tagged with its type, times with offsets."""
    if isinstance(value, dict):
        return {(type(k).__qualname__, k): typed(v) for k, v in value.items()}
    if isinstance(value, datetime):
        # Equal instants in different zones compare equal; a snapshot must keep the zone too.
        return ("datetime", value, value.utcoffset())
    if isinstance(value, list | tuple):
        return (type(value).__qualname__, [typed(v) for v in value])
    return (type(value).__qualname__, value)
