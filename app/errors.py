"""Errors the application raises to its callers (HTTP API, CLI, runner)."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Final
from uuid import UUID

if TYPE_CHECKING:
    from app.audience import AudienceReport
    from domain.contacts import MissingVariable

# A problem shows this many rows of a kind, then counts the rest: the answer stays small.
MAX_ROWS_LISTED: Final = 20
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
    """Contacts with phone numbers that cannot be used; every bad row is reported."""

    def __init__(self, report: AudienceReport) -> None:
        rows: list[dict[str, object]] = [
            {"field": f"contacts[{r.position}].phone", "value": r.value, "reason": r.reason}
            for r in report.invalid
        ]
        super().__init__(f"{len(rows)} contact(s) have unusable phone numbers", rows)
        self.report = report


class MissingVariablesError(InvalidCampaignError):
    """The template needs variables that some contacts lack and that have no default.

    A field that no contact has (most likely a typo in the template) is one problem naming
    it, the fields there are and the closest one; contacts lacking a field that others have
    are one problem counting them and showing the first rows. 10,000 bad rows stay short.
    """

    def __init__(
        self, missing: list[MissingVariable], *, available: Collection[str] | None = None
    ) -> None:
        """`available` names every field some contact supplies; None if unknown."""
        unknown = sorted(
            {f for m in missing for f in m.fields if available is not None and f not in available}
        )
        problems = [_unknown_field(name, sorted(available or ())) for name in unknown]
        lacking = [(m, [f for f in m.fields if f not in unknown]) for m in missing]
        lacking = [(m, fields) for m, fields in lacking if fields]
        if lacking:
            problems.append(_rows_lacking(lacking))
            message = (
                f"{len(lacking)} contact(s) lack variables the template needs and no default is set"
            )
        else:
            fields = ", ".join(f"{{{n}}}" for n in unknown)
            message = f"the template uses {fields}, which no contact has and no default sets"
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


def _rows_lacking(lacking: Sequence[tuple[MissingVariable, Sequence[str]]]) -> dict[str, object]:
    counts = Counter(f for _, fields in lacking for f in fields)
    per_field = ", ".join(f"{{{f}}} {n}" for f, n in sorted(counts.items()))
    shown = "; ".join(
        f"contacts[{m.position}] {m.phone} lacks " + ", ".join(f"{{{f}}}" for f in fields)
        for m, fields in lacking[:MAX_ROWS_LISTED]
    )
    more = len(lacking) - MAX_ROWS_LISTED
    return {
        "field": "contacts",
        "reason": f"{len(lacking)} contact(s) have empty values the template needs "
        f"({per_field}) and no default is set; fill them in or set message.defaults: "
        f"{shown}" + (f"; and {more} more" if more > 0 else ""),
    }
