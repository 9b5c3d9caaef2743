"""The audit page: the whole store's events, newest first, in words; and verification's findings."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from adapters.console.formatting import count
from adapters.console.words import because
from app.audit.verify import CampaignAudit
from app.views import StoredEvent

PER_PAGE: Final = 50
_SHORT: Final = 80


def _contact(data: Mapping[str, Any]) -> str:
    return f"contact {count(int(data.get('index', 0)) + 1)}"


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= _SHORT else text[: _SHORT - 1] + "…"


_WORDS: Final[dict[str, Callable[[Mapping[str, Any]], str]]] = {
    "CampaignScheduled": lambda d: (
        f"scheduled “{_short(d.get('name', ''))}” on session {d.get('session', '')}, "
        f"{count(int(dict(d.get('audience') or {}).get('size', 0)))} contacts"
    ),
    "CampaignStarted": lambda _d: "started sending",
    "AttemptStarted": lambda d: f"sending to {_contact(d)}",
    "ContactAttempted": lambda d: (
        f"{_contact(d)}: {str(d.get('outcome', '')).replace('_', ' ')}"
        + (f" ({_short(d['error'])})" if d.get("error") else "")
    ),
    "AttemptAbandoned": lambda d: f"send to {_contact(d)} abandoned: {_short(d.get('reason', ''))}",
    "PacingDelayChosen": lambda d: f"waits {float(d.get('seconds', 0)):.1f} s after {_contact(d)}",
    "CampaignPaused": lambda d: (
        f"paused at {_contact(d)} because "
        + because(str(d.get("reason", "")), str(d.get("detail", "")))
    ),
    "CampaignResumed": lambda d: (
        f"resumed at {_contact(d)}" + (" by itself" if d.get("automatic") else " by an operator")
    ),
    "AutoResumeWithheld": lambda d: f"stays paused: {_short(d.get('detail', ''))}",
    "CampaignCompleted": lambda _d: "completed",
    "CampaignCancelled": lambda d: f"cancelled at {_contact(d)}: {_short(d.get('reason', ''))}",
    "AudienceFrozen": lambda d: f"audience frozen: {count(int(d.get('size', 0)))} contacts",
    "ContactsAdded": lambda d: (
        f"audience contacts {count(int(d.get('start', 0)) + 1)} to "
        f"{count(int(d.get('start', 0)) + len(d.get('contacts') or []))} listed"
    ),
    "DeliveriesOpened": lambda _d: "delivery record opened",
    "DeliveryReported": lambda d: f"{_contact(d)}: WhatsApp ack {d.get('ack', '')}",
}


def event_words(kind: str, data: Mapping[str, Any]) -> str:
    """Return what an event records, in a few words; unknown kinds list their short fields."""
    words = _WORDS.get(kind)
    if words is not None:
        try:
            return words(data)
        except (TypeError, ValueError, KeyError):
            pass  # data of an unexpected shape: listed as it is below
    shown = [f"{k}={_short(v)}" for k, v in data.items() if isinstance(v, str | int | float | bool)]
    return ", ".join(shown[:6])


@dataclass(frozen=True)
class CampaignName:
    """The campaign a stored record belongs to (its own, its audience's or its deliveries')."""

    id: UUID
    name: str


@dataclass(frozen=True)
class EventRow:
    """One stored event, and the campaign it concerns when that is known."""

    position: int
    time: datetime
    kind: str
    words: str
    version: int
    originator: UUID
    campaign: CampaignName | None

    @property
    def href(self) -> str | None:
        """The campaign's page, when the event concerns a known campaign."""
        return f"/ui/campaigns/{self.campaign.id}" if self.campaign is not None else None


@dataclass(frozen=True)
class EventFeed:
    """A page of the feed, newest first, and the way to older events."""

    rows: list[EventRow]
    head: int
    latest: bool
    older_href: str | None
    newer_href: str | None


def event_feed(
    events: Sequence[StoredEvent],
    campaigns: Mapping[UUID, CampaignName],
    *,
    head: int,
    before: int | None,
) -> EventFeed:
    """Return the events (read oldest first) as a page, newest first.

    `campaigns` names the campaign of each record id it knows: campaigns and their deliveries.
    """
    rows = [
        EventRow(
            e.position,
            e.timestamp,
            e.type,
            event_words(e.type, e.data),
            e.version,
            e.campaign_id,
            campaigns.get(e.campaign_id),
        )
        for e in reversed(events)
    ]
    oldest = rows[-1].position if rows else None
    older = f"/ui/audit?before={oldest}" if oldest is not None and oldest > 1 else None
    newer = None
    if before is not None:
        newer_start = before + PER_PAGE
        newer = "/ui/audit" if newer_start > head else f"/ui/audit?before={newer_start}"
    return EventFeed(rows, head, before is None, older, newer)


@dataclass(frozen=True)
class Finding:
    """One campaign's verification: ok, or what is wrong with its log."""

    campaign_id: UUID
    name: str | None
    events: int
    problems: list[tuple[str, str]]  # (rule, detail)

    @property
    def ok(self) -> bool:
        """Whether nothing is wrong."""
        return not self.problems


def findings(
    audits: Sequence[CampaignAudit], campaigns: Mapping[UUID, CampaignName]
) -> list[Finding]:
    """Return each audit's finding, failures first."""
    found = [
        Finding(
            a.campaign_id,
            known.name if (known := campaigns.get(a.campaign_id)) is not None else None,
            a.events,
            [
                (v.rule, (f"v{v.version}: " if v.version is not None else "") + v.detail)
                for v in a.violations
            ],
        )
        for a in audits
    ]
    return sorted(found, key=lambda f: f.ok)
