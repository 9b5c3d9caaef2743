"""WAHA sessions as the campaign sees them: a name, and an open set of statuses."""

from __future__ import annotations

from typing import Final, NewType

SessionName = NewType("SessionName", str)

# WAHA adds statuses over time (PASSKEY_REQUIRED arrived in 2026.7.1), so a status is any
# string; only this one lets a campaign send.
WORKING: Final = "WORKING"
KNOWN_STATUSES: Final = frozenset(
    {
        "STOPPED",
        "STARTING",
        "SCAN_QR_CODE",
        "WORKING",
        "FAILED",
        "PASSKEY_REQUIRED",
        "PASSKEY_CONFIRMATION_REQUIRED",
    }
)


def is_sendable(status: str) -> bool:
    """Return whether a session in `status` may be sent through; unknown statuses may not."""
    return status == WORKING
