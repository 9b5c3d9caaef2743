"""Frozen read models that queries return; JSON-ready through `as_dict`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from uuid import UUID


def jsonable(value: Any) -> Any:
    """Return `value` with datetimes as ISO 8601 text and UUIDs as strings, recursively."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


class JsonView:
    """A frozen dataclass view that turns into JSON-native data."""

    def as_dict(self) -> dict[str, Any]:
        """Return the view as JSON-native data."""
        return dict(jsonable(asdict(self)))  # type: ignore[call-overload]


@dataclass(frozen=True)
class PauseView:
    """Why and where a campaign is paused."""

    reason: str
    detail: str
    at: datetime
    index: int


@dataclass(frozen=True)
class CampaignView(JsonView):
    """A campaign as operators and other systems see it."""

    id: UUID
    name: str
    status: str
    session: str
    total: int
    sent: int
    failed: int
    skipped: int
    in_doubt: int
    next_index: int
    pause: PauseView | None
    scheduled_for: datetime
    started_at: datetime | None
    completed_at: datetime | None
    version: int
    message: dict[str, Any]
    pacing: dict[str, float]
    options: dict[str, Any]
    in_flight: dict[str, Any] | None
    cancelled: dict[str, Any] | None
    audience: dict[str, Any]
    consecutive_failures: int = 0
    delivered: int = 0
    read: int = 0


@dataclass(frozen=True)
class HistoryEntry(JsonView):
    """One recorded event of a campaign: the audit trail's unit."""

    version: int
    type: str
    timestamp: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class StoredEvent(JsonView):
    """One event of the whole store, in commit order, for auditors and read models."""

    position: int
    campaign_id: UUID
    version: int
    type: str
    timestamp: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class ContactReport(JsonView):
    """What happened to one contact of a campaign."""

    index: int
    chat_id: str
    phone: str
    name: str | None
    outcome: str | None
    message_id: str | None
    error: str | None
    attempted_at: datetime | None
    delivery: str | None
