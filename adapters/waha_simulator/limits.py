"""WhatsApp's own limits on an account, as newer WAHA reports them (waha-api.md §1).

`reachoutTimelock` (ReachoutTimelockData: the restriction behind error 463 on new contacts)
and `messageCapping` (MessageCappingData: the new-chat quota) appear in `me`, in
`GET /api/sessions/{s}/timelock` and `/capping`, and are pushed in `session.status` webhooks.
The control API sets them; values a control leaves out get the defaults below.
"""

from __future__ import annotations

from typing import Any, Final

from adapters.waha_simulator.bodies import JSONObject

TIMELOCK: Final = "reachoutTimelock"
CAPPING: Final = "messageCapping"
CAPPING_STATUSES: Final = ("NONE", "FIRST_WARNING", "SECOND_WARNING", "CAPPED")

# What the routes answer for an account WhatsApp does not limit. WAHA's own values for a fresh
# account are not recorded; these say "no lock, no cap" in the documented shapes.
NO_TIMELOCK: Final[JSONObject] = {
    "enforcementType": "DEFAULT",
    "isActive": False,
    "timeEnforcementEnds": None,
}
NO_CAPPING: Final[JSONObject] = {
    "cappingStatus": "NONE",
    "totalQuota": -1,  # -1: no cap
    "usedQuota": 0,
    "cycleStart": None,
    "cycleEnd": None,
    "mvStatus": None,
    "oteStatus": None,
}


def _typed(given: JSONObject, name: str, kinds: tuple[type, ...], default: Any) -> Any:
    """Return `given[name]` if of `kinds`, else `default`; `...` makes it required."""
    if name not in given and default is ...:
        raise ValueError(f"{name} is required")
    value = given.get(name, default)
    # JSON true is a Python int too: refuse it where a number is wanted.
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise ValueError(f"{name} has the wrong type")
    return value


def timelock(given: JSONObject) -> JSONObject:
    """Return ReachoutTimelockData from a control's `reachoutTimelock`, or raise ValueError."""
    return {
        "enforcementType": _typed(given, "enforcementType", (str,), "DEFAULT"),
        "isActive": _typed(given, "isActive", (bool,), ...),
        "timeEnforcementEnds": _typed(given, "timeEnforcementEnds", (int, type(None)), None),
    }


def capping(given: JSONObject) -> JSONObject:
    """Return MessageCappingData from a control's `messageCapping`, or raise ValueError."""
    status = _typed(given, "cappingStatus", (str,), ...)
    if status not in CAPPING_STATUSES:
        raise ValueError(f"cappingStatus must be one of {', '.join(CAPPING_STATUSES)}")
    number = (int, type(None))
    return {
        "cappingStatus": status,
        "totalQuota": _typed(given, "totalQuota", (int,), NO_CAPPING["totalQuota"]),
        "usedQuota": _typed(given, "usedQuota", (int,), 0),
        "cycleStart": _typed(given, "cycleStart", number, None),
        "cycleEnd": _typed(given, "cycleEnd", number, None),
        "mvStatus": _typed(given, "mvStatus", (str, type(None)), None),
        "oteStatus": _typed(given, "oteStatus", (str, type(None)), None),
    }


def changes(body: JSONObject) -> dict[str, JSONObject | None]:
    """Return the limits a control body sets (an object) or clears (null), by `me` field.

    Raises ValueError for a body that names neither, or a value of the wrong shape.
    """
    found: dict[str, JSONObject | None] = {}
    for name, build in ((TIMELOCK, timelock), (CAPPING, capping)):
        if name not in body:
            continue
        value = body[name]
        if value is not None and not isinstance(value, dict):
            raise ValueError(f"{name} must be an object or null")
        found[name] = None if value is None else build(value)
    if not found:
        raise ValueError(f"give {TIMELOCK} and/or {CAPPING} (an object, or null to clear)")
    return found
