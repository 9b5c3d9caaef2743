"""The campaigns page: every campaign, newest first, filtered by status and searched by name."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from urllib.parse import urlencode
from uuid import UUID

from adapters.console.progress import (
    PauseWords,
    ProgressBar,
    eta_words,
    pause_words,
    progress_bar,
    schedule_words,
)
from adapters.console.records import ScheduledRecord
from app.campaign_facts import CampaignFacts
from app.views import CampaignView
from domain.lifecycle import CampaignStatus

PER_PAGE: Final = 25
MAX_QUERY: Final = 200


@dataclass(frozen=True)
class StatusChoice:
    """One option of the status filter, with how many campaigns have that status."""

    value: str
    label: str
    count: int
    selected: bool
    href: str


@dataclass(frozen=True)
class CampaignRow:
    """One campaign in the list."""

    id: UUID
    name: str
    session: str
    status: str
    progress: ProgressBar
    pause: PauseWords | None
    eta: str | None
    schedule: str | None

    @property
    def href(self) -> str:
        """The campaign's page."""
        return f"/ui/campaigns/{self.id}"


@dataclass(frozen=True)
class CampaignList:
    """A page of the list, with its filter and where the other pages are."""

    rows: list[CampaignRow]
    statuses: list[StatusChoice]
    status: str
    query: str
    page: int
    pages: int
    matching: int
    known: int
    previous_href: str | None
    next_href: str | None

    @property
    def empty_words(self) -> str:
        """What to say when there is nothing to show."""
        if self.known == 0:
            return "No campaigns yet. Create the first one from a CSV or XLSX file."
        if self.query:
            return f"No campaign's name contains “{self.query}”."
        return "No campaign has this status."

    @property
    def query_string(self) -> str:
        """The filter and page as a query string, for the live region's polls."""
        return list_query(self.status, self.query, self.page)


def list_query(status: str, query: str, page: int) -> str:
    """Return the list's query string for a filter and a page (defaults left out)."""
    values = {"status": status, "q": query, "page": str(page) if page > 1 else ""}
    return urlencode({k: v for k, v in values.items() if v})


def _href(status: str, query: str, page: int) -> str:
    text = list_query(status, query, page)
    return "/ui/campaigns" + (f"?{text}" if text else "")


def status_of(text: str) -> str:
    """Return a status filter as given, if it names a status; "" (all) otherwise."""
    known = {s.value.casefold(): s.value for s in CampaignStatus}
    return known.get(text.strip().casefold(), "")


def campaign_list(
    records: Sequence[ScheduledRecord],
    facts: Mapping[UUID, CampaignFacts],
    load: Callable[[UUID], CampaignView],
    *,
    status: str,
    query: str,
    page: int,
    now: datetime,
    per_page: int = PER_PAGE,
) -> CampaignList:
    """Return the page: records newest first, filtered; only the shown campaigns are loaded.

    Blocking (`load` reads the store): call it off the event loop.
    """
    query = query.strip()[:MAX_QUERY]
    folded = query.casefold()
    by_status: dict[str, int] = {}
    for record in records:
        found = facts.get(record.id)
        if found is not None:
            by_status[found.status.value] = by_status.get(found.status.value, 0) + 1
    matching = [
        r
        for r in records
        if (not folded or folded in r.folded_name)
        and (not status or ((f := facts.get(r.id)) is not None and f.status.value == status))
    ]
    pages = max(1, -(-len(matching) // per_page))
    page = min(max(page, 1), pages)
    shown = matching[(page - 1) * per_page : page * per_page]
    rows = [_row(load(r.id), facts.get(r.id), now) for r in shown]
    choices = [StatusChoice("", "All", len(records), not status, _href("", query, 1))]
    choices.extend(
        StatusChoice(
            s.value, s.value, by_status.get(s.value, 0), status == s.value, _href(s.value, query, 1)
        )
        for s in CampaignStatus
    )
    return CampaignList(
        rows=rows,
        statuses=choices,
        status=status,
        query=query,
        page=page,
        pages=pages,
        matching=len(matching),
        known=len(records),
        previous_href=_href(status, query, page - 1) if page > 1 else None,
        next_href=_href(status, query, page + 1) if page < pages else None,
    )


def _row(view: CampaignView, facts: CampaignFacts | None, now: datetime) -> CampaignRow:
    return CampaignRow(
        id=view.id,
        name=view.name,
        session=view.session,
        status=view.status.value,
        progress=progress_bar(view),
        pause=pause_words(view, facts, now),
        eta=eta_words(view, now),
        schedule=schedule_words(view, now),
    )
