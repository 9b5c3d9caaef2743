"""Errors the application raises to its callers (HTTP API, CLI, runner)."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Final
from uuid import UUID

if TYPE_CHECKING:
    from app.audience import AudienceReport
    from domain.contacts import MissingVariable

# A problem shows this many rows of a kind, then counts the rest: the answer stays small.
MAX_ROWS_LISTED: Final = 20
# Rows named one problem (or one duplicate) each in an answer; one more entry counts the rest.
MAX_ROWS_ANSWERED: Final = 1000
_NAMES_LISTED: Final = 30


class AppError(Exception):
    """A use case that cannot be carried out; nothing was changed."""


class CampaignNotFoundError(AppError):
    """No campaign has this id."""

    def __init__(self, campaign_id: UUID) -> None:
        super().__init__(f"no campaign with id {campaign_id}")
        self.campaign_id = campaign_id


class ConcurrentUpdateError(AppError):
    """Someone else recorded an event on the campaign first; reload and decide again."""


class InvalidCampaignError(AppError):
    """A campaign that cannot be scheduled as given; `problems` names each field."""

    def __init__(self, message: str, problems: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class AudienceRejectedError(InvalidCampaignError):
    """Contacts with phone numbers that cannot be used: the first ones named, the rest counted.

    Each of the first MAX_ROWS_ANSWERED rows is a problem of its own; one more problem counts
    the rest, so a file of 100,000 bad rows answers a short document.
    """

    def __init__(self, report: AudienceReport, *, total: int | None = None) -> None:
        """`total` counts every unusable row when `report.invalid` holds only the first ones."""
        total = len(report.invalid) if total is None else total
        rows: list[dict[str, object]] = [
            {"field": f"contacts[{r.position}].phone", "value": r.value, "reason": r.reason}
            for r in report.invalid[:MAX_ROWS_ANSWERED]
        ]
        if total > len(rows):
            more = total - len(rows)
            rows.append(more_rows(more, "contact(s) with unusable phone numbers", len(rows)))
        super().__init__(f"{total} contact(s) have unusable phone numbers", rows)
        self.report = report
        self.total = total


def more_rows(more: int, what: str, listed: int = MAX_ROWS_ANSWERED) -> dict[str, object]:
    """Return the problem counting the `more` rows of a kind past the `listed` first ones."""
    return {
        "field": "contacts",
        "reason": f"and {more} more {what} (the first {listed} are listed)",
    }


class MissingVariablesError(InvalidCampaignError):
    """The template needs variables that some contacts lack and that have no default.

    A field that no contact has (most likely a typo in the template) is one problem naming
    it, the fields there are and the closest one; contacts lacking a field that others have
    are one problem counting them and showing the first rows. 10,000 bad rows stay short.
    """

    def __init__(
        self,
        missing: list[MissingVariable],
        *,
        available: Collection[str] | None = None,
        counts: Mapping[tuple[str, ...], int] | None = None,
    ) -> None:
        """`available` names every field some contact supplies; None if unknown.

        `counts`: how many contacts lack each set of fields, when `missing` (in audience
        order) holds only the first contacts lacking each set (at least MAX_ROWS_LISTED of
        each); None when it holds them all.
        """
        if counts is None:
            counts = Counter(m.fields for m in missing)
        unknown = sorted(
            {f for fields in counts for f in fields if available is not None and f not in available}
        )
        problems = [_unknown_field(name, sorted(available or ())) for name in unknown]
        lacking = [(m, [f for f in m.fields if f not in unknown]) for m in missing]
        lacking = [(m, fields) for m, fields in lacking if fields]
        per_field: Counter[str] = Counter()
        for fields, count in counts.items():
            per_field.update({f: count for f in fields if f not in unknown})
        total = sum(n for fields, n in counts.items() if any(f not in unknown for f in fields))
        if total:
            problems.append(_rows_lacking(lacking, total, per_field))
            message = f"{total} contact(s) lack variables the template needs and no default is set"
        else:
            names = ", ".join(f"{{{n}}}" for n in unknown)
            message = f"the template uses {names}, which no contact has and no default sets"
        super().__init__(message, problems)
        self.missing = missing
        self.unknown = tuple(unknown)


def _listing(names: Sequence[str]) -> str:
    more = len(names) - _NAMES_LISTED
    return ", ".join(names[:_NAMES_LISTED]) + (f" and {more} more" if more > 0 else "")


def _unknown_field(name: str, available: Sequence[str]) -> dict[str, object]:
    have = f"the contacts have: {_listing(available)}" if available else "the contacts have none"
    by_case = {n.lower(): n for n in available}
    close = difflib.get_close_matches(name.lower(), list(by_case), n=1)
    guess = f"; did you mean {{{by_case[close[0]]}}}?" if close else ""
    return {
        "field": "message.text",
        "value": f"{{{name}}}",
        "reason": f"no contact has a {name} column or variable and there is no default "
        f"for it ({have}){guess}",
    }


def _rows_lacking(
    lacking: Sequence[tuple[MissingVariable, Sequence[str]]],
    total: int,
    counts: Mapping[str, int],
) -> dict[str, object]:
    per_field = ", ".join(f"{{{f}}} {n}" for f, n in sorted(counts.items()))
    shown = "; ".join(
        f"contacts[{m.position}] {m.phone} lacks " + ", ".join(f"{{{f}}}" for f in fields)
        for m, fields in lacking[:MAX_ROWS_LISTED]
    )
    more = total - min(total, MAX_ROWS_LISTED)
    return {
        "field": "contacts",
        "reason": f"{total} contact(s) have empty values the template needs "
        f"({per_field}) and no default is set; fill them in or set message.defaults: "
        f"{shown}" + (f"; and {more} more" if more > 0 else ""),
    }
