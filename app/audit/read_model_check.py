"""The per-contact read model checked against a replay of each campaign's events."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Final
from uuid import UUID

from app.audit.verify import Violation
from app.campaigns import CampaignsApp
from app.read_models import CampaignContacts
from app.views import ContactReport
from domain.numbering import contact_words

MISMATCH: Final = "read-model-mismatch"
_PAGE: Final = 1000
_SHOWN: Final = 20  # a broken read model could differ everywhere: name the first rows only
_COMPARED: Final = tuple(f.name for f in fields(ContactReport) if f.name != "index")


@dataclass(frozen=True)
class ReadModelPosition:
    """Where the read model is in the log; rows are only comparable once it is current."""

    position: int
    log_position: int

    @property
    def behind(self) -> int:
        """How many log positions it has still to apply."""
        return max(0, self.log_position - self.position)


def read_model_position(app: CampaignsApp, contacts: CampaignContacts) -> ReadModelPosition:
    """Return the read model's position and the log's."""
    return ReadModelPosition(contacts.position(), app.recorder.max_notification_id() or 0)


def read_model_violations(
    app: CampaignsApp, contacts: CampaignContacts, campaign_id: UUID
) -> list[Violation]:
    """Return the rows of the campaign that differ from a replay of its events, by contact."""
    replayed = app.contact_reports(campaign_id)
    found: list[Violation] = []
    seen = 0
    for row in _rows(contacts, campaign_id):
        if row.index >= len(replayed):
            where = contact_words(row.index, len(replayed))
            found.append(Violation(MISMATCH, f"{where} is outside the audience"))
        else:
            seen += 1
            differs = _differences(row, replayed[row.index])
            if differs:
                where = contact_words(row.index, len(replayed))
                found.append(Violation(MISMATCH, f"{where}: {differs}"))
        if len(found) >= _SHOWN:
            found.append(Violation(MISMATCH, "more rows may differ; showing the first"))
            return found
    if seen < len(replayed):
        missing = len(replayed) - seen
        found.append(Violation(MISMATCH, f"{missing} of {len(replayed)} contacts have no row"))
    return found


def _rows(contacts: CampaignContacts, campaign_id: UUID) -> Iterator[ContactReport]:
    after = -1
    while page := contacts.page(campaign_id, after_index=after, limit=_PAGE):
        yield from page
        after = page[-1].index


def _differences(row: ContactReport, replayed: ContactReport) -> str:
    said = []
    for name in _COMPARED:
        mine, theirs = getattr(row, name), getattr(replayed, name)
        if mine != theirs:
            said.append(f"{name} is {mine!r} in the read model, {theirs!r} in the log")
    return "; ".join(said)
