"""Idempotency keys: a request made twice with the same key makes one campaign.

The campaign's id is derived from the key (domain/campaign.py request_key_id), so the store
itself refuses a second campaign under one key, across restarts and processes; the sha256
of the request, recorded with the campaign, tells a repeat from another request.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID

from app.errors import AppError

MAX_KEY_LENGTH: Final = 255


@dataclass(frozen=True)
class RequestKey:
    """A client's Idempotency-Key and the sha256 of the request it came with."""

    key: str
    body_sha256: str

    def record(self) -> dict[str, Any]:
        """Return the key as JSON-native data for the campaign's creation event."""
        return {"key": self.key, "body_sha256": self.body_sha256}


class IdempotencyConflictError(AppError):
    """The key already made a campaign from another request; nothing was recorded."""

    def __init__(self, key: str, campaign_id: UUID) -> None:
        super().__init__(
            f"Idempotency-Key {key[:64]!r} was used for another request, which made campaign "
            f"{campaign_id}: send that request again, or use a new key for a new campaign"
        )
        self.campaign_id = campaign_id


def key_problem(key: str) -> str | None:
    """Return why `key` cannot be an Idempotency-Key, or None if it can."""
    if not key.strip():
        return "must not be empty or blank"
    if len(key) > MAX_KEY_LENGTH:
        return f"at most {MAX_KEY_LENGTH} characters"
    if not all(" " <= character <= "~" for character in key):
        return "printable ASCII only (e.g. a UUID)"
    return None


@dataclass(frozen=True)
class HashedBytes:
    """Bytes hashed already (a file hashed as it arrived): `digest` takes their sha256 as is."""

    sha256: bytes


def digest(*parts: Any) -> str:
    """Return the sha256 of JSON-native parts (bytes are hashed first), keys in order."""
    hashed = hashlib.sha256()
    for part in parts:
        if isinstance(part, bytes):
            hashed.update(hashlib.sha256(part).digest())
        elif isinstance(part, HashedBytes):
            hashed.update(part.sha256)
        else:
            hashed.update(json.dumps(part, sort_keys=True, separators=(",", ":")).encode())
        hashed.update(b"\x00")
    return hashed.hexdigest()
