"""Screening an audience row by row, as scheduling does: what it keeps, drops and refuses.

One pass over the operator's rows that holds none of them after reading it: the kept
contacts go to a ContactSpool, the audience's content hash is taken on the way, and the
problems are counted with the first of each kind listed. A million-row file costs the
screen no more memory than ten rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from app.audience import AudienceReport, ContactInput, DuplicateRow, InvalidRow, normalised_contact
from app.errors import (
    MAX_ROWS_ANSWERED,
    MAX_ROWS_LISTED,
    AudienceRejectedError,
    InvalidCampaignError,
    MissingVariablesError,
    more_rows,
)
from app.ports import ContactSpool
from domain.audience import ContentHash
from domain.contacts import Contact, MissingVariable
from domain.content import MessageTemplate, is_variable_name

T = TypeVar("T")
VARIABLE_NAME_RULE = "a variable name is a letter, then letters, digits or '_' (at most 64)"


class MemoryContactSpool:
    """A ContactSpool in lists, for audiences held in memory anyway (JSON bodies, retries)."""

    def __init__(self) -> None:
        self.contacts: list[Contact] = []
        self.rows: list[int] = []
        self._first_row: dict[str, int] = {}

    def keep(self, row: int, contact: Contact) -> int | None:
        """Keep `contact` unless its phone is kept already; else return the earlier row."""
        first = self._first_row.setdefault(contact.phone, row)
        if first != row:
            return first
        self.contacts.append(contact)
        self.rows.append(row)
        return None

    def __len__(self) -> int:
        """Return how many contacts are kept."""
        return len(self.contacts)

    def kept(self, start: int = 0) -> Iterator[tuple[int, Contact]]:
        """Yield (row, contact) of each kept contact from the `start`-th on, in order."""
        for index in range(start, len(self.contacts)):
            yield self.rows[index], self.contacts[index]

    def close(self) -> None:
        """Forget the contacts."""
        self.contacts, self.rows, self._first_row = [], [], {}


@dataclass
class Listing(Generic[T]):
    """The first `limit` items of a kind (all of them without a limit) and how many there are."""

    limit: int | None
    items: list[T] = field(default_factory=list)
    total: int = 0

    def add(self, item: T) -> None:
        """Count `item`, and keep it if it is among the first `limit`."""
        self.total += 1
        if self.limit is None or len(self.items) < self.limit:
            self.items.append(item)


@dataclass
class LackingRows:
    """Contacts lacking template values: counted by the set of fields, the first of each kept.

    Also what an edit of the text checks the recorded audience with, a contact at a time.
    """

    limit: int | None
    counts: Counter[tuple[str, ...]] = field(default_factory=Counter)
    first: dict[tuple[str, ...], list[MissingVariable]] = field(default_factory=dict)
    available: set[str] = field(default_factory=set)  # every field some contact supplies

    def check(self, template: MessageTemplate, position: int, contact: Contact) -> None:
        """Note the contact's fields; count it if the template lacks any of its values."""
        values = contact.template_values()
        self.available.update(values)
        lacking = template.missing_for(values)
        if lacking:
            self.add(MissingVariable(position, contact.phone, tuple(sorted(lacking))))

    def refusal(self) -> MissingVariablesError | None:
        """Return the error naming the contacts the template cannot be rendered for, if any."""
        if not self.counts:
            return None
        return MissingVariablesError(self.rows(), available=self.available, counts=self.counts)

    def add(self, missing: MissingVariable) -> None:
        """Count one contact lacking values; keep it if its kind has room."""
        self.counts[missing.fields] += 1
        listed = self.first.setdefault(missing.fields, [])
        if self.limit is None or len(listed) < self.limit:
            listed.append(missing)

    def rows(self) -> list[MissingVariable]:
        """Return the contacts kept, in audience order."""
        listed = (m for first in self.first.values() for m in first)
        return sorted(listed, key=lambda m: m.position)


@dataclass(frozen=True)
class ScreenedAudience:
    """The audience kept in the spool: its size and content hash, and the rows dropped as repeats.

    `duplicates` lists the first of them (all, when screened without a limit), in row order;
    `duplicates_total` counts them all.
    """

    size: int
    content_hash: str
    duplicates: list[DuplicateRow]
    duplicates_total: int


class AudienceScreen:
    """Rows screened one at a time; `outcome` then refuses as scheduling does, or sums up."""

    def __init__(
        self,
        template: MessageTemplate,
        default_region: str | None,
        spool: ContactSpool,
        *,
        listed: int | None = MAX_ROWS_ANSWERED,
        phones: bool = True,
    ) -> None:
        """Screen into `spool`, naming the first `listed` rows of each problem (None: all).

        `phones` False: the request is refused for its own fields already, so only the rows'
        variable names are checked, as scheduling names those in the same answer.
        """
        self._template = template
        self._region = default_region
        self._spool = spool
        self._phones = phones
        self._names: Listing[dict[str, object]] = Listing(listed)
        self._invalid: Listing[InvalidRow] = Listing(listed)
        self._duplicates: Listing[DuplicateRow] = Listing(listed)
        self._lacking = LackingRows(None if listed is None else max(listed, MAX_ROWS_LISTED))
        self._hash = ContentHash()

    def add(self, position: int, row: ContactInput) -> None:
        """Screen the operator's row `position`."""
        for name in row.variables:
            if not is_variable_name(name):
                field_name = f"contacts[{position}].variables.{name[:64]}"
                self._names.add({"field": field_name, "reason": VARIABLE_NAME_RULE})
        if not self._phones or self._names.total:
            return  # refused for its fields: the phones would not be looked at
        contact = normalised_contact(position, row, self._region)
        if isinstance(contact, InvalidRow):
            self._invalid.add(contact)
            return
        if self._invalid.total:
            return  # refused for its phones: nothing more is kept
        first = self._spool.keep(position, contact)
        if first is not None:
            self._duplicates.add(DuplicateRow(position, row.phone, first))
            return
        self._hash.add(contact)
        self._lacking.check(self._template, position, contact)

    def outcome(self, problems: list[dict[str, object]]) -> ScreenedAudience:
        """Return the audience kept, or raise naming every problem, the request's own first.

        InvalidCampaignError for `problems` and bad variable names; AudienceRejectedError for
        unusable phones; MissingVariablesError for contacts the template cannot be rendered
        for. The first rows of each kind are named and the rest counted.
        """
        problems = problems + self._names.items
        if self._names.total > len(self._names.items):
            more = self._names.total - len(self._names.items)
            listed = len(self._names.items)
            problems.append(more_rows(more, "variable name(s) that cannot be one", listed))
        if problems:
            raise InvalidCampaignError("the campaign is not valid", problems)
        if self._invalid.total:
            report = AudienceReport([], [], self._invalid.items)
            raise AudienceRejectedError(report, total=self._invalid.total)
        if not len(self._spool):
            raise InvalidCampaignError(
                "the campaign has no contacts",
                [{"field": "contacts", "reason": "at least one contact is needed"}],
            )
        refusal = self._lacking.refusal()
        if refusal is not None:
            raise refusal
        return ScreenedAudience(
            size=len(self._spool),
            content_hash=self._hash.hexdigest(),
            duplicates=self._duplicates.items,
            duplicates_total=self._duplicates.total,
        )
