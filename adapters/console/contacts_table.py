"""The campaign page's contacts table: a page of the per-contact read model, filtered.

Pages are keyed by contact number, not counted, so the 1,000th page of a 100,000-contact
campaign costs what the first does (one indexed query of the read model).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from urllib.parse import urlencode
from uuid import UUID

from app.read_models import PENDING
from app.views import ContactReport
from domain.campaign import AttemptOutcome
from domain.delivery import ACK_NAMES

DEFAULT_LIMIT: Final = 50
LIMITS: Final = (25, 50, 100, 250)
OUTCOMES: Final = (*(o.value for o in AttemptOutcome), PENDING)
DELIVERIES: Final = tuple(name for _, name in sorted(ACK_NAMES.items()))
_OUTCOME_WORDS: Final = {
    "sent": "sent",
    "failed": "failed",
    "skipped": "skipped (not on WhatsApp)",
    "in_doubt": "in doubt",
    PENDING: "not yet",
}


@dataclass(frozen=True)
class ContactsQuery:
    """What the operator asked of the table: filters, where to start, how many."""

    outcomes: tuple[str, ...] = ()
    deliveries: tuple[str, ...] = ()
    start: int = 1  # the first contact number to show (1-based, as people count)
    limit: int = DEFAULT_LIMIT

    @property
    def filtered(self) -> bool:
        """Whether a filter is set (then pages cannot be counted backwards)."""
        return bool(self.outcomes or self.deliveries)

    def href(self, campaign_id: UUID, *, start: int | None = None) -> str:
        """Return the table's URL with these filters, starting at `start`."""
        pairs = [("outcome", o) for o in self.outcomes] + [("delivery", d) for d in self.deliveries]
        first = self.start if start is None else start
        if first > 1:
            pairs.append(("from", str(first)))
        if self.limit != DEFAULT_LIMIT:
            pairs.append(("limit", str(self.limit)))
        text = urlencode(pairs)
        return f"/ui/campaigns/{campaign_id}" + (f"?{text}" if text else "") + "#contacts"


def _whole(text: str | None, default: int, low: int, high: int) -> int:
    try:
        value = int((text or "").strip().replace(",", ""))
    except ValueError:
        return default
    return min(max(value, low), high)


def contacts_query(params: Mapping[str, str], values: Sequence[tuple[str, str]]) -> ContactsQuery:
    """Return the table's query from a request's parameters; unknown values are ignored.

    `values` is every (name, value) pair, since outcome and delivery may repeat.
    """
    outcomes = tuple(dict.fromkeys(v for k, v in values if k == "outcome" and v in OUTCOMES))
    deliveries = tuple(dict.fromkeys(v for k, v in values if k == "delivery" and v in DELIVERIES))
    limit = _whole(params.get("limit"), DEFAULT_LIMIT, min(LIMITS), max(LIMITS))
    start = _whole(params.get("from"), 1, 1, 2**31 - 1)
    return ContactsQuery(outcomes, deliveries, start, limit)


@dataclass(frozen=True)
class ContactRow:
    """One contact: who, what happened, what WhatsApp acknowledged."""

    number: int
    index: int
    phone: str
    name: str | None
    outcome: str | None
    outcome_words: str
    delivery: str | None
    error: str | None
    message_id: str | None
    attempted_at: datetime | None


@dataclass(frozen=True)
class ContactsTable:
    """A page of contacts, with its filters and the links to move on."""

    campaign_id: UUID
    query: ContactsQuery
    rows: list[ContactRow]
    total: int
    first_href: str | None
    previous_href: str | None
    next_href: str | None
    csv_href: str

    @property
    def showing(self) -> str:
        """E.g. "contacts 101 to 150 of 100,000" or "matching contacts from number 101"."""
        if not self.rows:
            return "no contacts match" if self.query.filtered else "no contacts here"
        first, last = self.rows[0].number, self.rows[-1].number
        if self.query.filtered:
            return f"matching contacts from number {first:,} to {last:,} (of {self.total:,})"
        return f"contacts {first:,} to {last:,} of {self.total:,}"


def contacts_table(
    campaign_id: UUID, query: ContactsQuery, page: Sequence[ContactReport], total: int
) -> ContactsTable:
    """Return the table for a page read with `query.limit + 1` rows (the extra says "more")."""
    rows = [_row(report) for report in page[: query.limit]]
    more = len(page) > query.limit
    next_href = query.href(campaign_id, start=rows[-1].number + 1) if more and rows else None
    previous_href = None
    if query.start > 1 and not query.filtered:
        previous_href = query.href(campaign_id, start=max(1, query.start - query.limit))
    csv_pairs = [("outcome", o) for o in query.outcomes] + [
        ("delivery", d) for d in query.deliveries
    ]
    csv_query = urlencode(csv_pairs)
    return ContactsTable(
        campaign_id=campaign_id,
        query=query,
        rows=rows,
        total=total,
        first_href=query.href(campaign_id, start=1) if query.start > 1 else None,
        previous_href=previous_href,
        next_href=next_href,
        csv_href=f"/ui/campaigns/{campaign_id}/contacts.csv"
        + (f"?{csv_query}" if csv_query else ""),
    )


def _row(report: ContactReport) -> ContactRow:
    return ContactRow(
        number=report.index + 1,
        index=report.index,
        phone=report.phone,
        name=report.name,
        outcome=report.outcome,
        outcome_words=_OUTCOME_WORDS.get(report.outcome or PENDING, report.outcome or ""),
        delivery=report.delivery,
        error=report.error,
        message_id=report.message_id,
        attempted_at=report.attempted_at,
    )


def page_filters(query: ContactsQuery) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """Return the read model's filters for `query`: outcomes (pending among them), deliveries."""
    return frozenset(query.outcomes) or None, frozenset(query.deliveries) or None
